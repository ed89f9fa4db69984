//! Checks for people and machines: `/healthz` (liveness: the process serves),
//! `/readyz` (readiness: this instance takes traffic, until it drains), `/db` and
//! `/cache` (one store each, asked now, with timings), `/metrics` (Prometheus).

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::json::{json, state_word};
use crate::shutdown::Shutdown;
use crate::usecases::{Tally, Timed};

#[derive(Serialize)]
struct StoreCheck {
    store: &'static str,
    status: &'static str,
    elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// A store asked now: 200 and how long it took, or 503 and why.
fn store_answer(store: &'static str, timed: Timed<()>) -> HttpResponse {
    let error = timed
        .result
        .as_ref()
        .err()
        .map(|error| error.reason().as_str());
    let status = if error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(
        status,
        StoreCheck {
            store,
            status: state_word(error.is_none()),
            elapsed_ms: (timed.elapsed.as_secs_f64() * 1e6).round() / 1e3,
            error,
        },
    )
}

/// 200 when PostgreSQL answers a query, else 503.
pub async fn db(tally: web::Data<Tally>) -> HttpResponse {
    store_answer("postgres", tally.ask_postgres().await)
}

/// 200 when Redis takes a write and reads it back, else 503.
pub async fn cache(tally: web::Data<Tally>) -> HttpResponse {
    store_answer("redis", tally.ask_redis().await)
}

/// 200 while the process serves; asks no store.
pub async fn healthz() -> HttpResponse {
    json(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

/// 200 while this instance takes traffic, 503 once it drains. A store being down
/// does not change it (the page still serves, degraded); the body says each
/// store's last known state.
pub async fn readyz(tally: web::Data<Tally>, shutdown: web::Data<Shutdown>) -> HttpResponse {
    let (postgres_up, redis_up) = tally.readiness();
    let (status, word) = if shutdown.is_requested() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (StatusCode::OK, "ready")
    };
    json(
        status,
        serde_json::json!({
            "status": word,
            "postgres": state_word(postgres_up),
            "redis": state_word(redis_up),
            "served_by": tally.instance(),
        }),
    )
}

/// This instance's metrics, in Prometheus's text format.
pub async fn metrics(tally: web::Data<Tally>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(tally.report())
}
