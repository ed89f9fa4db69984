//! `GET /`: counting, the two numbers, the recent accesses, the headers.

use crate::helpers::{TestApp, element_text};
use tally::stores::redis::VISITS;

#[tokio::test]
async fn each_page_view_counts_once_in_each_store() {
    let app = TestApp::spawn().await;

    let first = app.view().await;
    let second = app.view().await;

    assert_eq!(first.status, 200);
    assert_eq!((first.visits(), first.access_total()), (1, 1));
    assert_eq!((second.visits(), second.access_total()), (2, 2));
    assert_eq!(app.ns.log_rows().await, 2);
    assert_eq!(app.ns.redis_get(VISITS).await.as_deref(), Some("2"));
}

#[tokio::test]
async fn the_page_shows_both_numbers_side_by_side_with_a_reset_form() {
    let app = TestApp::spawn().await;

    let page = app.view().await;

    let visits_at = page.body.find("id=\"visits\"").expect("visits element");
    let total_at = page
        .body
        .find("id=\"access-total\"")
        .expect("access total element");
    assert!(visits_at < total_at, "the Redis card comes first");
    assert!(
        page.body
            .contains("<form class=\"reset\" method=\"post\" action=\"/reset\">")
    );
    assert!(
        !page.body.contains("<script"),
        "the page needs no JavaScript"
    );
    assert!(!page.body.contains("style=\""), "no inline style");
}

#[tokio::test]
async fn the_page_names_the_instance_that_served_it() {
    let app = TestApp::spawn().await;

    let page = app.view().await;

    assert_eq!(element_text(&page.body, "served-by"), app.instance);
}

#[tokio::test]
async fn only_page_views_count() {
    let app = TestApp::spawn().await;
    for path in [
        "/favicon.ico",
        "/static/style.css",
        "/static/favicon.svg",
        "/api/stats",
        "/db",
        "/cache",
        "/healthz",
        "/readyz",
        "/reset",
        "/no-such-page",
        "/index.html",
    ] {
        let status = app.get(path).await.status();
        assert!(status.as_u16() < 500, "{path} answered {status}");
    }

    let stats = app.stats().await;

    assert_eq!(stats.body["visits"], 0);
    assert_eq!(stats.body["access_total"], 0);
    assert_eq!(app.ns.log_rows().await, 0);
    assert_eq!(app.view().await.visits(), 1);
}

#[tokio::test]
async fn the_recent_accesses_show_user_agents_escaped() {
    let app = TestApp::spawn().await;
    let hostile = r#"<script>alert("x")</script><img src=x onerror=alert(1)>"#;

    app.view_as(hostile).await;
    let page = app.view_as("second visitor").await;

    assert!(!page.body.contains(hostile), "the user agent is shown raw");
    assert!(!page.body.contains("<script>alert"));
    assert!(page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"));
    let newest = page.body.find("second visitor").expect("newest listed");
    let older = page.body.find("alert").expect("older listed");
    assert!(newest < older, "newest first");
}

#[tokio::test]
async fn the_recent_list_holds_the_ten_newest_accesses() {
    let app = TestApp::spawn().await;
    for n in 0..12 {
        app.view_as(&format!("visitor-{n:02}")).await;
    }

    let page = app.view_as("visitor-12").await;

    assert!(page.body.contains("visitor-12"));
    assert!(page.body.contains("visitor-03"));
    assert!(!page.body.contains("visitor-02"), "only ten are listed");
    assert_eq!(page.body.matches("<time datetime=").count(), 10);
}

#[tokio::test]
async fn html_answers_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/", "/no-such-page", "/reset"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("referrer-policy"), "{path}");
        assert!(
            headers["content-type"]
                .to_str()
                .expect("type")
                .starts_with("text/html")
        );
    }
    let page = app.get("/").await;
    assert_eq!(page.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn unknown_paths_get_a_404_page_in_the_layout() {
    let app = TestApp::spawn().await;

    let response = app.get("/no/such/page?x=1").await;

    assert_eq!(response.status(), 404);
    let body = response.text().await.expect("body");
    assert!(body.contains("<title>404 Not Found"), "{body}");
    assert!(body.contains("href=\"/static/style.css\""));
    assert_eq!(element_text(&body, "visits"), "", "a 404 shows no counter");
}

#[tokio::test]
async fn static_assets_are_served_with_validators() {
    let app = TestApp::spawn().await;

    let css = app.get("/static/style.css").await;
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/css")
    );
    assert!(css.headers().contains_key("etag"));

    let favicon = app.get("/favicon.ico").await;
    assert_eq!(favicon.status(), 200);
    assert_eq!(favicon.headers()["content-type"], "image/svg+xml");

    assert_eq!(app.get("/static/../Cargo.toml").await.status(), 404);
    assert_eq!(app.get("/static/%2e%2e/Cargo.toml").await.status(), 404);
}

#[tokio::test]
async fn static_files_are_revalidated_on_every_load() {
    let app = TestApp::spawn().await;

    for path in ["/static/style.css", "/static/favicon.svg", "/favicon.ico"] {
        let first = app.get(path).await;
        assert_eq!(first.status(), 200, "{path}");
        assert_eq!(first.headers()["cache-control"], "no-cache", "{path}");

        // The check costs a 304 while the file is unchanged, not the file again.
        let etag = first.headers()["etag"].clone();
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", etag)
            .send()
            .await
            .expect("request sent");
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["cache-control"], "no-cache", "{path}");
    }
}

/// The browser's name as the recent list shows it, from the newest row of a page
/// viewed by `agent` in `language`.
async fn shown_browser(app: &TestApp, agent: &str, language: &str) -> String {
    let body = app
        .client
        .get(app.url("/"))
        .header("User-Agent", agent)
        .header("Accept-Language", language)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    let row = body.split("<td class=\"agent\"").nth(1).expect("a row");
    let name = row.split("<span>").nth(1).expect("a name");
    name.split("</span>").next().expect("its end").to_owned()
}

#[tokio::test]
async fn browsers_are_named_with_their_major_version_and_system() {
    let app = TestApp::spawn().await;
    for (agent, short) in [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
            "Headless Chrome 156 on Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox 128 on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
            "Edge 130 on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari 17 on iPhone",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
            "Chrome 130 on Android",
        ),
    ] {
        assert_eq!(shown_browser(&app, agent, "en").await, short, "{agent}");
    }
    let firefox =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
    assert_eq!(
        shown_browser(&app, firefox, "pt-BR").await,
        "Firefox 128 no Windows",
        "the system is joined in the page's language"
    );
}

#[tokio::test]
async fn other_agents_are_shown_whole() {
    let app = TestApp::spawn().await;
    for (agent, shown) in [
        ("curl/8.5.0", "curl/8.5.0"),
        ("", ""),
        ("second visitor", "second visitor"),
        (
            "Mozilla/5.0 (compatible; Bot/2.1)",
            "Mozilla/5.0 (compatible; Bot/2.1)",
        ),
        ("<script>", "&#60;script&#62;"),
    ] {
        for language in ["en", "pt-BR"] {
            assert_eq!(shown_browser(&app, agent, language).await, shown, "{agent}");
        }
    }
}
