//! One store down or stalled: the page still answers 200 with the other store's
//! number, the checks say which is down (readiness stays 200: the instance still
//! serves), and the store is used again when it is back.

use std::time::Duration;

use tokio::time::Instant;

use crate::helpers::{Mode, Namespace, Proxy, RedisServer, TestApp, eventually};

#[tokio::test]
async fn with_redis_down_the_page_still_logs_the_access_and_recovers() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    assert_eq!(app.view().await.visits(), 1);

    redis.stop();
    let page = app.view().await;

    assert_eq!(page.status, 200);
    assert_eq!(page.visits, "unavailable");
    assert_eq!(page.access_total(), 2);
    assert!(
        page.body.contains("Redis is down"),
        "the page says which store is down"
    );
    assert_ready_with(&app, "redis", "down").await;
    assert_eq!(app.get("/cache").await.status(), 503);
    assert_eq!(app.get("/db").await.status(), 200);
    let stats = app.stats().await.body;
    assert_eq!(stats["visits"], serde_json::Value::Null);
    assert_eq!(stats["redis"], "down");
    assert_eq!(stats["access_total"], 2);

    redis.start_again().await;
    let back = eventually(Duration::from_secs(5), async || {
        app.view().await.visits.parse::<i64>().is_ok()
    })
    .await;

    assert!(back.is_some(), "redis was not used again within 5 s");
    assert_ready_with(&app, "redis", "up").await;
    assert_eq!(app.view().await.access_total(), app.ns.log_rows().await);
}

#[tokio::test]
async fn with_postgres_down_the_page_still_counts_visits_and_recovers() {
    let proxy = Proxy::postgres().await;
    let ns = Namespace::create().await;
    let app = TestApp::spawn_in(ns.clone(), &[("DATABASE_URL", proxy.database_url(&ns))]).await;
    assert_eq!(app.view().await.access_total(), 1);
    app.stats().await;

    proxy.set(Mode::Cut);
    let page = app.view().await;

    assert_eq!(page.status, 200);
    assert_eq!(page.visits(), 2);
    assert_eq!(page.access_total, "unavailable");
    assert!(
        page.body.contains("PostgreSQL is down"),
        "the page says which store is down"
    );
    assert_ready_with(&app, "postgres", "down").await;
    assert_eq!(app.get("/db").await.status(), 503);
    assert_eq!(app.get("/cache").await.status(), 200);
    let stats = app.stats().await;
    assert_eq!(stats.cache, "hit", "a cached total still answers");
    assert_eq!(stats.body["access_total"], 1);
    assert_eq!(stats.body["postgres"], "down");

    proxy.set(Mode::Pass);
    let back = eventually(Duration::from_secs(5), async || {
        app.view().await.access_total.parse::<i64>().is_ok()
    })
    .await;

    assert!(back.is_some(), "postgres was not used again within 5 s");
    assert_ready_with(&app, "postgres", "up").await;
}

#[tokio::test]
async fn a_stalled_store_costs_only_its_own_card_and_only_the_timeout() {
    let redis = RedisServer::start().await;
    let redis_proxy = Proxy::local(redis.port).await;
    let pg_proxy = Proxy::postgres().await;
    let ns = Namespace::create().await;
    let app = TestApp::spawn_in(
        ns.clone(),
        &[
            ("REDIS_URL", redis_proxy.redis_url()),
            ("DATABASE_URL", pg_proxy.database_url(&ns)),
        ],
    )
    .await;
    app.view().await;

    for (stalled, other) in [(&redis_proxy, &pg_proxy), (&pg_proxy, &redis_proxy)] {
        stalled.set(Mode::Stall);
        other.set(Mode::Pass);
        let started = Instant::now();
        let page = app.view().await;
        let took = started.elapsed();

        assert_eq!(page.status, 200);
        assert!(took < Duration::from_millis(3500), "a view took {took:?}");
        let shown = [page.visits.as_str(), page.access_total.as_str()];
        assert_eq!(
            shown.iter().filter(|text| **text == "unavailable").count(),
            1,
            "{shown:?}"
        );
        stalled.set(Mode::Pass);
        let back = eventually(Duration::from_secs(5), async || {
            let page = app.view().await;
            page.visits.parse::<i64>().is_ok() && page.access_total.parse::<i64>().is_ok()
        })
        .await;
        assert!(
            back.is_some(),
            "the stalled store was not used again within 5 s"
        );
    }
}

/// `/readyz` answers 200 (a store down does not take the instance out of service)
/// and, within two probes, reports `store` as `state`.
async fn assert_ready_with(app: &TestApp, store: &str, state: &str) {
    let reported = eventually(Duration::from_secs(3), async || {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200, "/readyz with {store} {state}");
        let body: serde_json::Value = response.json().await.expect("readyz json");
        body[store] == state
    })
    .await;
    assert!(reported.is_some(), "/readyz did not report {store} {state}");
}
