//! The stack's life: down and up (the log survives), web started alone, a restart
//! within the grace period, `down -v`, looking inside both stores, starting over.

use std::time::{Duration, Instant};

use crate::outages::one_more;
use crate::page::is_number;
use crate::support::{StackTest, lines, seconds_since, sorted, wait_until};

pub async fn the_access_log_survives_down_and_up(t: &mut StackTest) {
    t.section("down, then up: the access log survives");
    let before = t.view().await.access;
    t.doc_run("docker compose down").await;
    let left = t.all_ids(None).await.len();
    t.check("no container left", left == 0);
    let started = Instant::now();
    t.doc_run("docker compose up -d --wait").await;
    t.measured(format!(
        "up -> healthy (existing volume): {} s",
        seconds_since(started)
    ));
    let view = t.view().await;
    t.check(
        format!("the access total carries on ({before} -> {})", view.access),
        one_more(&before, &view.access),
    );
    t.check(
        format!("the counter starts again at 1 (got {})", view.visits),
        view.visits == "1",
    );
}

pub async fn web_started_alone_brings_up_its_stores_first(t: &mut StackTest) {
    t.section("depends_on: web started alone brings up its stores first");
    t.doc_run("docker compose down").await;
    t.doc_run("docker compose up -d --wait web").await;
    t.doc_run("docker compose ps").await;
    let stores = t.count_healthy("cache").await == 1 && t.count_healthy("db").await == 1;
    t.check("cache and db running and healthy", stores);
    let one = t.web_replicas_are(1).await;
    t.check("one web replica, running and healthy", one);
    let lb = t.all_ids(Some("lb")).await.len();
    t.check("lb was not started", lb == 0);
    let web = t.first_running("web").await;
    let web_started = started_at(t, &web).await;
    for service in ["cache", "db"] {
        // A store is healthy at its first check, an interval (1 s) after it started.
        let store = t.first_running(service).await;
        let gap = web_started - started_at(t, &store).await;
        t.check(
            format!("web started after {service} was healthy, {gap:.1} s after {service} started"),
            gap >= 0.9,
        );
    }
    t.doc_run("docker compose up -d --wait").await;
    let up = t.stack_is_up().await && t.web_replicas_are(1).await;
    t.check("the whole stack is up again", up);
}

/// When the container last started, in seconds since the epoch (NaN if unknown).
async fn started_at(t: &StackTest, id: &str) -> f64 {
    let started = t.inspect(&[id.to_owned()], "{{.State.StartedAt}}").await;
    let date = t.stack.command("date", &["-d", &started, "+%s.%N"]);
    t.stack.stdout(date).await.parse().unwrap_or(f64::NAN)
}

pub async fn web_stops_long_before_its_grace_period(t: &mut StackTest) {
    t.section("stop_grace_period: web stops by itself long before it");
    let started = Instant::now();
    t.doc_run("docker compose restart web").await;
    let seconds = seconds_since(started);
    t.check(
        format!("web restarted in {seconds} s, well inside its 15 s"),
        started.elapsed() < Duration::from_secs(10),
    );
    let log = t
        .doc_run("docker compose logs web | grep -E 'SIGTERM|draining|closing|stopped'")
        .await
        .output;
    t.check(
        "the log shows SIGTERM, draining, closing, stopped",
        ["SIGTERM", "draining", "closing", "] stopped"]
            .iter()
            .all(|word| log.contains(word)),
    );
    let again = wait_until(t, Duration::from_secs(15), async |t| {
        t.counting_again().await && t.logging_again().await
    })
    .await;
    t.check("the page counts again within 15 s", again);
}

pub async fn down_v_removes_the_access_log(t: &mut StackTest) {
    t.section("down -v: the access log is gone");
    t.doc_run("docker compose down -v").await;
    let volumes = t.project_objects("volume").await;
    t.check("the database volume is removed", volumes.is_empty());
    t.doc_run("docker compose up -d --wait").await;
    let view = t.view().await;
    t.check(
        format!("the access total starts again at 1 (got {})", view.access),
        view.access == "1",
    );
}

pub async fn look_inside_both_stores(t: &mut StackTest) {
    t.section("look inside: the counter in Redis, the access log in PostgreSQL");
    let mut view = t.view().await;
    for _ in 1..5 {
        view = t.view().await;
    }
    t.check(
        format!(
            "page 200 with both numbers (got {}, visits {}, access {})",
            view.code, view.visits, view.access
        ),
        view.counts(),
    );
    let keys = sorted(lines(
        &t.doc_run("docker compose exec cache redis-cli --scan")
            .await
            .output,
    ));
    let redis_epoch = keys
        .iter()
        .find_map(|key| key.strip_prefix("tally:access_total:"))
        .unwrap_or_default()
        .to_owned();
    t.check(
        format!(
            "Redis holds tally:visits and one cached access total ({})",
            keys.join(" ")
        ),
        keys.len() == 2 && keys.iter().any(|key| key == "tally:visits") && !redis_epoch.is_empty(),
    );
    let redis_visits = t
        .doc_run("docker compose exec cache redis-cli GET tally:visits")
        .await
        .output
        .replace('"', "");
    let redis_visits = redis_visits.trim();
    t.check(
        format!(
            "redis-cli GET prints the page's visits ({}, got {redis_visits})",
            view.visits
        ),
        redis_visits == view.visits,
    );
    let last_rows = t
        .doc_run("docker compose exec db psql -U tally -d tally -c 'SELECT id, accessed_at, path FROM access_log ORDER BY id DESC LIMIT 5'")
        .await
        .output;
    let newest = psql_row(&last_rows, 1);
    let newest_id = newest.first().cloned().unwrap_or_default();
    t.check(
        format!(
            "psql shows the last 5 rows, the newest numbered as the page's access total ({}, got {newest_id})",
            view.access
        ),
        last_rows.contains("(5 rows)")
            && newest_id == view.access
            && newest.last().is_some_and(|path| path == "/"),
    );
    let totals = t
        .doc_run("docker compose exec db psql -U tally -d tally -c 'SELECT total, (SELECT count(*) FROM access_log) AS rows, epoch FROM access_totals'")
        .await
        .output;
    let row = psql_row(&totals, 1);
    let cell = |n: usize| row.get(n).cloned().unwrap_or_else(|| "?".to_owned());
    let (total, rows, epoch) = (cell(0), cell(1), cell(2));
    t.check(
        format!(
            "psql's total, count(*) and the page's access total agree (got {total}, {rows}, {})",
            view.access
        ),
        total == view.access && rows == view.access && is_number(&total),
    );
    t.check(
        format!("the epoch in PostgreSQL is the one in the Redis key ({epoch})"),
        epoch != "?" && !epoch.is_empty() && epoch == redis_epoch,
    );
}

/// Row `n` (from 1) of the table psql printed, its cells trimmed.
fn psql_row(output: &str, n: usize) -> Vec<String> {
    output
        .lines()
        .skip_while(|line| !is_psql_rule(line))
        .skip(1)
        .take_while(|line| !line.starts_with('('))
        .nth(n - 1)
        .map(|line| line.split('|').map(|cell| cell.trim().to_owned()).collect())
        .unwrap_or_default()
}

/// The `----+----` line under psql's header.
fn is_psql_rule(line: &str) -> bool {
    !line.is_empty()
        && line
            .split('+')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b == b'-'))
}

pub async fn start_over_in_one_line(t: &mut StackTest) {
    t.section("start over in one line");
    t.doc_run("docker compose down -v && docker compose up --build -d --wait")
        .await;
    let one = t.web_replicas_are(1).await;
    t.check("one web replica, running and healthy", one);
    t.first_view_counts_one("page 200, visits 1, access total 1")
        .await;
}

#[test]
fn a_psql_row_is_read_under_the_rule() {
    let output = " id | path\n----+------\n  7 | /\n  6 | /x\n(2 rows)\n";
    assert_eq!(psql_row(output, 1), ["7", "/"]);
    assert_eq!(psql_row(output, 2), ["6", "/x"]);
    assert!(psql_row(output, 3).is_empty());
}
