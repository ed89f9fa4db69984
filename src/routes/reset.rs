//! `POST /reset`: the visit counter back to zero; the access log stays.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::Result;
use crate::error_page::error_page;
use crate::origin::is_cross_origin;
use crate::usecases::Tally;

/// Resets the counter and sends the browser back to the page with a notice; refuses
/// a request from another origin's page.
pub async fn reset(request: HttpRequest, tally: web::Data<Tally>) -> Result<HttpResponse> {
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
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "The counter can only be reset from Tally's own page. Nothing was changed.",
        ));
    }
    tally.reset().await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/?reset=1"))
        .finish())
}
