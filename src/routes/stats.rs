//! `GET /api/stats`: both numbers as JSON, without counting a view.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::json::{json, state_word};
use crate::usecases::Tally;

#[derive(Serialize)]
struct StatsBody<'a> {
    visits: Option<i64>,
    access_total: Option<i64>,
    redis: &'static str,
    postgres: &'static str,
    served_by: &'a str,
}

/// The counter and the access total; `X-Cache` says whether the total came from Redis.
pub async fn stats(tally: web::Data<Tally>) -> HttpResponse {
    let stats = tally.stats().await;
    let mut response = json(
        StatusCode::OK,
        StatsBody {
            visits: stats.visits,
            access_total: stats.access_total,
            redis: state_word(stats.redis_up),
            postgres: state_word(stats.postgres_up),
            served_by: tally.instance(),
        },
    );
    let cache = if stats.cache_hit { "hit" } else { "miss" };
    response.headers_mut().insert(
        HeaderName::from_static("x-cache"),
        HeaderValue::from_static(cache),
    );
    response
}
