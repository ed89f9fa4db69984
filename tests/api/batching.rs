//! Group commit: views that wait together share one statement, a view alone is
//! written at once, and a failed batch fails only the views in it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tally::state::AppState;
use tally::stores::access_log::NewAccess;

use crate::helpers::{Mode, Namespace, Proxy, settings};

async fn state_on(ns: &Namespace, overrides: &[(&str, String)]) -> Arc<AppState> {
    let state = AppState::new(&settings(ns, overrides));
    state.postgres.migrate().await.expect("migrate");
    Arc::new(state)
}

/// Records `count` accesses at once; answers each one's outcome.
async fn record_together(
    state: &Arc<AppState>,
    label: &str,
    count: usize,
) -> Vec<(
    String,
    tally::error::Result<tally::stores::access_log::Recorded>,
)> {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..count {
        let state = Arc::clone(state);
        let agent = format!("{label}-{n}");
        tasks.spawn(async move {
            let recorded = state.access_log.record(NewAccess::new("/", &agent)).await;
            (agent, recorded)
        });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn concurrent_views_share_batches_and_each_gets_its_own_total() {
    let ns = Namespace::create().await;
    let state = state_on(&ns, &[]).await;

    let outcomes = record_together(&state, "together", 300).await;

    let recorded: Vec<_> = outcomes
        .into_iter()
        .map(|(_, r)| r.expect("recorded"))
        .collect();
    let totals: BTreeSet<i64> = recorded.iter().map(|r| r.total).collect();
    assert_eq!(totals, (1..=300).collect::<BTreeSet<i64>>());
    let batches: BTreeSet<i64> = recorded.iter().map(|r| r.batch.total).collect();
    assert!(batches.len() < 300, "no two views shared a batch");
    let views: usize = batches
        .iter()
        .map(|total| {
            recorded
                .iter()
                .find(|r| r.batch.total == *total)
                .map_or(0, |r| r.batch.views)
        })
        .sum();
    assert_eq!(views, 300, "the batches hold every view once");
    for r in &recorded {
        assert!(r.total <= r.batch.total && r.total > r.batch.total - r.batch.views as i64);
    }
    assert_eq!(ns.log_rows().await, 300);
}

#[tokio::test]
async fn a_view_alone_is_written_at_once_in_a_batch_of_one() {
    let ns = Namespace::create().await;
    let state = state_on(&ns, &[("BATCH_MAX", "256".to_owned())]).await;

    for expected in 1..=3 {
        // A writer that waited for company (or for a full batch) would not answer here.
        let recorded = tokio::time::timeout(
            Duration::from_secs(1),
            state.access_log.record(NewAccess::new("/", "alone")),
        )
        .await
        .expect("a lone view is not held back")
        .expect("recorded");
        assert_eq!(recorded.batch.views, 1);
        assert_eq!(recorded.total, expected);
    }
}

#[tokio::test]
async fn a_failed_batch_fails_exactly_its_views_and_the_next_batch_works() {
    let proxy = Proxy::postgres().await;
    let ns = Namespace::create().await;
    let state = state_on(
        &ns,
        &[
            ("DATABASE_URL", proxy.database_url(&ns)),
            ("STORE_TIMEOUT_MS", "1000".to_owned()),
        ],
    )
    .await;
    let first = state
        .access_log
        .record(NewAccess::new("/", "before"))
        .await
        .expect("recorded");
    assert_eq!(first.total, 1);

    proxy.set(Mode::Stall);
    let failed = record_together(&state, "stalled", 20).await;
    proxy.set(Mode::Pass);
    let next = record_together(&state, "after", 20).await;

    assert!(
        failed.iter().all(|(_, r)| r.is_err()),
        "a stalled batch reported success"
    );
    let totals: BTreeSet<i64> = next
        .iter()
        .map(|(_, r)| r.as_ref().expect("the next batch works").total)
        .collect();
    assert_eq!(totals, (2..=21).collect::<BTreeSet<i64>>());
    let agents: BTreeSet<String> = ns.rows_per_agent().await.into_keys().collect();
    let expected: BTreeSet<String> = std::iter::once("before".to_owned())
        .chain(next.iter().map(|(agent, _)| agent.clone()))
        .collect();
    assert_eq!(
        agents, expected,
        "only the views that succeeded are in the log"
    );
}
