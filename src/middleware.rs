//! What every request passes through, around its handler: the size limits, checked
//! before any handler runs (431, 413, 411), and on the way out the security headers
//! on every answer whatever its status, plus `Connection: close` while the instance
//! drains, so clients reconnect to another one.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;

use crate::error_page::error_page;
use crate::shutdown::Shutdown;

/// The longest header line accepted (name and value), in bytes.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// The most header bytes accepted in all.
pub const MAX_HEADERS_TOTAL: usize = 32 * 1024;
/// The largest body accepted, in bytes. Tally takes no body but the (empty) reset form.
pub const MAX_BODY: u64 = 4 * 1024;

/// No inline script or style, nothing from elsewhere, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Refuses an oversized request, or passes it on; marks whatever comes back.
pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let draining = request
        .app_data::<web::Data<Shutdown>>()
        .is_some_and(|shutdown| shutdown.is_requested());
    let mut response = if let Some((status, message)) = refusal(&request) {
        log::warn!("refused {} {}: {message}", request.method(), request.path());
        let (request, _) = request.into_parts();
        ServiceResponse::new(request, error_page(status, message)).map_into_right_body()
    } else {
        // Handlers turn their errors into responses, so an `Err` here is actix's own.
        next.call(request).await?.map_into_left_body()
    };
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if draining {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
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
