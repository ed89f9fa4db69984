//! `/api/stats`: both numbers as JSON, the access total read cache-aside.

use crate::helpers::spawn_app;

#[tokio::test]
async fn stats_report_both_numbers_and_both_stores() {
    let app = spawn_app().await;
    app.view().await;
    app.view().await;

    let stats = app.stats().await;

    assert_eq!(
        stats.body,
        serde_json::json!({"visits": 2, "access_total": 2, "redis": "up", "postgres": "up"})
    );
}

#[tokio::test]
async fn a_miss_reads_postgres_and_fills_the_cache() {
    let app = spawn_app().await;

    let first = app.stats().await;
    let second = app.stats().await;

    assert_eq!(first.cache, "miss");
    assert_eq!(first.body["access_total"], 0);
    assert_eq!(second.cache, "hit");
    assert_eq!(second.body["access_total"], 0);
    assert_eq!(app.ns.redis_get("access_total").await.as_deref(), Some("0"));
}

#[tokio::test]
async fn the_cached_total_is_never_behind_a_committed_view() {
    let app = spawn_app().await;
    app.stats().await;
    for expected in 1..=5 {
        let page = app.view().await;
        assert_eq!(page.access_total(), expected);

        let stats = app.stats().await;

        assert_eq!(stats.cache, "hit");
        assert_eq!(stats.body["access_total"], expected);
    }
}

#[tokio::test]
async fn stats_count_nothing() {
    let app = spawn_app().await;
    app.view().await;
    for _ in 0..3 {
        app.stats().await;
    }
    assert_eq!(app.stats().await.body["visits"], 1);
    assert_eq!(app.ns.log_rows().await, 1);
}

#[tokio::test]
async fn the_cached_total_is_not_trusted_after_a_raise_was_lost() {
    use crate::helpers::{Mode, Namespace, Proxy, RedisServer, spawn_app_with};
    let redis = RedisServer::start().await;
    let proxy = Proxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], redis.port))).await;
    let app = spawn_app_with(
        Namespace::create().await,
        &[("REDIS_URL", format!("redis://127.0.0.1:{}", proxy.port))],
    )
    .await;
    assert_eq!(app.view().await.access_total(), 1);
    assert_eq!(app.stats().await.cache, "hit");

    // Redis stalls, keeping the cached total at 1, while a view commits 2.
    proxy.set(Mode::Stall);
    let page = app.view().await;
    assert_eq!(
        (page.visits.as_str(), page.access_total()),
        ("unavailable", 2)
    );
    proxy.set(Mode::Pass);

    let stats = app.stats().await;
    assert_eq!(stats.body["access_total"], 2, "behind the committed total");
    assert_eq!(
        stats.cache, "miss",
        "a cache that may be behind is not read"
    );
    let again = app.stats().await;
    assert_eq!(
        (again.cache.as_str(), again.body["access_total"].as_i64()),
        ("hit", Some(2))
    );
}
