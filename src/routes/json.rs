//! How the API and the checks answer: a JSON body that no cache keeps.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};

/// The JSON body of an API or check answer, with its status.
pub fn json(status: StatusCode, body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(body)
}

/// `up` or `down`, as the API and checks spell a store's state.
pub fn state_word(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}
