//! `GET /`: one page view, shown as two numbers side by side.

use std::sync::Arc;

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::error::Result;
use crate::state::{AppState, Timed, View};
use crate::stores::access_log::NewAccess;
use crate::stores::postgres::Access;

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub visits: Card,
    pub access_total: Card,
    /// The newest accesses; `None` when PostgreSQL could not be read.
    pub recent: Option<Arc<[Access]>>,
    pub notice: Option<&'static str>,
}

/// One store's number on the page.
pub struct Card {
    /// The number, or `None` when the store could not be reached.
    pub value: Option<i64>,
    /// Why the store could not be reached.
    pub reason: &'static str,
    /// How long the store took, for people: "1.2 ms".
    pub took: String,
}

impl Card {
    fn new<T>(timed: &Timed<T>, number: impl Fn(&T) -> i64) -> Self {
        let (value, reason) = match &timed.result {
            Ok(answer) => (Some(number(answer)), ""),
            Err(error) => (None, error.reason()),
        };
        Self {
            value,
            reason,
            took: format!("{:.1} ms", timed.elapsed.as_secs_f64() * 1000.0),
        }
    }
}

impl IndexPage {
    fn new(view: &View, notice: Option<&'static str>) -> Self {
        Self {
            visits: Card::new(&view.visits, |visits| *visits),
            access_total: Card::new(&view.access, |recorded| recorded.total),
            recent: view
                .access
                .result
                .as_ref()
                .ok()
                .map(|recorded| Arc::clone(&recorded.recent)),
            notice,
        }
    }
}

/// Counts the view in both stores and shows the numbers after it.
pub async fn index(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let view = state
        .view(NewAccess::new(request.path(), &user_agent))
        .await;
    let page = IndexPage::new(&view, notice(request.query_string()));
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .body(page.render()?))
}

/// The notice a redirect asked for in the query string, if any.
fn notice(query: &str) -> Option<&'static str> {
    query.split('&').find_map(|pair| match pair {
        "reset=1" => Some("The visit counter was reset to zero. The access log was kept."),
        _ => None,
    })
}
