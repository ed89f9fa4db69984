//! Exact numbers: concurrent views across instances, restarts, migrations.

use std::collections::BTreeSet;
use tally::stores::redis::VISITS;

use tally::stores::postgres::{Postgres, migration_versions};

use crate::helpers::{Namespace, TestApp};

#[tokio::test]
async fn concurrent_views_across_two_instances_are_exact() {
    let ns = Namespace::create().await;
    let apps = [
        TestApp::spawn_in(ns.clone(), &[]).await,
        TestApp::spawn_in(ns.clone(), &[]).await,
    ];
    let views = 200;

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..views {
        let client = apps[n % 2].client.clone();
        let url = apps[n % 2].url("/");
        tasks.spawn(async move {
            let page = crate::helpers::fetch_page(&client, &url, &format!("exact-{n}")).await;
            (page.visits(), page.access_total())
        });
    }
    let shown = tasks.join_all().await;

    let visits: BTreeSet<i64> = shown.iter().map(|(v, _)| *v).collect();
    let totals: BTreeSet<i64> = shown.iter().map(|(_, t)| *t).collect();
    let expected: BTreeSet<i64> = (1..=views as i64).collect();
    assert_eq!(visits, expected, "every view saw its own counter value");
    assert_eq!(totals, expected, "every view saw its own access total");
    assert_eq!(ns.log_rows().await, views as i64);
    assert_eq!(ns.redis_get(VISITS).await, Some(views.to_string()));
    let agents: i64 = ns
        .postgres()
        .await
        .query_one("SELECT count(DISTINCT user_agent) FROM access_log", &[])
        .await
        .expect("distinct agents")
        .get(0);
    assert_eq!(agents, views as i64, "no row lost or duplicated");
}

#[tokio::test]
async fn the_access_total_survives_an_app_restart() {
    let ns = Namespace::create().await;
    let before = TestApp::spawn_in(ns.clone(), &[]).await;
    for _ in 0..3 {
        before.view().await;
    }
    drop(before);

    let after = TestApp::spawn_in(ns.clone(), &[]).await;
    let page = after.view().await;

    assert_eq!(page.access_total(), 4);
    assert_eq!(ns.log_rows().await, 4);
}

#[tokio::test]
async fn migrations_apply_once_when_instances_start_together() {
    let ns = Namespace::create().await;
    let settings = TestApp::settings(&ns, "migrations", &[]);
    let instances: Vec<Postgres> = (0..4).map(|_| Postgres::new(&settings)).collect();

    let applied = futures_util::future::join_all(instances.iter().map(Postgres::migrate)).await;

    let applied: Vec<Vec<&str>> = applied
        .into_iter()
        .map(|result| result.expect("migrations succeed"))
        .collect();
    assert_eq!(
        applied.iter().filter(|a| !a.is_empty()).count(),
        1,
        "{applied:?}"
    );
    let recorded = ns.number("SELECT count(*) FROM schema_migrations").await;
    assert_eq!(recorded, migration_versions().len() as i64);
}

#[tokio::test]
async fn several_instances_start_together_on_an_empty_database() {
    let ns = Namespace::create().await;

    let apps =
        futures_util::future::join_all((0..3).map(|_| TestApp::spawn_in(ns.clone(), &[]))).await;

    for (n, app) in apps.iter().enumerate() {
        assert_eq!(app.view().await.status, 200, "instance {n}");
    }
    assert_eq!(ns.log_rows().await, 3);
}

#[tokio::test]
async fn every_migration_file_is_applied() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("migrations dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|name| name.strip_suffix(".sql").map(str::to_owned))
        .collect();
    files.sort();

    assert_eq!(files, migration_versions());
    let app = TestApp::spawn().await;
    assert_eq!(app.view().await.access_total(), 1);
}

#[tokio::test]
async fn views_stay_exact_across_three_instances_under_load() {
    let ns = Namespace::create().await;
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(TestApp::spawn_in(ns.clone(), &[]).await);
    }
    let attempted = 900;
    let concurrency = 64;
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..attempted {
        let app = &apps[n % apps.len()];
        let (client, url) = (app.client.clone(), app.url("/"));
        let permit = std::sync::Arc::clone(&semaphore);
        tasks.spawn(async move {
            let _permit = permit.acquire_owned().await.expect("permit");
            let agent = format!("load-{n}");
            let body = match client.get(url).header("User-Agent", &agent).send().await {
                Ok(response) if response.status() == 200 => {
                    response.text().await.unwrap_or_default()
                }
                _ => String::new(),
            };
            let number = |id| crate::helpers::element_text(&body, id).parse::<i64>().ok();
            (agent, number("visits"), number("access-total"))
        });
    }
    let shown = tasks.join_all().await;

    // A counter checker's view: what was acknowledged (both numbers shown) must
    // be there exactly once; the final count lies between acknowledged and attempted.
    let acknowledged: Vec<_> = shown
        .iter()
        .filter_map(|(agent, v, t)| Some((agent, (*v)?, (*t)?)))
        .collect();
    assert_eq!(
        acknowledged.len(),
        attempted,
        "every view was answered with both numbers"
    );
    let rows = ns.log_rows().await;
    assert!(acknowledged.len() as i64 <= rows && rows <= attempted as i64);
    let visits: BTreeSet<i64> = acknowledged.iter().map(|(_, v, _)| *v).collect();
    let totals: BTreeSet<i64> = acknowledged.iter().map(|(_, _, t)| *t).collect();
    assert_eq!(
        visits.len(),
        acknowledged.len(),
        "two views saw the same counter"
    );
    assert_eq!(
        totals.len(),
        acknowledged.len(),
        "two views saw the same total"
    );
    assert_eq!(*totals.last().expect("totals"), rows);
    let logged = ns.rows_per_agent().await;
    assert!(logged.values().all(|n| *n == 1), "a row was duplicated");
    for (agent, _, _) in &acknowledged {
        assert!(
            logged.contains_key(*agent),
            "acknowledged view {agent} has no row"
        );
    }
    assert_eq!(
        ns.stored_total().await,
        rows,
        "the running total equals the rows in the log"
    );
    assert_eq!(ns.redis_get(VISITS).await, Some(rows.to_string()));
}

#[tokio::test]
async fn more_requests_than_connections_wait_a_bounded_time_then_degrade() {
    use crate::helpers::{Mode, Proxy};
    let pg_proxy = Proxy::postgres().await;
    let ns = Namespace::create().await;
    let app = TestApp::spawn_in(
        ns.clone(),
        &[
            ("DATABASE_URL", pg_proxy.database_url(&ns)),
            ("PG_POOL_SIZE", "1".to_owned()),
        ],
    )
    .await;
    assert_eq!(app.view().await.access_total(), 1);
    pg_proxy.set(Mode::Stall);

    // 40 views (each waiting on the stalled access log writer) and 20 requests
    // that each need one of the readers' single connection.
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..60 {
        let path = if n % 3 == 0 { "/db" } else { "/" };
        let (client, url) = (app.client.clone(), app.url(path));
        tasks.spawn(async move {
            let response = client.get(url).send().await.expect("answered");
            let status = response.status().as_u16();
            let body = response.text().await.expect("body");
            (
                path,
                status,
                crate::helpers::element_text(&body, "visits"),
                crate::helpers::element_text(&body, "access-total"),
            )
        });
    }
    let answers = tasks.join_all().await;
    let took = started.elapsed();

    assert!(
        took < std::time::Duration::from_millis(3500),
        "60 requests took {took:?}"
    );
    for (path, status, visits, total) in answers {
        if path == "/db" {
            assert_eq!(status, 503, "/db with PostgreSQL stalled");
        } else {
            assert_eq!(status, 200);
            assert_eq!(total, "unavailable");
            assert!(
                visits.parse::<i64>().is_ok(),
                "Redis still counts: {visits}"
            );
        }
    }
    pg_proxy.set(Mode::Pass);
    assert_eq!(app.get("/db").await.status(), 200);
}
