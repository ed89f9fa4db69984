//! `/healthz`, `/readyz`, `/db`, `/cache`: with both stores up, and while the
//! instance drains.

use crate::helpers::TestApp;
use tally::stores::redis::VISITS;

#[tokio::test]
async fn every_check_answers_200_when_both_stores_are_up() {
    let app = TestApp::spawn().await;

    let healthz = app.get("/healthz").await;
    assert_eq!(healthz.status(), 200);

    let readyz: serde_json::Value = {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    };
    assert_eq!(readyz["status"], "ready");
    assert_eq!(readyz["postgres"], "up");
    assert_eq!(readyz["redis"], "up");
    assert_eq!(readyz["served_by"], app.instance);

    for (path, store) in [("/db", "postgres"), ("/cache", "redis")] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["store"], store);
        assert_eq!(body["status"], "up");
        assert!(
            body["elapsed_ms"].as_f64().is_some(),
            "{path} says how long: {body}"
        );
    }
}

#[tokio::test]
async fn the_cache_check_leaves_the_counter_alone() {
    let app = TestApp::spawn().await;
    app.view().await;

    for _ in 0..3 {
        assert_eq!(app.get("/cache").await.status(), 200);
    }

    assert_eq!(app.ns.redis_get(VISITS).await.as_deref(), Some("1"));
}

#[tokio::test]
async fn checks_answer_head_and_refuse_other_methods() {
    let app = TestApp::spawn().await;
    for path in [
        "/healthz",
        "/readyz",
        "/db",
        "/cache",
        "/api/stats",
        "/favicon.ico",
        "/static/style.css",
    ] {
        let head = app.client.head(app.url(path)).send().await.expect("sent");
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(
            head.text().await.expect("body"),
            "",
            "HEAD {path} has no body"
        );

        let post = app.client.post(app.url(path)).send().await.expect("sent");
        assert_eq!(post.status(), 405, "POST {path}");
        assert_eq!(post.headers()["allow"], "GET, HEAD", "POST {path}");
    }
    let head = app.client.head(app.url("/")).send().await.expect("sent");
    assert_eq!(head.status(), 405, "HEAD / would count a view");
    assert_eq!(head.headers()["allow"], "GET");
    assert_eq!(app.stats().await.body["visits"], 0, "nothing counted");
}

#[tokio::test]
async fn a_draining_instance_is_not_ready_but_still_serves_until_the_delay_ends() {
    let app = crate::helpers::TestApp::spawn_in(
        crate::helpers::Namespace::create().await,
        &[("DRAIN_DELAY_SECS", "1".to_owned())],
    )
    .await;
    app.view().await;

    app.stop();
    let readyz = app.get("/readyz").await;
    let status = readyz.status();
    let connection = readyz.headers().get("connection").cloned();
    let body: serde_json::Value = readyz.json().await.expect("json");
    let page = app.view().await;
    let healthz = app.get("/healthz").await.status();
    let address = app.address.clone();
    app.stopped().await.expect("stopped cleanly");
    let after = crate::helpers::client()
        .get(format!("{address}/healthz"))
        .send()
        .await;

    assert_eq!(status, 503, "not ready once draining");
    assert_eq!(body["status"], "draining");
    assert_eq!(
        connection.as_ref().and_then(|v| v.to_str().ok()),
        Some("close")
    );
    assert_eq!(page.visits(), 2, "still serving during the drain delay");
    assert_eq!(healthz, 200, "alive while draining");
    assert!(after.is_err(), "not serving once stopped");
}
