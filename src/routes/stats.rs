//! `GET /api/stats`: both numbers as JSON, without counting a view.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{json, state_word};
use crate::state::{AppState, CacheOutcome};

#[derive(Serialize)]
struct StatsBody {
    visits: Option<i64>,
    access_total: Option<i64>,
    redis: &'static str,
    postgres: &'static str,
}

/// The counter and the access total; `X-Cache` says whether the total came from Redis.
pub async fn stats(state: web::Data<AppState>) -> HttpResponse {
    let stats = state.stats().await;
    let mut response = json(
        StatusCode::OK,
        StatsBody {
            visits: stats.visits,
            access_total: stats.access_total,
            redis: state_word(stats.redis_up),
            postgres: state_word(stats.postgres_up),
        },
    );
    let cache = match stats.cache {
        CacheOutcome::Hit => "hit",
        CacheOutcome::Miss => "miss",
    };
    response.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("x-cache"),
        actix_web::http::header::HeaderValue::from_static(cache),
    );
    response
}
