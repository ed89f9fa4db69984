//! What the logs show (one line per request in lb and web, with one id, no probe
//! lines; the README's sample), and that /metrics is not reachable through the
//! balancer.

use std::collections::HashSet;

use crate::page::get;
use crate::support::{StackTest, parenthesised};

pub async fn one_line_per_request_with_one_id(t: &mut StackTest) {
    t.section("logs: one line per request in each, with one id; no health or readiness lines");
    t.doc_follow("docker compose logs -f web").await;
    let web = t.compose(&["logs", "--no-log-prefix", "web"]).await.output;
    let probes = web
        .lines()
        .filter(|line| line.contains("/healthz") || line.contains("/readyz"))
        .count();
    t.check(
        format!("web's log has no /healthz or /readyz line (found {probes})"),
        probes == 0,
    );
    let lb = t.doc_run("docker compose logs lb").await.output;
    // lb asks each replica's /readyz every second and its container healthcheck
    // asks /lb-health every 2 s, for over a minute by now: none of those may show.
    // The few /readyz and /healthz lines there are this test's own requests.
    let count = |needle: &str| lb.lines().filter(|line| line.contains(needle)).count();
    let (lb_health, lb_readyz) = (count("GET /lb-health"), count("GET /readyz"));
    t.check(
        format!("lb's log has no health check line (/lb-health: {lb_health}, /readyz: {lb_readyz}, this test asked 5)"),
        lb_health == 0 && lb_readyz <= 5,
    );
    let views = lb.lines().filter(|line| is_lb_view_line(line)).count();
    t.check(
        format!("lb's log has a line for each page view, with its id and replica (found {views})"),
        views >= 3,
    );
    let traced = t
        .doc_run(
            r#"id=$(curl -s -o /dev/null -w '%header{x-request-id}' "http://127.0.0.1:${TALLY_PORT:-8000}/") &&
  docker compose logs lb web | grep "$id""#,
        )
        .await
        .output;
    let id = traced
        .split("req=")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_hexdigit)
                .collect::<String>()
        })
        .find(|id| id.len() == 32)
        .unwrap_or_default();
    let in_lines = |service: &str| {
        traced
            .lines()
            .filter(|line| {
                line.starts_with(&format!("{service}-1 "))
                    && line.contains(&format!("{id} GET / 200 "))
            })
            .count()
    };
    t.check(
        format!("one view's id is in exactly one lb line and one web line ({id})"),
        !id.is_empty() && in_lines("lb") == 1 && in_lines("web") == 1,
    );
    // A client's own id is not trusted: the balancer replaces it.
    let url = t.stack.url("/api/stats");
    let (_, given, _) = get(
        &t.http,
        &url,
        Some(("X-Request-Id", "chosen-by-the-client")),
    )
    .await;
    t.check(
        format!("the balancer replaces a client's X-Request-Id (answered {given})"),
        is_request_id(&given),
    );
}

/// `req=ID GET / 200 webN `: a page view as lb logs it, with its id and replica.
fn is_lb_view_line(line: &str) -> bool {
    line.split("req=").skip(1).any(|rest| {
        rest.get(..32).is_some_and(is_request_id)
            && rest[32..]
                .strip_prefix(" GET / 200 web")
                .is_some_and(|rest| {
                    let digits = rest.chars().take_while(char::is_ascii_digit).count();
                    digits > 0 && rest[digits..].starts_with(' ')
                })
    })
}

/// 32 lower-case hex digits.
fn is_request_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub async fn metrics_are_not_reachable_through_the_balancer(t: &mut StackTest) {
    t.section("metrics: not through the balancer, however spelled");
    for path in [
        "/metrics",
        "/metrics/",
        "//metrics",
        "/%6detrics",
        "/METRICS",
        "/metrics?x=1",
    ] {
        let (code, id, _) = get(&t.http, &t.stack.url(path), None).await;
        t.check(
            format!("GET {path} through lb: 404, with a request id (got {code} {id})"),
            code == 404 && is_request_id(&id),
        );
    }
    let lb = t.first_running("lb").await;
    let asked = t
        .docker(&[
            "exec",
            &lb,
            "bash",
            "-c",
            r#"exec 3<>/dev/tcp/web/8000 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && grep -q ^tally_views_total <&3"#,
        ])
        .await;
    t.check(
        "web still serves /metrics on the private network (asked from inside lb)",
        asked.ok(),
    );
}

pub async fn the_readmes_three_reloads_are_what_web_logs(t: &mut StackTest) {
    t.section("the README's three reloads, as docker compose logs web shows them");
    for _ in 0..3 {
        t.fetch("/").await;
    }
    let written = t.compose(&["logs", "--no-color", "web"]).await.output;
    let shapes: HashSet<String> = written.lines().map(shape).collect();
    let readme = std::fs::read_to_string(t.stack.work.join("README.md")).unwrap_or_default();
    let block = three_reloads(&readme);
    let sample: Vec<&str> = block
        .lines()
        .skip(2)
        .filter(|line| *line != "```")
        .collect();
    let missing: Vec<&str> = sample
        .iter()
        .filter(|line| !shapes.contains(&shape(line)))
        .copied()
        .collect();
    let views = sample
        .iter()
        .filter(|line| line.contains("GET / 200"))
        .count();
    t.check(
        format!(
            "README's log sample has lines (got {})",
            sample.iter().filter(|line| !line.is_empty()).count()
        ),
        views == 3,
    );
    t.check(
        format!(
            "every line of README's sample is a line Tally writes here{}",
            parenthesised("not written: ", &missing.join("\n"))
        ),
        missing.is_empty(),
    );
    let portuguese =
        std::fs::read_to_string(t.stack.work.join("README.pt-BR.md")).unwrap_or_default();
    t.check(
        "README.pt-BR.md shows the same log",
        three_reloads(&portuguese) == block,
    );
}

/// From the `<!-- doc: three-reloads -->` line to the block's closing fence.
fn three_reloads(readme: &str) -> String {
    let mut lines = readme
        .lines()
        .skip_while(|line| !line.contains("<!-- doc: three-reloads -->"));
    let mut block: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
    if !block.is_empty() {
        block.push("```");
    }
    block.join("\n")
}

/// A line's shape: what changes from run to run (times, ids, numbers, host names)
/// taken out.
fn shape(line: &str) -> String {
    let mut line = line.to_owned();
    if let Some(at) = line.find("req=")
        && line[at + 4..].get(..32).is_some_and(is_request_id)
    {
        line.replace_range(at + 4..at + 36, "ID");
    }
    if let Some((head, host)) = line.rsplit_once(" as ")
        && host.len() == 12
        && host
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        line = format!("{head} as HOST");
    }
    let mut shaped = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            shaped.push(c);
            continue;
        }
        shaped.push('#');
        while chars.peek().is_some_and(char::is_ascii_digit) {
            chars.next();
        }
        let mut rest = chars.clone();
        if rest.next() == Some('.') && rest.peek().is_some_and(char::is_ascii_digit) {
            chars.next();
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        }
    }
    shaped
}

#[test]
fn a_shape_keeps_the_words_and_drops_ids_hosts_and_numbers() {
    assert_eq!(
        shape(
            "web-2  | [2026-11-23T21:51:12Z INFO  tally::request] req=ea94156c9a7243828e43edb6e1a9b3b1 GET / 200 8.8ms view"
        ),
        "web-#  | [#-#-#T#:#:#Z INFO  tally::request] req=ID GET / # #ms view"
    );
    assert_eq!(
        shape("listening on http://0.0.0.0:8000 as 3ac2a8426f35"),
        "listening on http://#.#:# as HOST"
    );
}
