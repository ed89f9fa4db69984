//! The page every answer but the main one uses (404, 403, 405, 413, 503, ...), in
//! the site's layout. It sits below [`crate::error`] so that an error can render
//! itself without reaching up into the routes.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use askama::Template;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
}

/// An error page with `status` (plain text if even the template fails).
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
