//! `POST /reset`: the counter goes to zero, the log stays, other origins are refused.

use crate::helpers::TestApp;

#[tokio::test]
async fn reset_sets_the_counter_to_zero_and_keeps_the_access_log() {
    let app = TestApp::spawn().await;
    app.view().await;
    app.view().await;

    let response = app
        .client
        .post(app.url("/reset"))
        .send()
        .await
        .expect("posted");

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/?reset=1");
    let stats = app.stats().await;
    assert_eq!(stats.body["visits"], 0);
    assert_eq!(stats.body["access_total"], 2);
    assert_eq!(app.ns.log_rows().await, 2);
}

#[tokio::test]
async fn the_page_after_a_reset_says_so_and_counts_once() {
    let app = TestApp::spawn().await;
    app.view().await;
    app.client
        .post(app.url("/reset"))
        .send()
        .await
        .expect("posted");

    let page = app.get("/?reset=1").await.text().await.expect("page");

    assert!(page.contains("The visit counter was reset"), "{page}");
    assert_eq!(crate::helpers::element_text(&page, "visits"), "1");
    assert_eq!(crate::helpers::element_text(&page, "access-total"), "2");
    let plain = app.view().await;
    assert!(!plain.body.contains("The visit counter was reset"));
}

#[tokio::test]
async fn reset_from_another_origin_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.view().await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let own = app.address.clone();
    let port = host.rsplit(':').next().expect("a port").to_owned();
    let (named, shouted) = (
        format!("localhost:{port}"),
        format!("https://LOCALHOST:{port}"),
    );
    let refused: &[(&[(&str, &str)], &str)] = &[
        (&[("Sec-Fetch-Site", "cross-site")], "cross-site"),
        (&[("Sec-Fetch-Site", "same-site")], "same-site"),
        (
            &[("Sec-Fetch-Site", "cross-site"), ("Origin", own.as_str())],
            "cross-site with own origin",
        ),
        (&[("Origin", "http://evil.example")], "foreign origin"),
        (&[("Origin", "null")], "null origin"),
        (&[("Origin", "http://127.0.0.1:1")], "other port"),
        (
            &[("Sec-Fetch-Site", "something-new")],
            "an unknown Sec-Fetch-Site",
        ),
    ];
    for (headers, case) in refused {
        let mut request = app.client.post(app.url("/reset"));
        for (name, value) in *headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("posted");
        assert_eq!(response.status(), 403, "{case}");
        assert_eq!(
            app.stats().await.body["visits"],
            1,
            "{case} changed the counter"
        );
    }

    let allowed: &[(&[(&str, &str)], &str)] = &[
        (&[("Sec-Fetch-Site", "same-origin")], "same-origin"),
        (&[("Sec-Fetch-Site", "none")], "typed by the user"),
        (&[("Origin", own.as_str())], "own origin"),
        (
            &[("Host", named.as_str()), ("Origin", shouted.as_str())],
            "own origin in capitals, over https",
        ),
        (
            &[
                ("Sec-Fetch-Site", "same-origin"),
                ("Origin", "http://evil.example"),
            ],
            "Sec-Fetch-Site wins over Origin",
        ),
        (&[("Sec-Fetch-Site", ""), ("Origin", "")], "both empty"),
        (&[], "neither header"),
    ];
    for (headers, case) in allowed {
        app.view().await;
        let mut request = app.client.post(app.url("/reset"));
        if !headers.iter().any(|(name, _)| *name == "Host") {
            request = request.header("Host", host.as_str());
        }
        for (name, value) in *headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("posted");
        assert_eq!(response.status(), 303, "{case}");
        assert_eq!(app.stats().await.body["visits"], 0, "{case} did not reset");
    }
}

#[tokio::test]
async fn get_reset_changes_nothing() {
    let app = TestApp::spawn().await;
    app.view().await;

    let response = app.get("/reset").await;

    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(app.stats().await.body["visits"], 1);
}
