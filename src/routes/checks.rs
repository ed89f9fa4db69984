//! Checks for people and orchestrators: `/healthz` (the process runs), `/readyz`
//! (both stores answer), `/db` and `/cache` (one store each, with timings).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{json, state_word};
use crate::state::{AppState, Timed, timed};

#[derive(Serialize)]
struct StoreCheck {
    store: &'static str,
    status: &'static str,
    elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

fn check(store: &'static str, timed: Timed<Duration>) -> HttpResponse {
    let error = timed.result.as_ref().err().map(|error| {
        log::warn!("{store} check failed: {}", error.chain());
        error.reason()
    });
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
pub async fn db(state: web::Data<AppState>) -> HttpResponse {
    check("postgres", timed(state.postgres.ping()).await)
}

/// 200 when Redis takes a write and reads it back, else 503.
pub async fn cache(state: web::Data<AppState>) -> HttpResponse {
    check("redis", timed(state.redis.check()).await)
}

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    json(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

/// 200 when both stores answer, else 503; says which is down.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (postgres, redis) = state.readiness().await;
    let ready = postgres.result.is_ok() && redis.result.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(
        status,
        serde_json::json!({
            "status": if ready { "ready" } else { "not ready" },
            "postgres": state_word(postgres.result.is_ok()),
            "redis": state_word(redis.result.is_ok()),
        }),
    )
}
