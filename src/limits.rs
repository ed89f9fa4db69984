//! Limits on what a request may carry, checked before any handler runs. Tally
//! takes no body but the (empty) reset form, so anything large is refused early.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;

use crate::routes::error_page;

/// The longest header line accepted (name and value), in bytes.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// The most header bytes accepted in all.
pub const MAX_HEADERS_TOTAL: usize = 32 * 1024;
/// The largest body accepted, in bytes.
pub const MAX_BODY: u64 = 4 * 1024;

/// Refuses a request whose headers or declared body are too large (431, 413), or
/// whose body has no declared length (411), before it reaches a handler.
pub async fn enforce(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some((status, message)) = refusal(&request) {
        log::warn!("refused {} {}: {message}", request.method(), request.path());
        let (request, _) = request.into_parts();
        let response = error_page(status, message).map_into_right_body();
        return Ok(ServiceResponse::new(request, response));
    }
    Ok(next.call(request).await?.map_into_left_body())
}

fn refusal(request: &ServiceRequest) -> Option<(StatusCode, &'static str)> {
    let headers = request.headers();
    let mut total = 0;
    for (name, value) in headers {
        let line = name.as_str().len() + value.len();
        total += line + 4;
        if line > MAX_HEADER_LINE || total > MAX_HEADERS_TOTAL {
            return Some((
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "The request's headers are too large.",
            ));
        }
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Some((
            StatusCode::LENGTH_REQUIRED,
            "Send a body with a Content-Length, or none.",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if declared > MAX_BODY {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request's body is too large.",
        ));
    }
    None
}
