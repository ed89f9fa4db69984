//! `/metrics`: Prometheus's text format, parsed as Prometheus would, moving as the
//! instance works; and the request id every answer carries.

use std::collections::BTreeMap;
use std::time::Duration;

use prometheus_parse::{Scrape, Value};

use crate::helpers::{Namespace, RedisServer, TestApp, eventually};

/// One scrape of the app's `/metrics`, parsed.
async fn scrape(app: &TestApp) -> Scrape {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("body");
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus's text format")
}

/// The value of `name` with `labels` (a histogram's count for a histogram).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .filter(|sample| labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v)))
        .map(|sample| match &sample.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

/// A histogram's sum.
fn sum(scrape: &Scrape, name: &str) -> f64 {
    value(scrape, &format!("{name}_sum"), &[])
}

#[tokio::test]
async fn metrics_parse_and_move_with_the_work_done() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;

    let mut views = tokio::task::JoinSet::new();
    for n in 0..40 {
        let (client, url) = (app.client.clone(), app.url("/"));
        views.spawn(
            async move { crate::helpers::fetch_page(&client, &url, &format!("m{n}")).await },
        );
    }
    views.join_all().await;
    app.stats().await;
    app.stats().await;
    let after = scrape(&app).await;

    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(delta("tally_views_total", &[]), 40.0);
    assert_eq!(
        delta(
            "tally_http_request_duration_seconds",
            &[("route", "/"), ("status", "200")]
        ),
        40.0
    );
    assert_eq!(
        sum(&after, "tally_writer_batch_size") - sum(&before, "tally_writer_batch_size"),
        40.0,
        "the batches held every view"
    );
    let batches = delta("tally_writer_batch_size", &[]);
    assert!((1.0..=40.0).contains(&batches), "{batches} batches");
    assert_eq!(delta("tally_writer_commit_duration_seconds", &[]), batches);
    assert_eq!(
        delta("tally_stats_cache_total", &[("outcome", "hit")])
            + delta("tally_stats_cache_total", &[("outcome", "miss")]),
        2.0
    );
    assert!(
        delta(
            "tally_store_call_duration_seconds",
            &[("store", "redis"), ("outcome", "ok")]
        ) >= 42.0
    );
    assert_eq!(
        value(&after, "tally_store_up", &[("store", "postgres")]),
        1.0
    );
    assert_eq!(value(&after, "tally_store_up", &[("store", "redis")]), 1.0);
    for pool in ["postgres_readers", "postgres_writer", "redis"] {
        assert!(
            after
                .samples
                .iter()
                .any(|s| s.metric == "tally_pool_connections_in_use"
                    && s.labels.get("pool") == Some(pool)),
            "no gauge for the {pool} pool"
        );
    }
    assert!(
        after
            .samples
            .iter()
            .any(|s| s.metric == "tally_writer_queue_depth")
    );
    assert_eq!(
        delta("tally_views_total", &[]),
        40.0,
        "scraping counted no view"
    );
}

#[tokio::test]
async fn a_store_going_down_shows_in_its_state_and_its_errors() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    app.view().await;

    redis.stop();
    let down = eventually(Duration::from_secs(3), async || {
        value(&scrape(&app).await, "tally_store_up", &[("store", "redis")]) == 0.0
    })
    .await;
    assert!(
        down.is_some(),
        "tally_store_up{{store=redis}} never went to 0"
    );
    // Past the probe, the view meets a closed connection: refused. (A view at the
    // very instant Redis dies may meet a broken pipe instead.)
    app.view().await;
    let scraped = scrape(&app).await;
    assert!(
        value(
            &scraped,
            "tally_store_errors_total",
            &[("store", "redis"), ("kind", "connection_refused")]
        ) >= 1.0
    );
    assert_eq!(
        value(&scraped, "tally_store_up", &[("store", "postgres")]),
        1.0
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id_kept_from_the_balancer_when_sane() {
    let app = TestApp::spawn().await;
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };

    let answered_with = async |id: &str| {
        let response = app
            .client
            .get(app.url("/"))
            .header("X-Request-Id", id)
            .send()
            .await
            .expect("sent");
        id_of(&response)
    };
    let given = answered_with("lb-7f3a:9").await;
    let hostile = answered_with("a b<script>").await;
    let long = answered_with(&"x".repeat(200)).await;
    let mut ids = BTreeMap::new();
    for path in ["/", "/api/stats", "/nope", "/static/style.css", "/healthz"] {
        ids.insert(path, id_of(&app.get(path).await));
    }
    let refused = app
        .client
        .post(app.url("/reset"))
        .body(vec![b'a'; 64 * 1024])
        .send()
        .await
        .expect("sent");

    assert_eq!(given, "lb-7f3a:9");
    for made in [hostile, long, id_of(&refused)] {
        assert_eq!(made.len(), 32, "a new id: {made:?}");
        assert!(made.chars().all(|c| c.is_ascii_hexdigit()));
    }
    let distinct: std::collections::BTreeSet<&String> = ids.values().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "each request its own id: {ids:?}"
    );
}
