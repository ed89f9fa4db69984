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
