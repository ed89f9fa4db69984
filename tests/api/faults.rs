//! Store faults in the middle of bursts of concurrent views, with the default
//! 2 s store timeout: every view answers within 3.5 s showing the other store's
//! number, `/readyz` stays 200 and says which store is down, the store is used
//! again within 5 s of coming back, and no acknowledged access-log row is lost or
//! duplicated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};

use crate::helpers::{Mode, Namespace, PostgresServer, Proxy, RedisServer, TestApp, element_text};

/// The longest a view may take with the default store timeout.
const VIEW_LIMIT: Duration = Duration::from_millis(3500);
/// How soon a store that is back must be used again.
const RECOVERY_LIMIT: Duration = Duration::from_secs(5);

/// One view of a burst: when it started and ended, and what it showed.
#[derive(Debug, Clone)]
struct Seen {
    agent: String,
    started: Instant,
    took: Duration,
    status: u16,
    visits: Option<i64>,
    access_total: Option<i64>,
}

impl Seen {
    fn both(&self) -> bool {
        self.visits.is_some() && self.access_total.is_some()
    }
}

/// Views from `workers` concurrent clients until `stop` is set.
fn burst(app: &TestApp, workers: usize, stop: Arc<AtomicBool>) -> JoinSet<Vec<Seen>> {
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let client = app.client.clone();
        let url = app.url("/");
        let stop = Arc::clone(&stop);
        tasks.spawn(async move {
            let mut seen = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let agent = format!("burst-{worker}-{n}");
                let started = Instant::now();
                let response = client.get(&url).header("User-Agent", &agent).send().await;
                let (status, body) = match response {
                    Ok(response) => (
                        response.status().as_u16(),
                        response.text().await.unwrap_or_default(),
                    ),
                    Err(_) => (0, String::new()),
                };
                seen.push(Seen {
                    agent,
                    started,
                    took: started.elapsed(),
                    status,
                    visits: element_text(&body, "visits").parse().ok(),
                    access_total: element_text(&body, "access-total").parse().ok(),
                });
                sleep(Duration::from_millis(20)).await;
            }
            seen
        });
    }
    tasks
}

/// Which stores a fault takes away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Down {
    Redis,
    Postgres,
    Both,
}

/// Runs a burst, breaks the stores with `fault`, checks the page while they are
/// broken, mends them with `mend`, and checks recovery and the log.
async fn survive(app: &TestApp, down: Down, fault: impl AsyncFnOnce(), mend: impl AsyncFnOnce()) {
    let first = app.view().await;
    assert!(
        first.visits().min(first.access_total()) > 0,
        "both stores work at first"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = burst(app, 8, Arc::clone(&stop));
    sleep(Duration::from_millis(700)).await;

    fault().await;
    let broken_at = Instant::now();
    sleep(Duration::from_millis(2500)).await;
    let readyz = app.get("/readyz").await;
    let ready_status = readyz.status();
    let readiness: serde_json::Value = readyz.json().await.expect("readyz json");
    // Long enough that a view stalled for the whole store timeout, begun just after
    // the fault settled, ends before the store is mended.
    sleep(Duration::from_millis(2500)).await;
    let mending_at = Instant::now();
    mend().await;
    let mended_at = Instant::now();
    sleep(RECOVERY_LIMIT + Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let seen: Vec<Seen> = tasks.join_all().await.into_iter().flatten().collect();

    assert_eq!(ready_status, 200, "/readyz while {down:?} was down");
    let states = (
        readiness["redis"].as_str().unwrap_or_default(),
        readiness["postgres"].as_str().unwrap_or_default(),
    );
    let expected = match down {
        Down::Redis => ("down", "up"),
        Down::Postgres => ("up", "down"),
        Down::Both => ("down", "down"),
    };
    assert_eq!(
        states, expected,
        "/readyz says which store is down: {readiness}"
    );
    for view in &seen {
        assert_eq!(view.status, 200, "{view:?}");
        assert!(
            view.took <= VIEW_LIMIT,
            "a view took {:?}: {view:?}",
            view.took
        );
    }
    // Views that began after the stores broke (and ended before they were
    // mended) show the other store's number and not the broken one's.
    let settled = broken_at + Duration::from_millis(300);
    let during: Vec<&Seen> = seen
        .iter()
        .filter(|v| v.started > settled && v.started + v.took < mending_at)
        .collect();
    assert!(!during.is_empty(), "no view ran while the stores were down");
    for view in &during {
        let shown = (view.visits.is_some(), view.access_total.is_some());
        let expected = match down {
            Down::Redis => (false, true),
            Down::Postgres => (true, false),
            Down::Both => (false, false),
        };
        assert_eq!(shown, expected, "while {down:?} was down: {view:?}");
    }
    let after: Vec<&Seen> = seen
        .iter()
        .filter(|v| v.started > mended_at + RECOVERY_LIMIT)
        .collect();
    assert!(!after.is_empty(), "no view ran after recovery");
    for view in after {
        assert!(
            view.both(),
            "still degraded 5 s after {down:?} came back: {view:?}"
        );
    }
    assert!(
        seen.iter()
            .filter(|v| v.started < broken_at)
            .any(Seen::both)
    );

    // Every view that showed an access total has exactly one row in the log.
    let rows = app.ns.rows_per_agent().await;
    assert!(rows.values().all(|n| *n == 1), "a row was written twice");
    for view in seen.iter().filter(|v| v.access_total.is_some()) {
        assert_eq!(
            rows.get(&view.agent),
            Some(&1),
            "acknowledged row lost: {view:?}"
        );
    }
    let total = app.ns.stored_total().await;
    assert_eq!(
        total,
        rows.len() as i64,
        "the running total matches the log"
    );
}

async fn app_behind(redis: &Proxy, postgres: &Proxy, overrides: &[(&str, String)]) -> TestApp {
    let ns = Namespace::create().await;
    let mut settings = vec![
        ("REDIS_URL", redis.redis_url()),
        ("DATABASE_URL", postgres.database_url(&ns)),
    ];
    settings.extend(overrides.iter().cloned());
    TestApp::spawn_in(ns, &settings).await
}

#[tokio::test]
async fn redis_killed_mid_burst() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    let redis = tokio::sync::Mutex::new(&mut redis);
    survive(
        &app,
        Down::Redis,
        async || redis.lock().await.stop(),
        async || {
            let mut server = redis.lock().await;
            server.start_again().await;
        },
    )
    .await;
}

/// A burst through proxies in front of a private Redis and the shared
/// PostgreSQL; the proxies of the stores in `down` go to `fault`, then back.
async fn proxied_fault(down: Down, fault: Mode) {
    let redis = RedisServer::start().await;
    let redis_proxy = Proxy::local(redis.port).await;
    let pg_proxy = Proxy::postgres().await;
    let app = app_behind(&redis_proxy, &pg_proxy, &[]).await;
    let broken = match down {
        Down::Redis => vec![&redis_proxy],
        Down::Postgres => vec![&pg_proxy],
        Down::Both => vec![&redis_proxy, &pg_proxy],
    };
    survive(
        &app,
        down,
        async || broken.iter().for_each(|proxy| proxy.set(fault)),
        async || broken.iter().for_each(|proxy| proxy.set(Mode::Pass)),
    )
    .await;
}

#[tokio::test]
async fn redis_stalled_mid_burst() {
    proxied_fault(Down::Redis, Mode::Stall).await;
}

#[tokio::test]
async fn postgres_cut_mid_burst() {
    proxied_fault(Down::Postgres, Mode::Cut).await;
}

#[tokio::test]
async fn postgres_stalled_mid_burst() {
    proxied_fault(Down::Postgres, Mode::Stall).await;
}

#[tokio::test]
async fn both_stores_cut_mid_burst() {
    proxied_fault(Down::Both, Mode::Cut).await;
}

#[tokio::test]
async fn postgres_killed_with_sigkill_mid_burst_loses_no_acknowledged_row() {
    let mut postgres = PostgresServer::start().await;
    let ns = Namespace::on(&postgres.url()).await;
    let app = TestApp::spawn_in(ns, &[]).await;
    let postgres = tokio::sync::Mutex::new(&mut postgres);
    survive(
        &app,
        Down::Postgres,
        async || postgres.lock().await.kill(),
        async || {
            let mut server = postgres.lock().await;
            server.start_again().await;
        },
    )
    .await;
}

#[tokio::test]
async fn a_timed_out_connection_is_not_used_again() {
    let redis = RedisServer::start().await;
    let redis_proxy = Proxy::local(redis.port).await;
    let pg_proxy = Proxy::postgres().await;
    let app = app_behind(&redis_proxy, &pg_proxy, &[("PG_POOL_SIZE", "1".to_owned())]).await;
    assert!(app.view().await.visits.parse::<i64>().is_ok());
    assert_eq!(app.get("/db").await.status(), 200);

    for proxy in [&redis_proxy, &pg_proxy] {
        let before = proxy.connections_opened();
        proxy.set(Mode::Stall);
        let stalled = app.view().await;
        assert_eq!(stalled.status, 200);
        assert_eq!(
            app.get("/db").await.status().as_u16() == 200,
            proxy.port != pg_proxy.port
        );
        // The stalled connections stay open and silent: reusing one would time out again.
        proxy.set(Mode::Pass);

        let page = app.view().await;
        assert!(page.visits.parse::<i64>().is_ok(), "{page:?}");
        assert!(page.access_total.parse::<i64>().is_ok(), "{page:?}");
        assert_eq!(app.get("/db").await.status(), 200);
        assert!(
            proxy.connections_opened() > before,
            "no fresh connection was opened"
        );
    }
}

#[test]
fn a_writer_panic_reads_as_a_bug_not_as_a_store_outage() {
    use tally::error::{Error, Reason};
    let failed = Error::Batch(Arc::new(Error::WriterPanicked(
        "index out of bounds".into(),
    )));
    assert!(failed.reason().is_bug());
    assert!(!failed.reason().is_outage());
    assert_eq!(failed.reason(), Reason::WriterPanicked);

    let stopping = Error::Batch(Arc::new(Error::WriterGone));
    assert!(!stopping.reason().is_bug());
    assert!(stopping.reason().is_outage());
}
