//! The HTTP routes, one file per area. A handler reads the request, asks a use case
//! on [`crate::usecases::Tally`], and turns the answer into a page or a JSON body;
//! it holds no SQL, no Redis command, and no store.

mod checks;
mod index;
mod json;
mod reset;
mod stats;

use actix_web::HttpResponse;
use actix_web::http::header;

pub use checks::{cache, db, healthz, metrics, readyz};
pub use index::index;
pub use reset::reset;
pub use stats::stats;

use crate::locale::Language;
use crate::page::error::{Message, error_page};

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
