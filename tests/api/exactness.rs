//! Exact numbers: concurrent views across instances, restarts, migrations.

use std::collections::BTreeSet;

use tally::state::AppState;
use tally::stores::postgres::migration_versions;

use crate::helpers::{Namespace, settings, spawn_app, spawn_app_with};

#[tokio::test]
async fn concurrent_views_across_two_instances_are_exact() {
    let ns = Namespace::create().await;
    let apps = [
        spawn_app_with(ns.clone(), &[]).await,
        spawn_app_with(ns.clone(), &[]).await,
    ];
    let views = 200;

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..views {
        let client = apps[n % 2].client.clone();
        let url = apps[n % 2].url("/");
        tasks.spawn(async move {
            let body = client
                .get(url)
                .header("User-Agent", format!("exact-{n}"))
                .send()
                .await
                .expect("sent")
                .text()
                .await
                .expect("body");
            let number = |id| -> i64 {
                crate::helpers::element_text(&body, id)
                    .parse()
                    .expect("both numbers shown")
            };
            (number("visits"), number("access-total"))
        });
    }
    let shown = tasks.join_all().await;

    let visits: BTreeSet<i64> = shown.iter().map(|(v, _)| *v).collect();
    let totals: BTreeSet<i64> = shown.iter().map(|(_, t)| *t).collect();
    let expected: BTreeSet<i64> = (1..=views as i64).collect();
    assert_eq!(visits, expected, "every view saw its own counter value");
    assert_eq!(totals, expected, "every view saw its own access total");
    assert_eq!(ns.log_rows().await, views as i64);
    assert_eq!(ns.redis_get("visits").await, Some(views.to_string()));
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
    let before = spawn_app_with(ns.clone(), &[]).await;
    for _ in 0..3 {
        before.view().await;
    }
    drop(before);

    let after = spawn_app_with(ns.clone(), &[]).await;
    let page = after.view().await;

    assert_eq!(page.access_total(), 4);
    assert_eq!(ns.log_rows().await, 4);
}

#[tokio::test]
async fn migrations_apply_once_when_instances_start_together() {
    let ns = Namespace::create().await;
    let settings = settings(&ns, &[]);
    let states: Vec<AppState> = (0..4).map(|_| AppState::new(&settings)).collect();

    let applied = futures_util::future::join_all(states.iter().map(|s| s.postgres.migrate())).await;

    let applied: Vec<Vec<&str>> = applied
        .into_iter()
        .map(|result| result.expect("migrations succeed"))
        .collect();
    assert_eq!(
        applied.iter().filter(|a| !a.is_empty()).count(),
        1,
        "{applied:?}"
    );
    let recorded: i64 = ns
        .postgres()
        .await
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(recorded, migration_versions().len() as i64);
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
    let app = spawn_app().await;
    assert_eq!(app.view().await.access_total(), 1);
}
