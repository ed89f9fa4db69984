//! The HTTP routes, one file per area. A handler reads the request, asks a use case
//! on [`crate::usecases::Tally`], and turns the answer into a page or a JSON body;
//! it holds no SQL, no Redis command, and no store.

mod checks;
mod index;
mod reset;
mod stats;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;

pub use checks::{cache, db, healthz, metrics, readyz};
pub use index::{RecentLists, index};
pub use reset::reset;
pub use stats::stats;

use crate::error_page::{Message, error_page};
use crate::locale::Language;

/// Anything no route matches.
pub async fn not_found(language: Language) -> HttpResponse {
    error_page(Message::NoPage, language)
}

/// For a known path asked with the wrong method.
pub fn method_not_allowed(
    allow: &'static str,
) -> impl Fn(Language) -> std::future::Ready<HttpResponse> + Clone {
    move |language| {
        let mut response = error_page(Message::OnlyAnswers(allow), language);
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        std::future::ready(response)
    }
}

/// The JSON body of an API or check answer, with its status.
fn json(status: StatusCode, body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        ))
        .json(body)
}

/// `up` or `down`, as the API and checks spell a store's state.
fn state_word(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}
