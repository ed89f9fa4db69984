//! Hostile and broken input: every such request gets a 4xx or a closed
//! connection, never a file outside `static/`, never a crash, and the next
//! request is served as usual.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use crate::helpers::{Mode, Namespace, Proxy, TestApp};

/// What came back for raw bytes: the status code, or `None` for a connection
/// closed (or reset) without an answer; and the text read.
async fn raw(app: &TestApp, request: &[u8], wait: Duration) -> (Option<u16>, String) {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let deadline = Instant::now() + wait;
    while let Ok(Ok(read)) = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    (status, text)
}

async fn assert_still_serving(app: &TestApp) {
    let response = timeout(
        Duration::from_secs(5),
        app.client.get(app.url("/healthz")).send(),
    )
    .await
    .expect("the next request answered in time")
    .expect("the next request answered");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_or_a_closed_connection() {
    let app = TestApp::spawn().await;
    let many_headers: Vec<u8> = (0..200)
        .flat_map(|i| format!("X-Header-{i}: value\r\n").into_bytes())
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unknown method", b"BREW / HTTP/1.1\r\nHost: t\r\n\r\n".to_vec()),
        ("delete on the page", b"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n".to_vec()),
        ("bad version", b"GET / HTTP/9.9\r\nHost: t\r\n\r\n".to_vec()),
        ("garbage", b"\x00\x01\x02garbage\xff\xfe\r\n\r\n".to_vec()),
        ("TLS hello on the plain port", [&[0x16u8, 0x03, 0x01, 0x00, 0xa5, 0x01][..], &[0u8; 160]].concat()),
        ("huge header", [&b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: "[..], &[b'a'; 100_000], b"\r\n\r\n"].concat()),
        ("many headers", [&b"GET / HTTP/1.1\r\nHost: t\r\n"[..], &many_headers, b"\r\n"].concat()),
        ("length and chunked", b"POST /reset HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec()),
        ("huge body on the page", [&b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"[..], &[b'a'; 4096]].concat()),
        ("huge body on reset", [&b"POST /reset HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"[..], &[b'a'; 4096]].concat()),
        ("huge body on stats", [&b"POST /api/stats HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"[..], &[b'a'; 4096]].concat()),
        ("chunked body on reset", [&b"POST /reset HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n"[..], &[b'a'; 4096]].concat()),
        ("bad percent-encoding", b"GET /%zz%c0%af HTTP/1.1\r\nHost: t\r\n\r\n".to_vec()),
        ("NUL in the path", b"GET /\x00 HTTP/1.1\r\nHost: t\r\n\r\n".to_vec()),
        ("NUL in a header", b"GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: a\x00b\r\n\r\n".to_vec()),
        ("bad content length", b"POST /reset HTTP/1.1\r\nHost: t\r\nContent-Length: ten\r\n\r\n".to_vec()),
    ];
    for (case, request) in &cases {
        let (status, text) = raw(&app, request, Duration::from_secs(3)).await;
        if let Some(status) = status {
            assert!(
                (400..500).contains(&status),
                "{case}: answered {status}: {text:.200}"
            );
        }
        assert_still_serving(&app).await;
    }

    let stats = app.stats().await;
    assert_eq!(stats.body["visits"], 0, "a refused request counted a view");
    assert_eq!(app.ns.log_rows().await, 0);
    assert_eq!(app.view().await.visits(), 1);
}

#[tokio::test]
async fn no_path_reaches_a_file_outside_static() {
    let app = TestApp::spawn().await;
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2E%2E/Cargo.toml",
        "/static/..%2fCargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static/....//Cargo.toml",
        "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/..%5cCargo.toml",
        "/static//etc/passwd",
        "/static/%00../Cargo.toml",
        "/favicon.ico/../Cargo.toml",
        "/static/.",
        "/static/",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let (status, text) = raw(&app, request.as_bytes(), Duration::from_secs(3)).await;
        assert!(!text.contains("[package]"), "{path} served Cargo.toml");
        assert!(!text.contains("root:x:0:0"), "{path} served /etc/passwd");
        if let Some(status) = status {
            assert!((400..500).contains(&status), "{path}: answered {status}");
        }
    }
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn slow_clients_do_not_keep_others_from_being_served() {
    let app = TestApp::spawn().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: slo")
            .await
            .expect("half a request");
        idle.push(stream);
    }

    let started = Instant::now();
    let page = app.view().await;
    assert_eq!(page.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    let (status, _) = raw(
        &app,
        b"GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: never-finishes",
        Duration::from_secs(8),
    )
    .await;
    assert_eq!(status, Some(408), "a head not finished in time gets 408");
    let mut closed = 0;
    for mut stream in idle {
        let mut buffer = [0u8; 64];
        if let Ok(Ok(read)) = timeout(Duration::from_millis(200), stream.read(&mut buffer)).await
            && (read == 0 || buffer.starts_with(b"HTTP/1.1 408"))
        {
            closed += 1;
        }
    }
    assert_eq!(closed, 300, "every half-sent request was timed out");
    assert_eq!(
        app.view().await.visits(),
        2,
        "the half-sent requests counted nothing"
    );
}

#[tokio::test]
async fn oversized_and_chunked_resets_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.view().await;

    let big = app
        .client
        .post(app.url("/reset"))
        .body(vec![b'a'; 64 * 1024])
        .send()
        .await
        .expect("sent");
    assert_eq!(big.status(), 413);

    let small = app
        .client
        .post(app.url("/reset"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        small.status(),
        303,
        "the real form is small and goes through"
    );
    assert_eq!(app.stats().await.body["visits"], 0);
}

#[tokio::test]
async fn markup_in_a_user_agent_is_shown_escaped_in_text_and_attributes() {
    let app = TestApp::spawn().await;
    let hostile = r#""><script>alert(1)</script><b title='x' onmouseover="alert(2)">&amp;"#;

    app.view_as(hostile).await;
    let page = app.view().await;

    assert!(!page.body.contains("<script>alert(1)"), "script shown raw");
    assert!(
        !page.body.contains("\"><script>"),
        "attribute broken out of"
    );
    assert!(
        !page.body.contains("onmouseover=\"alert"),
        "handler injected"
    );
    assert!(
        page.body.contains("&#34;&#62;&#60;script&#62;")
            || page.body.contains("&quot;&gt;&lt;script&gt;")
    );
}

#[tokio::test]
async fn no_password_appears_on_any_page() {
    let proxy = Proxy::postgres().await;
    let ns = Namespace::create().await;
    let url = proxy.database_url(&ns).replacen(
        "postgres://postgres@",
        "postgres://postgres:pw-s3cret-pg@",
        1,
    );
    let app = TestApp::spawn_in(ns, &[("DATABASE_URL", url)]).await;
    app.view().await;
    proxy.set(Mode::Cut);

    for path in ["/", "/db", "/readyz", "/api/stats", "/nope"] {
        let body = app.get(path).await.text().await.expect("body");
        assert!(!body.contains("s3cret"), "{path} shows the password");
        assert!(
            !body.contains("postgres://"),
            "{path} shows a connection URL"
        );
    }
}

/// The headers every answer Tally's app makes must carry.
fn assert_security_headers(headers: &reqwest::header::HeaderMap, what: &str) {
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert!(headers.contains_key("referrer-policy"), "{what}");
}

#[tokio::test]
async fn every_status_the_app_answers_carries_the_security_headers() {
    let mut redis = crate::helpers::RedisServer::start().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    let post = |path: &str| app.client.post(app.url(path));
    let cases: Vec<(u16, reqwest::RequestBuilder)> = vec![
        (200, app.client.get(app.url("/"))),
        (303, post("/reset")),
        (403, post("/reset").header("Sec-Fetch-Site", "cross-site")),
        (404, app.client.get(app.url("/no/such/page"))),
        (405, app.client.get(app.url("/reset"))),
        (405, post("/static/style.css")),
        (
            411,
            post("/reset")
                .header("Transfer-Encoding", "chunked")
                .body("x"),
        ),
        (413, post("/reset").body(vec![b'a'; 64 * 1024])),
        (
            431,
            app.client
                .get(app.url("/"))
                .header("X-Big", "a".repeat(10_000)),
        ),
    ];
    for (status, request) in cases {
        let response = request.send().await.expect("answered");
        assert_eq!(response.status().as_u16(), status);
        assert_security_headers(response.headers(), &format!("{status}"));
    }
    redis.stop();
    let unavailable = post("/reset").send().await.expect("answered");
    assert_eq!(unavailable.status(), 503);
    assert_security_headers(unavailable.headers(), "503");
}

#[actix_web::test]
async fn an_internal_error_carries_the_security_headers_too() {
    use actix_web::{App, HttpResponse, middleware::from_fn, test, web};
    // No route of Tally's fails on its own; a failing one behind the same middleware.
    let app = test::init_service(App::new().wrap(from_fn(tally::middleware::guard)).route(
        "/",
        web::get().to(|| async {
            Err::<HttpResponse, _>(tally::error::Error::Template(askama::Error::Fmt))
        }),
    ))
    .await;

    let response = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;

    assert_eq!(response.status(), 500);
    let headers = response.headers();
    assert!(headers.contains_key("content-security-policy"));
    assert_eq!(
        headers.get("x-frame-options").and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    let body = test::read_body(response).await;
    assert!(
        String::from_utf8_lossy(&body).contains("<title>500"),
        "in the layout"
    );
}

#[tokio::test]
async fn answers_from_the_protocol_layer_have_no_body_to_render() {
    // actix-http answers these itself, before any of Tally's middleware runs: they
    // carry no page, so there is nothing for a browser to render or frame.
    let app = TestApp::spawn().await;
    for (what, request) in [
        ("400", &b"\x00\x01garbage\r\n\r\n"[..]),
        (
            "408",
            &b"GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: never-ends"[..],
        ),
    ] {
        let (status, text) = raw(&app, request, Duration::from_secs(8)).await;
        if let Some(status) = status {
            assert_eq!(status.to_string(), what);
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            assert!(body.is_empty(), "{what} has a body: {text}");
            assert!(
                head.to_ascii_lowercase().contains("content-length: 0"),
                "{head}"
            );
        }
    }
    assert_still_serving(&app).await;
}
