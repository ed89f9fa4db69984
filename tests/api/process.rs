//! The `tally` binary as an operator meets it: settings, start-up, logs, shutdown.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::helpers::{
    Namespace, RedisServer, client, database_url, eventually, free_port, redis_url,
};

/// The binary with a clean environment, run where no `.env` lies.
fn tally(vars: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
    command
        .env_clear()
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

/// Everything the process wrote, once it has exited.
fn output_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut text);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// Waits up to `limit` for the process to exit.
async fn exit_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        sleep(Duration::from_millis(20)).await;
    }
    None
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Settings for a binary that will find both stores, in `ns`.
fn working_vars(ns: &Namespace, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", ns.database_url_via(&database_url())),
        ("REDIS_URL", redis_url()),
        ("REDIS_KEY_PREFIX", ns.prefix.clone()),
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", port.to_string()),
    ]
}

async fn ready(port: u16, limit: Duration) -> bool {
    let http = client();
    let url = format!("http://127.0.0.1:{port}/readyz");
    eventually(limit, async || {
        http.get(&url).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await
    .is_some()
}

#[tokio::test]
async fn a_bad_setting_ends_the_process_at_once_with_one_line_naming_it() {
    let cases = [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("DATABASE_URL", "nonsense"),
        ("REDIS_URL", "nonsense"),
        ("STORE_TIMEOUT_MS", "soon"),
        ("STARTUP_BUDGET_SECS", "-1"),
    ];
    for (var, value) in cases {
        let started = Instant::now();
        let mut child = tally(&[(var, value.to_owned())])
            .spawn()
            .expect("tally starts");
        let status = exit_within(&mut child, Duration::from_secs(1)).await;
        let output = output_of(&mut child);

        let status = status
            .unwrap_or_else(|| panic!("{var}={value} still running after {:?}", started.elapsed()));
        assert_eq!(status.code(), Some(2), "{var}={value}: {output}");
        assert_eq!(output.lines().count(), 1, "{var}={value}: {output}");
        assert!(output.contains(var), "{var}={value}: {output}");
        assert!(!output.contains("panicked"), "{output}");
    }
}

#[tokio::test]
async fn start_up_waits_for_a_late_store_and_logs_each_try() {
    let ns = Namespace::create().await;
    let port = free_port();
    let mut redis = RedisServer::on_port(free_port(), None);
    let mut vars = working_vars(&ns, port);
    vars.push(("REDIS_URL", redis.url()));
    let mut child = tally(&vars).spawn().expect("tally starts");

    sleep(Duration::from_millis(1500)).await;
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "gave up too early"
    );
    redis.start_again().await;

    assert!(
        ready(port, Duration::from_secs(10)).await,
        "never became ready"
    );
    terminate(&child);
    let status = exit_within(&mut child, Duration::from_secs(10)).await;
    let output = output_of(&mut child);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{output}");
    let tries = format!("redis not ready at 127.0.0.1:{} (attempt", redis.port);
    let warns = output
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains(&tries))
        .count();
    assert!(warns >= 2, "one WARN per failed try expected:\n{output}");
    assert!(
        output.contains(&format!("listening on http://127.0.0.1:{port}")),
        "{output}"
    );
    assert!(output.contains("stopped"), "{output}");
}

#[tokio::test]
async fn start_up_gives_up_on_a_store_that_never_comes() {
    let ns = Namespace::create().await;
    let dead = free_port();
    let mut vars = working_vars(&ns, free_port());
    vars.push(("REDIS_URL", format!("redis://127.0.0.1:{dead}")));
    vars.push(("STARTUP_BUDGET_SECS", "2".to_owned()));
    let mut child = tally(&vars).spawn().expect("tally starts");

    let status = exit_within(&mut child, Duration::from_secs(8)).await;
    let output = output_of(&mut child);

    let status = status.expect("still running long after its budget");
    assert!(!status.success(), "{output}");
    let last = output.lines().last().unwrap_or_default();
    assert!(
        last.contains("redis") && last.contains(&format!("127.0.0.1:{dead}")),
        "{output}"
    );
}

#[tokio::test]
async fn a_database_that_does_not_exist_is_not_retried() {
    let mut child = tally(&[
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/no_such_tally_db".to_owned(),
        ),
        ("REDIS_URL", redis_url()),
        ("PORT", free_port().to_string()),
    ])
    .spawn()
    .expect("tally starts");

    let status = exit_within(&mut child, Duration::from_secs(5)).await;
    let output = output_of(&mut child);

    assert!(status.is_some_and(|s| !s.success()), "{output}");
    assert!(output.contains("does not exist"), "{output}");
}

#[tokio::test]
async fn sigterm_lets_a_request_finish_and_exits_zero() {
    let ns = Namespace::create().await;
    let port = free_port();
    let mut child = tally(&working_vars(&ns, port))
        .spawn()
        .expect("tally starts");
    assert!(
        ready(port, Duration::from_secs(10)).await,
        "never became ready"
    );
    let http = client();
    let page = http
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);

    terminate(&child);
    let status = exit_within(&mut child, Duration::from_secs(10)).await;
    let output = output_of(&mut child);

    assert_eq!(status.and_then(|s| s.code()), Some(0), "{output}");
    let request_line = output
        .lines()
        .find(|line| line.contains("\"GET / HTTP/1.1\" 200"))
        .unwrap_or_else(|| panic!("no request line:\n{output}"));
    assert!(
        request_line.contains("ms"),
        "the request line has a duration: {request_line}"
    );
}

#[tokio::test]
async fn no_password_reaches_the_logs_at_any_level() {
    let ns = Namespace::create().await;
    let redis = RedisServer::on_port(free_port(), Some("redis-pass-s3cret"));
    let mut redis = redis;
    redis.start_again().await;
    let port = free_port();
    let pg_url = ns.database_url_via(&database_url().replacen(
        "postgres://postgres@",
        "postgres://postgres:pg-pass-s3cret@",
        1,
    ));
    let mut vars = working_vars(&ns, port);
    vars.push(("DATABASE_URL", pg_url));
    vars.push(("REDIS_URL", redis.url()));
    vars.push(("RUST_LOG", "trace".to_owned()));
    let mut child = tally(&vars).spawn().expect("tally starts");
    assert!(
        ready(port, Duration::from_secs(10)).await,
        "never became ready"
    );
    let http = client();
    for path in ["/", "/api/stats", "/db", "/cache", "/nope"] {
        http.get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .expect("sent");
    }
    redis.stop();
    http.get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .expect("sent");

    terminate(&child);
    exit_within(&mut child, Duration::from_secs(10)).await;
    let output = output_of(&mut child);

    assert!(output.contains("listening on"), "{output}");
    assert!(!output.contains("s3cret"), "a password reached the logs");
}

#[tokio::test]
async fn a_store_going_down_and_back_is_logged_once_each_way() {
    let ns = Namespace::create().await;
    let mut redis = RedisServer::start().await;
    let port = free_port();
    let mut vars = working_vars(&ns, port);
    vars.push(("REDIS_URL", redis.url()));
    let mut child = tally(&vars).spawn().expect("tally starts");
    assert!(
        ready(port, Duration::from_secs(10)).await,
        "never became ready"
    );
    let http = client();
    let page = format!("http://127.0.0.1:{port}/");

    http.get(&page).send().await.expect("sent");
    redis.stop();
    for _ in 0..5 {
        http.get(&page).send().await.expect("sent");
    }
    redis.start_again().await;
    let back = eventually(Duration::from_secs(5), async || {
        let shown = crate::helpers::fetch_page(&http, &page, "tally-tests").await;
        shown.visits.parse::<i64>().is_ok()
    })
    .await;
    assert!(back.is_some(), "redis not used again");
    terminate(&child);
    exit_within(&mut child, Duration::from_secs(10)).await;
    let output = output_of(&mut child);

    let went = output
        .matches("redis: pages show it as unavailable")
        .count();
    let returned = output.matches("redis: page views use it again").count();
    assert_eq!((went, returned), (1, 1), "{output}");
}

#[tokio::test]
async fn a_wrong_redis_password_is_not_retried() {
    let ns = Namespace::create().await;
    let mut redis = RedisServer::on_port(free_port(), Some("the-right-one"));
    redis.start_again().await;
    let mut vars = working_vars(&ns, free_port());
    vars.push((
        "REDIS_URL",
        format!("redis://:wrong-one@127.0.0.1:{}", redis.port),
    ));
    let mut child = tally(&vars).spawn().expect("tally starts");

    let status = exit_within(&mut child, Duration::from_secs(5)).await;
    let output = output_of(&mut child);

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
