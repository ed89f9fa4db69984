//! `POST /reset`: the visit counter back to zero; the access log stays.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::error_page;
use crate::error::Result;
use crate::origin::is_cross_origin;
use crate::state::AppState;

/// Resets the Redis counter and sends the browser back to the page with a notice.
pub async fn reset(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
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
    state.redis.reset_visits().await?;
    log::info!("visit counter reset");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/?reset=1"))
        .finish())
}
