//! What every request passes through, around its handler.
//!
//! - [`trace`], outermost: gives the request its id (the balancer's `X-Request-Id`,
//!   or a new one), returns it on the answer, and once answered logs one line and
//!   counts the request in the metrics.
//! - [`guard`]: the size limits, checked before any handler runs (431, 413, 411),
//!   and on the way out the security headers on every answer whatever its status,
//!   plus `Connection: close` while the instance drains, so clients reconnect to
//!   another one.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::locale::Language;
use crate::logging;
use crate::metrics::Metrics;
use crate::page::error::{Message, Refusal, error_page};
use crate::shutdown::Shutdown;

/// The header a request's id travels in, in and out.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Paths asked for several times a second by machines: logged at debug only.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Where request lines are logged.
const REQUEST_LOG: &str = "tally::request";

/// What a page view did, for its request line.
#[derive(Debug, Clone, Copy)]
pub struct ViewSummary {
    pub visits: Option<i64>,
    pub access_total: Option<i64>,
    pub redis: Duration,
    pub postgres: Duration,
}

impl ViewSummary {
    /// Leaves the summary on the page's answer for [`trace`]'s line, when that line
    /// is logged at all.
    pub fn attach(self, response: &mut HttpResponse) {
        if log::log_enabled!(target: REQUEST_LOG, log::Level::Info) {
            response.extensions_mut().insert(self);
        }
    }
}

/// Gives the request its id, then logs and counts it once answered.
pub async fn trace(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let given = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|value| is_request_id(value.as_bytes()))
        .cloned();
    let id = given.unwrap_or_else(|| {
        let made = uuid::Uuid::new_v4().simple().to_string();
        HeaderValue::from_str(&made).expect("hex digits make a header value")
    });
    let text: Arc<str> = id.to_str().unwrap_or_default().into();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let started = Instant::now();
    logging::in_request(text, async move {
        let mut response = next.call(request).await?;
        let took = started.elapsed();
        response.headers_mut().insert(REQUEST_ID, id);
        if let Some(metrics) = metrics {
            let request = response.request();
            let pattern = request
                .match_name()
                .map(Cow::Borrowed)
                .or_else(|| request.match_pattern().map(Cow::Owned));
            metrics.request(
                pattern.as_deref().unwrap_or("unmatched"),
                response.status(),
                took,
            );
        }
        log_request(&response, took);
        Ok(response)
    })
    .await
}

/// Milliseconds to a tenth, as a log line shows them.
fn millis(took: Duration) -> f64 {
    (took.as_secs_f64() * 1e4).round() / 10.0
}

/// An id from elsewhere is kept only if it is short and plain, so it is safe in a
/// log line and a header.
fn is_request_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// One line for an answered request: `GET / 200 6.5ms`, and for a page view what
/// it did: `view visits=42 total=1042 redis=0.4ms postgres=3.1ms`.
fn log_request<B>(response: &ServiceResponse<B>, took: Duration) {
    let request = response.request();
    let (method, path) = (request.method().as_str(), request.path());
    let level = if PROBES.contains(&path) {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    if !log::log_enabled!(target: REQUEST_LOG, level) {
        return;
    }
    let status = response.status().as_u16();
    let ms = millis(took);
    match response.response().extensions().get::<ViewSummary>() {
        Some(view) => {
            let shown =
                |n: Option<i64>| n.map_or_else(|| "unavailable".to_owned(), |n| n.to_string());
            let (redis_ms, postgres_ms) = (millis(view.redis), millis(view.postgres));
            log::log!(target: REQUEST_LOG, level,
                method, path, status, duration_ms = ms,
                visits = view.visits, access_total = view.access_total,
                redis_ms, postgres_ms;
                "{method} {path} {status} {ms:.1}ms view visits={} total={} redis={redis_ms:.1}ms postgres={postgres_ms:.1}ms",
                shown(view.visits), shown(view.access_total));
        }
        None => log::log!(target: REQUEST_LOG, level,
            method, path, status, duration_ms = ms;
            "{method} {path} {status} {ms:.1}ms"),
    }
}

/// The longest header line accepted (name and value), in bytes.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// The most header bytes accepted in all.
pub const MAX_HEADERS_TOTAL: usize = 32 * 1024;
/// The largest body accepted, in bytes. Tally takes no body but the (empty) reset form.
pub const MAX_BODY: u64 = 4 * 1024;

/// No inline script or style, nothing from elsewhere, no framing.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// Refuses an oversized request, or passes it on; marks whatever comes back.
pub async fn guard(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let draining = request
        .app_data::<web::Data<Shutdown>>()
        .is_some_and(|shutdown| shutdown.is_requested());
    let mut response = if let Some(refusal) = refusal(&request) {
        log::warn!(
            "refused {} {}: {refusal:?}",
            request.method(),
            request.path()
        );
        let (request, _) = request.into_parts();
        let page = error_page(Message::Refused(refusal), Language::of(&request));
        ServiceResponse::new(request, page).map_into_right_body()
    } else {
        // Handlers turn their errors into responses, so an `Err` here is actix's own.
        next.call(request).await?.map_into_left_body()
    };
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, value);
    }
    if draining {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

fn refusal(request: &ServiceRequest) -> Option<Refusal> {
    let headers = request.headers();
    let mut total = 0;
    for (name, value) in headers {
        let line = name.as_str().len() + value.len();
        total += line + 4;
        if line > MAX_HEADER_LINE || total > MAX_HEADERS_TOTAL {
            return Some(Refusal::HeadersTooLarge);
        }
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Some(Refusal::LengthRequired);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    (declared > MAX_BODY).then_some(Refusal::BodyTooLarge)
}
