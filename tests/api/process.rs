//! The `tally` binary as an operator meets it: settings, `--help`, start-up, logs,
//! the healthcheck, and stopping (drain, then in-flight requests, then exit 0).

use std::collections::BTreeMap;
use std::time::Duration;

use clap::CommandFactory;
use tally::config::Settings;
use tokio::time::{Instant, sleep};

use crate::helpers::{
    Binary, Mode, Namespace, Proxy, RedisServer, client, database_url, eventually, fetch_page,
    free_port,
};

const START: Duration = Duration::from_secs(10);
const STOP: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_bad_setting_ends_the_process_at_once_with_one_line_naming_it() {
    for (var, value) in [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("DATABASE_URL", "nonsense"),
        (
            "DATABASE_URL",
            "postgres://tally:p@ss:w/rd#1%@db:5432/tally",
        ),
        ("REDIS_URL", "nonsense"),
        ("STORE_TIMEOUT_MS", "soon"),
        ("STARTUP_BUDGET_SECS", "-1"),
        ("DRAIN_DELAY_SECS", "forever"),
        ("DATABASE_PASSWORD_FILE", "/no/such/secret"),
        ("REDIS_PASSWORD_FILE", "/no/such/secret"),
        ("STATIC_DIR", "/no/such/folder"),
        ("PRUNE_OLDER_THAN", "soon"),
    ] {
        let started = Instant::now();
        let mut tally = Binary::start(&[(var, value.to_owned())]);
        let status = tally.exit_within(Duration::from_secs(1)).await;
        let output = tally.output();

        let status = status
            .unwrap_or_else(|| panic!("{var}={value} still running after {:?}", started.elapsed()));
        assert_eq!(status.code(), Some(2), "{var}={value}: {output}");
        assert_eq!(output.lines().count(), 1, "{var}={value}: {output}");
        assert!(output.starts_with(&format!("tally: {var}: ")), "{output}");
        assert!(!output.contains("panicked"), "{output}");
        assert!(
            !output.contains("p@ss"),
            "a URL's password was echoed: {output}"
        );
    }
}

#[tokio::test]
async fn help_lists_every_setting_with_its_variable_and_default_and_version_answers() {
    let help = Binary::command(&[])
        .arg("--help")
        .output()
        .expect("--help runs");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{text}");
    for (var, default) in variables() {
        assert!(
            text.contains(&format!("[env: {var}")),
            "{var} missing:\n{text}"
        );
        if let Some(default) = default {
            assert!(
                text.contains(&format!("[default: {default}]")),
                "{var}'s default {default} missing:\n{text}"
            );
        }
    }

    let version = Binary::command(&[])
        .arg("--version")
        .output()
        .expect("--version runs");
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("tally {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn env_example_documents_exactly_the_settings_with_their_defaults() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example");
    let example = std::fs::read_to_string(path).expect(".env.example");
    let binary_part = example
        .split("# ---- read by compose.yaml only ----")
        .next()
        .expect("the binary's part");
    // `NAME=value`, or `# NAME=` for a setting with no default; each after a comment.
    let assignment = |line: &str| -> Option<(String, Option<String>)> {
        let (commented, text) = match line.strip_prefix("# ") {
            Some(text) => (true, text),
            None => (false, line),
        };
        let (name, value) = text.split_once('=')?;
        let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        is_name.then(|| (name.to_owned(), (!commented).then(|| value.to_owned())))
    };
    let mut documented = BTreeMap::new();
    let lines: Vec<&str> = binary_part.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let Some((name, default)) = assignment(line) else {
            continue;
        };
        let comment = n.checked_sub(1).map(|i| lines[i]).unwrap_or_default();
        assert!(
            comment.starts_with("# ") && assignment(comment).is_none(),
            "{name} has no one-line comment above it"
        );
        documented.insert(name, default);
    }
    let settings: BTreeMap<String, Option<String>> = variables().into_iter().collect();
    assert_eq!(
        documented, settings,
        ".env.example and `tally --help` disagree"
    );
}

#[tokio::test]
async fn start_up_waits_for_a_late_store_and_logs_each_try() {
    let ns = Namespace::create().await;
    let mut redis = RedisServer::on_port(free_port(), None);
    let mut vars = Binary::vars(&ns);
    vars.push(("REDIS_URL", redis.url()));
    let mut tally = Binary::start(&vars);

    sleep(Duration::from_millis(1500)).await;
    assert!(
        tally.exit_within(Duration::ZERO).await.is_none(),
        "gave up too early"
    );
    redis.start_again().await;

    assert!(tally.ready(START).await, "never became ready");
    tally.terminate();
    let status = tally.exit_within(STOP).await;
    let output = tally.output();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{output}");
    let tries = format!("redis not ready at 127.0.0.1:{} (attempt", redis.port);
    let warns = output
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains(&tries))
        .count();
    assert!(warns >= 2, "one WARN per failed try expected:\n{output}");
    assert!(
        output.contains(&format!("listening on http://127.0.0.1:{}", tally.port)),
        "{output}"
    );
}

#[tokio::test]
async fn start_up_gives_up_on_a_store_that_never_comes() {
    let ns = Namespace::create().await;
    let dead = free_port();
    let mut vars = Binary::vars(&ns);
    vars.push(("REDIS_URL", format!("redis://127.0.0.1:{dead}")));
    vars.push(("STARTUP_BUDGET_SECS", "2".to_owned()));
    let mut tally = Binary::start(&vars);

    let status = tally.exit_within(Duration::from_secs(8)).await;
    let output = tally.output();

    let status = status.expect("still running long after its budget");
    assert!(!status.success(), "{output}");
    let last = output.lines().last().unwrap_or_default();
    assert!(
        last.contains("redis") && last.contains(&format!("127.0.0.1:{dead}")),
        "{output}"
    );
}

#[tokio::test]
async fn sigterm_during_start_up_exits_zero_at_once() {
    let ns = Namespace::create().await;
    let mut vars = Binary::vars(&ns);
    vars.push(("REDIS_URL", format!("redis://127.0.0.1:{}", free_port())));
    let mut tally = Binary::start(&vars);
    let waiting = eventually(START, async || tally.output().contains("not ready")).await;
    assert!(
        waiting.is_some(),
        "start-up never retried: {}",
        tally.output()
    );

    tally.terminate();
    let status = tally.exit_within(Duration::from_secs(1)).await;
    let output = tally.output();

    assert_eq!(status.and_then(|s| s.code()), Some(0), "{output}");
    assert!(
        output.contains("stopped before start-up finished"),
        "{output}"
    );
}

#[tokio::test]
async fn a_database_that_does_not_exist_is_not_retried() {
    let ns = Namespace::create().await;
    let mut vars = Binary::vars(&ns);
    vars.push((
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/no_such_tally_db".to_owned(),
    ));
    let mut tally = Binary::start(&vars);

    let status = tally.exit_within(Duration::from_secs(5)).await;
    let output = tally.output();

    assert!(status.is_some_and(|s| !s.success()), "{output}");
    assert!(output.contains("does not exist"), "{output}");
}

#[tokio::test]
async fn a_wrong_redis_password_is_not_retried() {
    let ns = Namespace::create().await;
    let mut redis = RedisServer::on_port(free_port(), Some("the-right-one"));
    redis.start_again().await;
    let mut vars = Binary::vars(&ns);
    vars.push((
        "REDIS_URL",
        format!("redis://:wrong-one@127.0.0.1:{}", redis.port),
    ));
    let mut tally = Binary::start(&vars);

    let status = tally.exit_within(Duration::from_secs(5)).await;
    let output = tally.output();

    assert!(status.is_some_and(|s| !s.success()), "{output}");
    let last = output.lines().last().unwrap_or_default();
    assert!(
        last.contains("redis") && last.contains("refused us"),
        "{output}"
    );
    assert!(
        !output.contains("wrong-one"),
        "the password reached the log"
    );
}

#[tokio::test]
async fn a_password_with_any_symbol_works_from_a_file() {
    let ns = Namespace::create().await;
    let password = r#"p@ss:w/rd#1% "quoted" 'and' \slash"#;
    let mut redis = RedisServer::on_port(free_port(), Some(password));
    redis.start_again().await;
    let secret = std::env::temp_dir().join(format!("tally-secret-{}", free_port()));
    std::fs::write(&secret, format!("{password}\n")).expect("write the secret");
    let mut vars = Binary::vars(&ns);
    vars.push(("REDIS_URL", format!("redis://127.0.0.1:{}", redis.port)));
    vars.push(("REDIS_PASSWORD_FILE", secret.display().to_string()));
    let tally = Binary::start(&vars);

    let ready = tally.ready(START).await;
    let page = fetch_page(&client(), &tally.url("/"), "secret").await;
    let _ = std::fs::remove_file(&secret);

    assert!(ready, "{}", tally.output());
    assert_eq!(page.visits(), 1, "Redis took the password from the file");
    assert!(
        !tally.output().contains("quoted"),
        "the password reached the log"
    );
}

#[tokio::test]
async fn sigterm_drains_finishes_the_request_in_flight_and_exits_zero() {
    let proxy = Proxy::postgres().await;
    let ns = Namespace::create().await;
    let mut vars = Binary::vars(&ns);
    vars.push(("DATABASE_URL", proxy.database_url(&ns)));
    vars.push(("DRAIN_DELAY_SECS", "1".to_owned()));
    vars.push(("SHUTDOWN_TIMEOUT_SECS", "5".to_owned()));
    // Longer than the drain delay plus actix's 1 s shutdown poll: a shutdown that
    // did not wait for requests in flight would cut this one.
    vars.push(("STORE_TIMEOUT_MS", "4000".to_owned()));
    let mut tally = Binary::start(&vars);
    assert!(tally.ready(START).await, "{}", tally.output());
    let http = client();

    // A view held in flight: its access log write waits on a stalled PostgreSQL
    // for the 4 s store timeout.
    proxy.set(Mode::Stall);
    let in_flight = tokio::spawn({
        let (http, url) = (http.clone(), tally.url("/"));
        async move { fetch_page(&http, &url, "in flight").await }
    });
    sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    tally.terminate();

    let readiness = eventually(Duration::from_millis(300), async || {
        http.get(tally.url("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 503)
    })
    .await;
    let during_drain = http.get(tally.url("/healthz")).send().await;
    let page = in_flight.await.expect("the in-flight view");
    let status = tally.exit_within(STOP).await;
    let output = tally.output();
    let refused_after = http.get(tally.url("/healthz")).send().await;

    assert!(
        readiness.is_some(),
        "/readyz did not turn 503 at once:\n{output}"
    );
    assert_eq!(
        during_drain.map(|r| r.status().as_u16()).ok(),
        Some(200),
        "still serving during the drain delay"
    );
    assert_eq!(
        page.status, 200,
        "the request in flight was answered: {page:?}"
    );
    assert_eq!(page.access_total, "unavailable");
    assert_eq!(page.visits(), 1);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{output}");
    assert!(signalled.elapsed() < STOP, "took {:?}", signalled.elapsed());
    assert!(refused_after.is_err(), "still serving after it stopped");
    for phase in [
        "] SIGTERM: stopping",
        "] draining:",
        "] closing:",
        "] stopped",
    ] {
        assert_eq!(
            output.lines().filter(|line| line.contains(phase)).count(),
            1,
            "one line for {phase:?}:\n{output}"
        );
    }
}

#[tokio::test]
async fn the_healthcheck_asks_the_address_tally_listens_on() {
    let ns = Namespace::create().await;
    let mut hosts = vec!["127.0.0.2"];
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        hosts.push("::1");
    }
    for host in hosts {
        let mut vars = Binary::vars(&ns);
        vars.push(("HOST", host.to_owned()));
        let tally = Binary::start(&vars);
        let listening = eventually(START, async || tally.output().contains("listening on")).await;
        assert!(listening.is_some(), "{host}: {}", tally.output());

        let healthy = Binary::command(&vars)
            .arg("healthcheck")
            .output()
            .expect("runs");
        drop(tally);
        let unhealthy = Binary::command(&vars)
            .arg("healthcheck")
            .output()
            .expect("runs");

        assert!(
            healthy.status.success(),
            "HOST={host}: {}",
            String::from_utf8_lossy(&healthy.stderr)
        );
        assert_eq!(
            unhealthy.status.code(),
            Some(1),
            "HOST={host}, nothing listening"
        );
    }
}

#[tokio::test]
async fn no_password_reaches_the_logs_at_any_level() {
    let ns = Namespace::create().await;
    let mut redis = RedisServer::on_port(free_port(), Some("redis-pass-s3cret"));
    redis.start_again().await;
    let pg_url = ns.database_url_via(&database_url().replacen(
        "postgres://postgres@",
        "postgres://postgres:pg-pass-s3cret@",
        1,
    ));
    let mut vars = Binary::vars(&ns);
    vars.push(("DATABASE_URL", pg_url));
    vars.push(("REDIS_URL", redis.url()));
    vars.push(("RUST_LOG", "trace".to_owned()));
    let mut tally = Binary::start(&vars);
    assert!(tally.ready(START).await, "never became ready");
    let http = client();
    for path in ["/", "/api/stats", "/db", "/cache", "/nope"] {
        http.get(tally.url(path)).send().await.expect("sent");
    }
    redis.stop();
    http.get(tally.url("/")).send().await.expect("sent");

    tally.terminate();
    tally.exit_within(STOP).await;
    let output = tally.output();

    assert!(output.contains("listening on"), "{output}");
    assert!(!output.contains("s3cret"), "a password reached the logs");
}

#[tokio::test]
async fn a_store_going_down_and_back_is_logged_once_each_way() {
    let ns = Namespace::create().await;
    let mut redis = RedisServer::start().await;
    let mut vars = Binary::vars(&ns);
    vars.push(("REDIS_URL", redis.url()));
    let mut tally = Binary::start(&vars);
    assert!(tally.ready(START).await, "never became ready");
    let http = client();
    let page = tally.url("/");

    http.get(&page).send().await.expect("sent");
    redis.stop();
    for _ in 0..5 {
        http.get(&page).send().await.expect("sent");
    }
    sleep(Duration::from_millis(1500)).await;
    redis.start_again().await;
    let back = eventually(Duration::from_secs(5), async || {
        fetch_page(&http, &page, "tally-tests").await.both()
    })
    .await;
    assert!(back.is_some(), "redis not used again");
    sleep(Duration::from_millis(1500)).await;
    tally.terminate();
    tally.exit_within(STOP).await;
    let output = tally.output();

    let went = output.matches("redis: down:").count();
    let returned = output.matches("redis: up again").count();
    assert_eq!((went, returned), (1, 1), "{output}");
}

#[tokio::test]
async fn health_and_readiness_probes_are_not_logged_but_requests_are() {
    let ns = Namespace::create().await;
    let mut tally = Binary::start(&Binary::vars(&ns));
    assert!(tally.ready(START).await, "never became ready");
    let http = client();
    for path in ["/healthz", "/readyz", "/healthz", "/readyz", "/"] {
        http.get(tally.url(path)).send().await.expect("sent");
    }
    tally.terminate();
    tally.exit_within(STOP).await;
    let output = tally.output();

    assert!(!output.contains("GET /healthz"), "{output}");
    assert!(!output.contains("GET /readyz"), "{output}");
    let request_line = output
        .lines()
        .find(|line| line.contains(" GET / 200 "))
        .unwrap_or_else(|| panic!("no line for the page view:\n{output}"));
    // `req=<id> GET / 200 6.5ms view visits=1 total=1 redis=0.4ms postgres=3.1ms`
    let story = request_line.split("] ").nth(1).unwrap_or_default();
    let words: Vec<&str> = story.split(' ').collect();
    assert!(
        words[0].starts_with("req=") && words[0].len() == 36,
        "{request_line}"
    );
    assert_eq!(&words[1..4], ["GET", "/", "200"], "{request_line}");
    assert!(words[4].ends_with("ms"), "{request_line}");
    assert_eq!(
        &words[5..8],
        ["view", "visits=1", "total=1"],
        "{request_line}"
    );
    assert!(
        words[8].starts_with("redis=") && words[9].starts_with("postgres="),
        "{request_line}"
    );
}

#[tokio::test]
async fn json_logs_parse_line_by_line_with_the_request_id_on_every_line_about_it() {
    let ns = Namespace::create().await;
    let mut redis = RedisServer::start().await;
    let mut vars = Binary::vars(&ns);
    vars.push(("REDIS_URL", redis.url()));
    vars.push(("LOG_FORMAT", "json".to_owned()));
    vars.push(("RUST_LOG", "debug".to_owned()));
    let mut tally = Binary::start(&vars);
    assert!(tally.ready(START).await, "{}", tally.output());
    let http = client();
    for (id, stop_redis_first) in [("first-view", false), ("while-redis-is-down", true)] {
        if stop_redis_first {
            redis.stop();
        }
        http.get(tally.url("/"))
            .header("X-Request-Id", id)
            .send()
            .await
            .expect("sent");
    }
    tally.terminate();
    tally.exit_within(STOP).await;
    let output = tally.output();

    let lines: Vec<serde_json::Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for line in &lines {
        for key in ["time", "level", "target", "message"] {
            assert!(line.get(key).is_some(), "no {key}: {line}");
        }
    }
    let about = |id: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["request_id"] == id).collect()
    };
    let request_line = |id: &str| {
        about(id)
            .into_iter()
            .find(|l| l["target"] == "tally::request")
            .unwrap_or_else(|| panic!("no request line for {id}:\n{output}"))
            .clone()
    };
    let first = request_line("first-view");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/");
    assert_eq!(first["status"], 200);
    assert_eq!(
        (first["visits"].as_i64(), first["access_total"].as_i64()),
        (Some(1), Some(1))
    );
    for key in ["duration_ms", "redis_ms", "postgres_ms"] {
        assert!(first[key].is_number(), "{key}: {first}");
    }
    assert!(
        about("while-redis-is-down")
            .iter()
            .any(|l| l["target"] == "tally::store_health"),
        "the store error met during the request carries its id:\n{output}"
    );
    let degraded = request_line("while-redis-is-down");
    assert!(degraded["visits"].is_null(), "{degraded}");
    assert_eq!(degraded["access_total"], 2);
}

#[tokio::test]
async fn a_tampered_total_is_rebuilt_at_start_up_with_one_warning() {
    let ns = Namespace::create().await;
    let vars = Binary::vars(&ns);
    let mut first = Binary::start(&vars);
    assert!(first.ready(START).await, "{}", first.output());
    for _ in 0..3 {
        fetch_page(&client(), &first.url("/"), "before").await;
    }
    first.terminate();
    first.exit_within(STOP).await;
    ns.postgres()
        .await
        .batch_execute("UPDATE access_totals SET total = 1000")
        .await
        .expect("tamper");

    let second = Binary::start(&vars);
    assert!(second.ready(START).await, "{}", second.output());
    let page = fetch_page(&client(), &second.url("/"), "after").await;
    let output = second.output();

    assert_eq!(page.access_total(), 4, "{output}");
    let warnings: Vec<&str> = output
        .lines()
        .filter(|line| line.contains(" WARN ") && line.contains("access total"))
        .collect();
    assert_eq!(warnings.len(), 1, "{output}");
    assert!(
        warnings[0].contains("1000") && warnings[0].contains('3'),
        "{warnings:?}"
    );
}

/// Every environment variable the binary reads, with its default (`None` when it has
/// none), in the order `--help` lists them.
fn variables() -> Vec<(String, Option<String>)> {
    Settings::command()
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_string_lossy().into_owned();
            let default = arg.get_default_values().first();
            Some((
                env,
                default.map(|value| value.to_string_lossy().into_owned()),
            ))
        })
        .collect()
}
