//! `/api/stats` and the cached access total: read cache-aside, never ahead of the
//! database it counts, never behind what the same instance showed, and behind
//! other instances' views by at most 2 seconds.

use std::time::Duration;

use tally::access_total::cache::TTL as CACHE_TTL;
use tally::stores::redis::Redis;
use tokio::time::Instant;

use crate::helpers::{Mode, Namespace, Proxy, RedisServer, TestApp, eventually, redis_connection};

#[tokio::test]
async fn stats_report_both_numbers_both_stores_and_the_instance() {
    let app = TestApp::spawn().await;
    app.view().await;
    app.view().await;

    let stats = app.stats().await;

    assert_eq!(
        stats.body,
        serde_json::json!({
            "visits": 2, "access_total": 2, "redis": "up", "postgres": "up",
            "served_by": app.instance,
        })
    );
}

#[tokio::test]
async fn a_miss_reads_postgres_and_fills_the_cache() {
    let app = TestApp::spawn().await;

    let first = app.stats().await;
    let second = app.stats().await;

    assert_eq!(first.cache, "miss");
    assert_eq!(first.body["access_total"], 0);
    assert_eq!(second.cache, "hit");
    assert_eq!(second.body["access_total"], 0);
}

#[tokio::test]
async fn the_cached_total_is_never_behind_a_committed_view() {
    let app = TestApp::spawn().await;
    app.stats().await;
    for expected in 1..=5 {
        let page = app.view().await;
        assert_eq!(page.access_total(), expected);

        let stats = app.stats().await;

        assert_eq!(stats.cache, "hit");
        assert_eq!(stats.body["access_total"], expected);
    }
}

#[tokio::test]
async fn stats_count_nothing() {
    let app = TestApp::spawn().await;
    app.view().await;
    for _ in 0..3 {
        app.stats().await;
    }
    assert_eq!(app.stats().await.body["visits"], 1);
    assert_eq!(app.ns.log_rows().await, 1);
}

#[tokio::test]
async fn the_cached_total_expires_within_its_time_to_live() {
    let app = TestApp::spawn().await;
    app.view().await;
    assert_eq!(app.stats().await.cache, "hit");

    tokio::time::sleep(CACHE_TTL + Duration::from_millis(100)).await;

    assert_eq!(app.stats().await.cache, "miss");
    assert_eq!(app.stats().await.cache, "hit", "the miss filled it again");
}

#[tokio::test]
async fn a_raise_this_instance_lost_is_never_served_behind_its_pages() {
    let redis = RedisServer::start().await;
    let proxy = Proxy::local(redis.port).await;
    let app = TestApp::spawn_in(
        Namespace::create().await,
        &[("REDIS_URL", proxy.redis_url())],
    )
    .await;
    assert_eq!(app.view().await.access_total(), 1);
    assert_eq!(app.stats().await.cache, "hit");

    // Redis stalls, keeping the cached total at 1, while a view commits 2.
    proxy.set(Mode::Stall);
    let page = app.view().await;
    assert_eq!(
        (page.visits.as_str(), page.access_total()),
        ("unavailable", 2)
    );
    proxy.set(Mode::Pass);

    let stats = app.stats().await;
    assert_eq!(stats.body["access_total"], 2, "behind the page it showed");
    assert_eq!(
        stats.cache, "miss",
        "a copy below what this instance showed is not read"
    );
    let again = app.stats().await;
    assert_eq!(
        (again.cache.as_str(), again.body["access_total"].as_i64()),
        ("hit", Some(2))
    );
}

#[tokio::test]
async fn a_raise_lost_by_one_instance_reaches_the_others_within_two_seconds() {
    let redis = RedisServer::start().await;
    let proxy = Proxy::local(redis.port).await;
    let ns = Namespace::create().await;
    let a = TestApp::spawn_in(ns.clone(), &[("REDIS_URL", proxy.redis_url())]).await;
    let b = TestApp::spawn_in(ns.clone(), &[("REDIS_URL", redis.url())]).await;
    a.view().await;
    assert_eq!(b.view().await.access_total(), 2);
    assert_eq!(b.stats().await.cache, "hit");

    proxy.set(Mode::Stall);
    let shown = a.view().await;
    let shown_at = Instant::now();
    assert_eq!(shown.access_total(), 3, "{shown:?}");

    let mut behind = Duration::ZERO;
    let caught_up = eventually(Duration::from_secs(3), async || {
        let total = b.stats_total().await;
        assert!(total <= 3, "ahead of the database: {total}");
        if total < 3 {
            behind = shown_at.elapsed();
        }
        total == 3
    })
    .await;
    proxy.set(Mode::Pass);

    assert!(caught_up.is_some(), "B never saw A's view");
    assert!(
        behind <= Duration::from_secs(2),
        "B answered behind A's view for {behind:?}"
    );
}

#[tokio::test]
async fn a_redis_restored_from_an_old_snapshot_is_not_served_behind() {
    let mut redis = RedisServer::with_snapshots().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    for _ in 0..5 {
        app.view().await;
    }
    let _: () = deadpool_redis::redis::cmd("SAVE")
        .query_async(&mut redis_connection(&redis.url()).await)
        .await
        .expect("SAVE");
    for _ in 0..5 {
        app.view().await;
    }

    redis.stop();
    redis.start_again().await;

    let total = eventually(Duration::from_secs(3), async || {
        app.stats().await.body["access_total"] != serde_json::Value::Null
    })
    .await;
    assert!(total.is_some(), "Redis not used again");
    assert_eq!(
        app.stats_total().await,
        10,
        "behind the page this instance showed"
    );
}

#[tokio::test]
async fn a_recreated_database_never_gets_the_old_databases_total() {
    let ns = Namespace::create().await;
    let before = TestApp::spawn_in(ns.clone(), &[]).await;
    for _ in 0..5 {
        before.view().await;
    }
    assert_eq!(before.stats().await.body["access_total"], 5);
    before.stopped().await.expect("stopped");
    // The same database name (here: schema) and the same Redis, made anew.
    ns.postgres()
        .await
        .batch_execute(&format!(
            "SET client_min_messages = warning; DROP SCHEMA {0} CASCADE; CREATE SCHEMA {0}",
            ns.schema
        ))
        .await
        .expect("recreate");

    let after = TestApp::spawn_in(ns.clone(), &[]).await;
    let mut pages = Vec::new();
    for _ in 0..3 {
        pages.push(after.view().await.access_total());
    }
    let stats = after.stats().await;

    assert_eq!(pages, [1, 2, 3]);
    assert_eq!(stats.body["access_total"], 3, "{stats:?}");
}

#[tokio::test]
async fn emptying_the_log_without_a_restart_is_never_answered_from_the_old_total() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.view().await;
    }
    assert_eq!(app.stats().await.cache, "hit");

    app.ns
        .postgres()
        .await
        .batch_execute("TRUNCATE access_log; UPDATE access_totals SET total = 0")
        .await
        .expect("empty the log");
    let pages = [
        app.view().await.access_total(),
        app.view().await.access_total(),
    ];

    assert_eq!(pages, [1, 2]);
    assert_eq!(app.stats_total().await, 2);
    assert_eq!(app.ns.stored_total().await, 2);
}

#[tokio::test]
async fn two_databases_sharing_one_redis_prefix_keep_their_own_totals() {
    let one_ns = Namespace::create().await;
    // The other deployment uses the first one's key prefix (removed with it).
    let shared = [("REDIS_KEY_PREFIX", one_ns.prefix.clone())];
    let one = TestApp::spawn_in(one_ns, &[]).await;
    let other = TestApp::spawn_in(Namespace::create().await, &shared).await;
    for _ in 0..5 {
        one.view().await;
    }
    for _ in 0..2 {
        other.view().await;
    }

    for _ in 0..3 {
        assert_eq!(one.stats_total().await, 5);
        assert_eq!(other.stats_total().await, 2);
    }
}

#[tokio::test]
async fn a_fill_carrying_an_older_total_never_undoes_a_newer_raise() {
    let ns = Namespace::create().await;
    let redis = Redis::new(&TestApp::settings(&ns, "cache", &[]));
    let ttl = Duration::from_secs(5);

    redis
        .raise_cached_total("epoch", 10, ttl)
        .await
        .expect("raise");
    redis
        .raise_cached_total("epoch", 7, ttl)
        .await
        .expect("late fill");
    let after_race = redis.cached_total("epoch").await.expect("read");
    redis
        .raise_cached_total("epoch", 11, ttl)
        .await
        .expect("raise");

    assert_eq!(after_race, Some(10));
    assert_eq!(redis.cached_total("epoch").await.expect("read"), Some(11));
    assert_eq!(
        redis.cached_total("another epoch").await.expect("read"),
        None
    );
}
