//! An operator's bad day: the access total's row deleted or changed, the column's
//! type changed, the writer's backend terminated, a lock held on the totals row,
//! Redis restarted. Each is survived without a restart, and views shown as failed
//! leave no rows.

use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::helpers::{Namespace, RedisServer, TestApp};

/// Runs `sql` on the app's database, from a connection of the test's own.
async fn operator(app: &TestApp, sql: &str) {
    app.ns
        .postgres()
        .await
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// How many server backends serve this app (its `application_name`s end with its name).
async fn backends(app: &TestApp, role: &str) -> i64 {
    app.ns
        .postgres()
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&format!("{role} {}", app.instance)],
        )
        .await
        .expect("count backends")
        .get(0)
}

#[tokio::test]
async fn the_writer_reconnects_at_once_after_its_backend_is_terminated() {
    let app = TestApp::spawn().await;
    assert_eq!(app.view().await.access_total(), 1);

    for expected in 2..=3 {
        let terminated: bool = app
            .ns
            .postgres()
            .await
            .query_one(
                "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                &[&format!("tally-writer {}", app.instance)],
            )
            .await
            .expect("terminate")
            .get(0);
        assert!(terminated, "the writer had a backend to terminate");
        sleep(Duration::from_millis(100)).await;

        let started = Instant::now();
        let page = app.view().await;
        let took = started.elapsed();

        assert_eq!(page.access_total(), expected, "{page:?}");
        assert!(
            took < Duration::from_millis(500),
            "the view waited {took:?}"
        );
    }
}

#[tokio::test]
async fn a_held_lock_fails_views_on_time_without_rows_later_or_a_pile_of_backends() {
    let app = TestApp::spawn_in(
        Namespace::create().await,
        &[("PG_POOL_SIZE", "2".to_owned())],
    )
    .await;
    assert_eq!(app.view().await.access_total(), 1);
    let holder = app.ns.postgres().await;
    holder
        .batch_execute("BEGIN; SELECT * FROM access_totals FOR UPDATE")
        .await
        .expect("lock the totals row");

    let held = Instant::now();
    let mut peak = 0;
    let mut failed = Vec::new();
    let mut n = 0;
    while held.elapsed() < Duration::from_secs(6) {
        let agent = format!("while-locked-{n}");
        n += 1;
        let view = tokio::spawn({
            let (client, url) = (app.client.clone(), app.url("/"));
            let agent = agent.clone();
            async move { crate::helpers::fetch_page(&client, &url, &agent).await }
        });
        while !view.is_finished() {
            peak = peak.max(backends(&app, "tally-writer").await + backends(&app, "tally").await);
            sleep(Duration::from_millis(100)).await;
        }
        let page = view.await.expect("view");
        assert_eq!(page.status, 200);
        assert_eq!(page.access_total, "unavailable", "{page:?}");
        let state = crate::helpers::element_text(&page.body, "access-total-state");
        assert!(state.contains("timed out"), "the page says why: {state:?}");
        failed.push(agent);
    }
    holder.batch_execute("COMMIT").await.expect("release");
    sleep(Duration::from_millis(500)).await;
    let after = app.view().await;
    let rows = app.ns.rows_per_agent().await;

    for agent in &failed {
        assert_eq!(
            rows.get(agent),
            None,
            "{agent} was shown as failed but has a row"
        );
    }
    assert_eq!(after.access_total(), 2, "{after:?}");
    assert_eq!(app.ns.log_rows().await, 2);
    // The pool's 2 readers and the writer's 1, plus one cancelled backend on its way out.
    assert!(peak <= 4, "{peak} backends at once for a pool of 2 + 1");
}

#[tokio::test]
async fn a_deleted_totals_row_is_rebuilt_from_the_log_and_no_view_fails_for_it() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.view().await;
    }
    assert_eq!(app.stats_total().await, 3);

    operator(&app, "DELETE FROM access_totals").await;
    let page = app.view().await;

    assert_eq!(page.access_total(), 4, "{page:?}");
    assert_eq!(app.ns.log_rows().await, 4);
    assert_eq!(app.ns.stored_total().await, 4);
    assert_eq!(app.stats_total().await, 4);
}

#[tokio::test]
async fn a_deleted_totals_row_is_rebuilt_for_the_stats_too() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        app.view().await;
    }
    operator(&app, "DELETE FROM access_totals").await;
    sleep(crate::helpers::cache_ttl()).await;

    let stats = app.stats().await;

    assert_eq!(stats.body["access_total"], 2, "{stats:?}");
    assert_eq!(stats.body["postgres"], "up");
    assert_eq!(app.ns.stored_total().await, 2);
}

#[tokio::test]
async fn a_wrong_total_is_rebuilt_when_tally_starts() {
    let ns = Namespace::create().await;
    let before = TestApp::spawn_in(ns.clone(), &[]).await;
    for _ in 0..3 {
        before.view().await;
    }
    before.stopped().await.expect("stopped");
    operator_on(&ns, "UPDATE access_totals SET total = 1000").await;

    let after = TestApp::spawn_in(ns.clone(), &[]).await;

    assert_eq!(after.stats_total().await, 3);
    assert_eq!(after.view().await.access_total(), 4);
}

async fn operator_on(ns: &Namespace, sql: &str) {
    ns.postgres().await.batch_execute(sql).await.expect(sql);
}

#[tokio::test]
async fn a_changed_column_type_fails_views_cleanly_until_it_is_changed_back() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        app.view().await;
    }

    operator(
        &app,
        "ALTER TABLE access_totals ALTER COLUMN total TYPE integer",
    )
    .await;
    // The first fails on the server (its prepared statement changed shape); the
    // second, on a fresh connection, gets an answer Tally cannot read.
    let broken = [
        app.view_as("while-broken").await,
        app.view_as("while-broken").await,
    ];
    operator(
        &app,
        "ALTER TABLE access_totals ALTER COLUMN total TYPE bigint",
    )
    .await;
    let mended = app.view().await;

    for (n, page) in broken.iter().enumerate() {
        assert_eq!(page.status, 200);
        assert_eq!(page.visits(), 3 + n as i64, "Redis still counts");
        assert_eq!(page.access_total, "unavailable");
        assert!(
            page.body.contains("PostgreSQL answered with an error"),
            "the page says what happened, not that PostgreSQL is down"
        );
        assert!(!page.body.contains("PostgreSQL is down"));
    }
    assert_eq!(app.ns.rows_per_agent().await.get("while-broken"), None);
    assert_eq!(
        mended.access_total(),
        3,
        "the writer works again, unrestarted"
    );
}

#[tokio::test]
async fn the_first_view_after_a_redis_restart_is_counted() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    assert_eq!(app.view().await.visits(), 1);

    for _ in 0..3 {
        redis.stop();
        redis.start_again().await;

        let page = app.view().await;

        assert_eq!(page.visits, "1", "a fresh Redis counts from 1: {page:?}");
    }
}
