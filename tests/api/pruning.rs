//! Pruning: old rows leave the log in batches and the access total never changes,
//! whether the prune runs alone, beside views, twice at once, or is killed halfway
//! and run again.

use std::time::Duration;

use tally::stores::postgres::Postgres;
use tokio::time::sleep;

use crate::helpers::{Binary, Namespace, TestApp, client, fetch_page};

const OLD: &str = "100 days";

/// Logs `count` views made `OLD` ago, as the writer would have: rows and total together.
async fn log_old_views(ns: &Namespace, count: i64) {
    ns.postgres()
        .await
        .batch_execute(&format!(
            "BEGIN;
             INSERT INTO access_log (path, user_agent, accessed_at)
             SELECT '/', 'an old browser', now() - interval '{OLD}' + g * interval '1 ms'
             FROM generate_series(1, {count}) AS g;
             UPDATE access_totals SET total = total + {count};
             COMMIT"
        ))
        .await
        .expect("old views logged");
}

/// `tally prune ARGS` in `ns`, started.
fn prune(ns: &Namespace, args: &[&str]) -> Binary {
    let mut all = vec!["prune"];
    all.extend(args);
    Binary::start_with(&all, &Binary::vars(ns))
}

/// Runs `tally prune ARGS` in `ns` to its end; answers its output, after checking it
/// exited 0.
async fn prune_to_the_end(ns: &Namespace, args: &[&str]) -> String {
    let mut prune = prune(ns, args);
    let status = prune.exit_within(Duration::from_secs(60)).await;
    let output = prune.output();
    assert!(
        status.is_some_and(|s| s.success()),
        "prune failed: {output}"
    );
    output
}

async fn old_rows(ns: &Namespace) -> i64 {
    ns.number("SELECT count(*) FROM access_log WHERE accessed_at < now() - interval '90 days'")
        .await
}

/// The totals row's total and pruned count, and the rows in the log.
async fn books(ns: &Namespace) -> (i64, i64, i64) {
    let row = ns
        .postgres()
        .await
        .query_one(
            "SELECT total, (SELECT rows FROM access_log_pruned), (SELECT count(*) FROM access_log)
             FROM access_totals",
            &[],
        )
        .await
        .expect("the books");
    (row.get(0), row.get(1), row.get(2))
}

/// Whether start-up's repair would find the total agreeing with the log.
async fn repair_finds_nothing(ns: &Namespace) -> bool {
    let settings = TestApp::settings(ns, "repair", &[]);
    let recount = Postgres::new(&settings).recount_total().await;
    recount.expect("the recount runs").is_none()
}

#[tokio::test]
async fn pruning_old_rows_keeps_the_total_and_the_page_goes_on() {
    let app = TestApp::spawn().await;
    log_old_views(&app.ns, 2_100).await;
    for _ in 0..3 {
        assert!(app.view().await.both());
    }

    let dry = prune_to_the_end(&app.ns, &["--older-than", "90d", "--dry-run"]).await;
    assert!(dry.contains("dry run: 2100 rows"), "{dry}");
    assert_eq!(
        books(&app.ns).await,
        (2_103, 0, 2_103),
        "a dry run changes nothing"
    );

    let output = prune_to_the_end(&app.ns, &["--older-than", "90d"]).await;
    for said in [
        "batch 1: 200 rows",
        "batch 11: 100 rows",
        "done: 2100 rows",
        "access total is 2103",
    ] {
        assert!(output.contains(said), "the prune says {said:?}: {output}");
    }
    assert_eq!(books(&app.ns).await, (2_103, 2_100, 3));
    assert!(repair_finds_nothing(&app.ns).await);

    let page = app.view_as("after the prune").await;
    assert_eq!(
        page.access_total(),
        2_104,
        "the total goes on from where it was"
    );
    assert!(
        page.body.contains("after the prune"),
        "the newest accesses are listed"
    );
    assert_eq!(app.stats_total().await, 2_104);
}

#[tokio::test]
async fn a_prune_killed_halfway_and_run_again_loses_and_doubles_nothing_beside_views() {
    let app = TestApp::spawn().await;
    log_old_views(&app.ns, 60_000).await;
    let url = app.url("/");
    let viewer = tokio::spawn(async move {
        let (http, mut shown) = (client(), Vec::new());
        for i in 0.. {
            let page = fetch_page(&http, &url, &format!("viewer {i}")).await;
            if page.both() {
                shown.push(page.access_total());
            }
            if i >= 300 {
                break;
            }
            sleep(Duration::from_millis(10)).await;
        }
        shown
    });

    let mut first = prune(&app.ns, &["--older-than", "90d"]);
    let started = tokio::time::Instant::now();
    while !first.output().contains("batch 2:") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            first.output()
        );
        sleep(Duration::from_millis(5)).await;
    }
    first.signal("KILL");
    first
        .exit_within(Duration::from_secs(5))
        .await
        .expect("killed");
    let left = old_rows(&app.ns).await;
    assert!(
        0 < left && left < 60_000,
        "killed halfway: {left} old rows left"
    );
    let (total, pruned, rows) = books(&app.ns).await;
    assert_eq!(total, rows + pruned, "whole batches pruned, the total kept");

    prune_to_the_end(&app.ns, &["--older-than", "90d"]).await;
    let shown = viewer.await.expect("the viewer");
    assert_eq!(old_rows(&app.ns).await, 0);
    let (total, pruned, rows) = books(&app.ns).await;
    assert_eq!(pruned, 60_000, "every old row pruned once");
    assert_eq!(
        total,
        60_000 + shown.len() as i64,
        "every view answered counted once"
    );
    assert_eq!(rows, shown.len() as i64);
    let mut sorted = shown.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), shown.len(), "no total shown twice");
    assert!(repair_finds_nothing(&app.ns).await);
}

#[tokio::test]
async fn a_bad_age_is_refused_in_one_line_and_changes_nothing() {
    let app = TestApp::spawn().await;
    log_old_views(&app.ns, 10).await;
    for age in ["soon", "0d", "-5d", "90"] {
        let mut prune = prune(&app.ns, &[&format!("--older-than={age}")]);
        let status = prune.exit_within(Duration::from_secs(2)).await;
        let output = prune.output();
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{age}: {output}");
        assert_eq!(output.lines().count(), 1, "{age}: {output}");
        assert!(
            output.contains("is not an age such as 90d"),
            "{age}: {output}"
        );
    }
    assert_eq!(books(&app.ns).await, (10, 0, 10));
}

#[tokio::test]
async fn two_prunes_at_once_take_different_rows() {
    let app = TestApp::spawn().await;
    log_old_views(&app.ns, 30_000).await;
    let (a, b) = tokio::join!(
        prune_to_the_end(&app.ns, &["--older-than", "90d"]),
        prune_to_the_end(&app.ns, &["--older-than", "90d"]),
    );
    let done = |output: &str| -> i64 {
        let rest = output.split("done: ").nth(1).expect("a done line");
        rest.split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a count")
    };
    assert_eq!(done(&a) + done(&b), 30_000, "{a}\n{b}");
    assert_eq!(books(&app.ns).await, (30_000, 30_000, 0));
}

#[tokio::test]
async fn an_operators_own_delete_keeps_the_total_too() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.view().await;
    }
    let operator = app.ns.postgres().await;
    operator
        .batch_execute(
            "DELETE FROM access_log WHERE id IN (SELECT id FROM access_log ORDER BY id LIMIT 2)",
        )
        .await
        .expect("the operator's delete");
    assert_eq!(books(&app.ns).await, (5, 2, 3));
    assert!(repair_finds_nothing(&app.ns).await);
    assert_eq!(app.view().await.access_total(), 6);
}

#[tokio::test]
async fn the_scheduled_prune_runs_in_one_instance_at_a_time() {
    let ns = Namespace::create().await;
    let first = Binary::start(&Binary::vars(&ns));
    assert!(
        first.ready(Duration::from_secs(10)).await,
        "{}",
        first.output()
    );
    log_old_views(&ns, 100).await;
    // Another instance's prune, as far as the lock can tell.
    let other = ns.postgres().await;
    other
        .batch_execute(
            "SELECT pg_advisory_lock(hashtext('tally.prune.' || current_schema())::bigint)",
        )
        .await
        .expect("the lock");

    let mut vars = Binary::vars(&ns);
    vars.push(("PRUNE_OLDER_THAN", "90d".to_owned()));
    let held = Binary::start(&vars);
    assert!(
        held.ready(Duration::from_secs(10)).await,
        "{}",
        held.output()
    );
    let waited = crate::helpers::eventually(Duration::from_secs(5), async || {
        held.output().contains("another instance is pruning")
    })
    .await;
    assert!(waited.is_some(), "{}", held.output());
    assert_eq!(
        old_rows(&ns).await,
        100,
        "nothing pruned while another prune runs"
    );

    drop(other);
    let mut vars = Binary::vars(&ns);
    vars.push(("PRUNE_OLDER_THAN", "90d".to_owned()));
    let alone = Binary::start(&vars);
    let pruned = crate::helpers::eventually(Duration::from_secs(10), async || {
        alone.output().contains("done: 100 rows")
    })
    .await;
    assert!(pruned.is_some(), "{}", alone.output());
    assert_eq!(books(&ns).await, (100, 100, 0));
}
