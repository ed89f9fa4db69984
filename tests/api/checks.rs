//! `/healthz`, `/readyz`, `/db`, `/cache` with both stores up.

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_check_answers_200_when_both_stores_are_up() {
    let app = spawn_app().await;

    let healthz = app.get("/healthz").await;
    assert_eq!(healthz.status(), 200);

    let readyz: serde_json::Value = {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    };
    assert_eq!(readyz["postgres"], "up");
    assert_eq!(readyz["redis"], "up");

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
    let app = spawn_app().await;
    app.view().await;

    for _ in 0..3 {
        assert_eq!(app.get("/cache").await.status(), 200);
    }

    assert_eq!(app.ns.redis_get("visits").await.as_deref(), Some("1"));
}

#[tokio::test]
async fn checks_answer_head_and_refuse_other_methods() {
    let app = spawn_app().await;
    for path in [
        "/healthz",
        "/readyz",
        "/db",
        "/cache",
        "/api/stats",
        "/favicon.ico",
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
