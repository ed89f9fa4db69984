//! The HTTP routes, one file per area. Handlers ask the state, fill a page or a
//! JSON body, and return it; they hold no SQL and no Redis command.

mod checks;
mod index;
mod reset;
mod stats;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use askama::Template;

pub use checks::{cache, db, healthz, readyz};
pub use index::index;
pub use reset::reset;
pub use stats::stats;

/// Every page but the main one: 404, 403, 405, 503, 500.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
}

/// An error page in the site's layout (plain text if even that fails).
pub fn error_page(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    let page = ErrorPage {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        message: message.into(),
    };
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type(ContentType::html())
            .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
            .body(html),
        Err(error) => {
            log::error!("error page not rendered: {error}");
            HttpResponse::build(status)
                .content_type(ContentType::plaintext())
                .body(page.message)
        }
    }
}

/// Anything no route matches.
pub async fn not_found() -> HttpResponse {
    error_page(
        StatusCode::NOT_FOUND,
        "There is no page here. The counter lives on the front page.",
    )
}

/// For a known path asked with the wrong method.
pub fn method_not_allowed(
    allow: &'static str,
) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        let mut response = error_page(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("This address only answers {allow}."),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        std::future::ready(response)
    }
}

/// The JSON body of an API or check answer, with its status.
fn json(status: StatusCode, body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .json(body)
}

/// `up` or `down`, as the API and checks spell a store's state.
fn state_word(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}
