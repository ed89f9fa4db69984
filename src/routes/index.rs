//! `GET /`: one page view. The handler counts it in both stores
//! ([`Tally::count_view`]) and shows the numbers after it; the page itself is
//! built in [`crate::page::index`].

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::error::Error;
use crate::locale::Language;
use crate::middleware::ViewSummary;
use crate::page::error::{Message, error_page};
use crate::page::index::{Card, IndexPage};
use crate::page::recent::RecentLists;
use crate::usecases::Tally;

/// Counts the view in both stores and shows the numbers after it.
pub async fn index(
    request: HttpRequest,
    language: Language,
    tally: web::Data<Tally>,
    lists: web::Data<RecentLists>,
) -> HttpResponse {
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()))
        .unwrap_or_default();
    let view = tally.count_view(request.path(), &user_agent).await;
    let (visits, access) = (&view.visits, &view.access);
    let page = IndexPage {
        t: language.texts(),
        language,
        visits: Card::visits(visits.outcome().copied(), visits.elapsed),
        access_total: Card::access_total(access.outcome().map(|r| r.total), access.elapsed),
        recent: access.outcome().ok().map(|recorded| &recorded.recent),
        lists: &lists,
        reset_notice: after_reset(request.query_string()),
        served_by: tally.instance(),
    };
    let html = match page.render() {
        Ok(html) => html,
        Err(error) => {
            let error = Error::from(error);
            log::error!("page not rendered: {}", error.chain());
            return error_page(Message::failed(&error), language);
        }
    };
    let mut response = HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::CONTENT_LANGUAGE, page.t.tag))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Language")))
        .body(html);
    ViewSummary {
        visits: page.visits.value,
        access_total: page.access_total.value,
        redis: visits.elapsed,
        postgres: access.elapsed,
    }
    .attach(&mut response);
    response
}

/// Whether the query string is a reset's redirect (`reset=1`), which the page notes.
fn after_reset(query: &str) -> bool {
    query.split('&').any(|pair| pair == "reset=1")
}
