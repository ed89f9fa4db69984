//! `POST /reset`: the visit counter back to zero; the access log stays. A language
//! chosen on the page (`/reset?lang=pt-BR`, the form's action) is kept in the redirect.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::locale::Language;
use crate::origin::is_cross_origin;
use crate::page::error::{Message, error_page};
use crate::usecases::Tally;

/// Resets the counter and sends the browser back to the page with a notice; refuses
/// a request from another origin's page.
pub async fn reset(
    request: HttpRequest,
    language: Language,
    tally: web::Data<Tally>,
) -> HttpResponse {
    let text = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value: &header::HeaderValue| value.to_str().ok())
    };
    let host = text(header::HOST).or_else(|| request.uri().authority().map(|a| a.as_str()));
    if is_cross_origin(
        text(header::HeaderName::from_static("sec-fetch-site")),
        text(header::ORIGIN),
        host,
    ) {
        log::warn!("reset refused: cross-origin request");
        return error_page(Message::CrossOriginReset, language);
    }
    match tally.reset().await {
        Ok(()) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, language.after_reset()))
            .finish(),
        Err(error) => error_page(Message::failed(&error), language),
    }
}
