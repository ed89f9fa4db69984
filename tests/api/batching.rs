//! Group commit, at the level of the access total: views that wait together share
//! one transaction, a view alone is written at once, and a failed batch fails only
//! the views in it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tally::access_log::NewAccess;
use tally::access_total::cache::Cache;
use tally::access_total::writer::{Recorded, Writer};
use tally::stores::postgres::Postgres;
use tally::stores::redis::Redis;
use tokio::time::Instant;

use crate::helpers::{Mode, Namespace, Proxy, TestApp};

/// The access log writer of `ns`, started as Tally starts it.
async fn writer(ns: &Namespace, overrides: &[(&str, String)]) -> Arc<Writer> {
    let settings = TestApp::settings(ns, "batching", overrides);
    let postgres = Postgres::new(&settings);
    postgres.migrate().await.expect("migrate");
    let redis = Redis::new(&settings);
    Arc::new(Writer::start(
        postgres,
        Arc::new(Cache::new(redis)),
        settings.batch_max,
        10,
        tally::metrics::Metrics::default(),
    ))
}

async fn record(writer: &Writer, agent: &str) -> tally::error::Result<Recorded> {
    let deadline = Instant::now() + Duration::from_secs(2);
    writer.append(NewAccess::new("/", agent), deadline).await
}

/// Records `count` accesses at once; answers each one's outcome.
async fn record_together(
    total: &Arc<Writer>,
    label: &str,
    count: usize,
) -> Vec<(String, tally::error::Result<Recorded>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..count {
        let total = Arc::clone(total);
        let agent = format!("{label}-{n}");
        tasks.spawn(async move {
            let recorded = record(&total, &agent).await;
            (agent, recorded)
        });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn concurrent_views_share_batches_and_each_gets_its_own_total() {
    let ns = Namespace::create().await;
    let total = writer(&ns, &[]).await;

    let outcomes = record_together(&total, "together", 300).await;

    let recorded: Vec<Recorded> = outcomes
        .into_iter()
        .map(|(_, r)| r.expect("recorded"))
        .collect();
    let totals: BTreeSet<i64> = recorded.iter().map(|r| r.total).collect();
    assert_eq!(totals, (1..=300).collect::<BTreeSet<i64>>());
    let batches: BTreeSet<(i64, usize)> = recorded
        .iter()
        .map(|r| (r.batch_total, r.batch_size))
        .collect();
    assert!(batches.len() < 300, "no two views shared a batch");
    assert_eq!(
        batches.iter().map(|(_, size)| size).sum::<usize>(),
        300,
        "the batches hold every view once"
    );
    for r in &recorded {
        assert!(r.total <= r.batch_total && r.total > r.batch_total - r.batch_size as i64);
    }
    assert_eq!(ns.log_rows().await, 300);
}

#[tokio::test]
async fn a_view_alone_is_written_at_once_in_a_batch_of_one() {
    let ns = Namespace::create().await;
    let total = writer(&ns, &[("BATCH_MAX", "256".to_owned())]).await;

    for expected in 1..=3 {
        // A writer that waited for company (or for a full batch) would not answer here.
        let recorded = tokio::time::timeout(Duration::from_secs(1), record(&total, "alone"))
            .await
            .expect("a lone view is not held back")
            .expect("recorded");
        assert_eq!(recorded.batch_size, 1);
        assert_eq!(recorded.total, expected);
    }
}

#[tokio::test]
async fn a_failed_batch_fails_exactly_its_views_and_the_next_batch_works() {
    let proxy = Proxy::postgres().await;
    let ns = Namespace::create().await;
    let total = writer(&ns, &[("DATABASE_URL", proxy.database_url(&ns))]).await;
    assert_eq!(record(&total, "before").await.expect("recorded").total, 1);

    proxy.set(Mode::Stall);
    let failed = record_together(&total, "stalled", 20).await;
    proxy.set(Mode::Pass);
    let next = record_together(&total, "after", 20).await;

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

#[tokio::test]
async fn a_nul_or_an_overlong_agent_is_kept_cleaned_and_fails_no_view_beside_it() {
    let ns = Namespace::create().await;
    let total = writer(&ns, &[]).await;
    let long = "é".repeat(600);

    let (nul, overlong, plain) = tokio::join!(
        record(&total, "a\0b"),
        record(&total, &long),
        record(&total, "plain"),
    );

    for recorded in [&nul, &overlong, &plain] {
        assert!(
            recorded.is_ok(),
            "a view failed: {:?}",
            recorded.as_ref().err()
        );
    }
    let recent = plain.expect("recorded").recent;
    let agents: BTreeSet<&str> = recent.iter().map(|a| a.user_agent.as_str()).collect();
    let kept = "é".repeat(512);
    let expected = BTreeSet::from(["a\u{FFFD}b", kept.as_str(), "plain"]);
    assert!(
        expected.is_subset(&agents),
        "the log holds {agents:?}, not the cleaned agents"
    );
}
