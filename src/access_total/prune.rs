//! Pruning: views older than an age leave the access log, and their count stays in
//! the access total. The log grows by a row a view, for good (about 190 bytes with
//! its index); an operator who wants to keep only the last 90 days runs
//! `tally prune --older-than 90d`, or sets `PRUNE_OLDER_THAN` and lets one instance
//! prune every hour.
//!
//! Rows go oldest first, a batch at a time, each batch its own short transaction in
//! which migration 0003's trigger counts them in `access_log_pruned`: the total never
//! changes, and the start-up repair counts the pruned rows too. Small batches, and a
//! pause after each nine times as long as the batch took, keep the views served
//! meanwhile near their pace: while 2 million rows go (in about four and a half
//! minutes), views keep 0.86-0.87 x their throughput and 1.11 x their p99
//! (docs/performance.md). Pauses of four times the batch went twice as fast and
//! cost views up to 0.72 x their throughput and 2.3 x their p99; batches of 5,000,
//! 0.79 x and 2.9 x. A prune killed halfway leaves whole batches pruned and the
//! rest in the log; run again, it goes on. Two prunes at once take different rows.

use std::time::Duration;

use deadpool_postgres::Object;
use time::format_description::well_known::Rfc3339;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

use crate::error::Result;
use crate::stores::postgres::{self, Postgres};

/// Rows deleted in one transaction.
const BATCH: i64 = 200;

/// How many times a batch's own time the prune waits before the next one: the
/// prune's connection is busy a tenth of the time at most.
const PAUSE: u32 = 9;

/// How often `PRUNE_OLDER_THAN` prunes.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// Deletes the rows logged more than `age` ago, in batches, saying so at each;
/// answers how many went. With `dry_run`, only counts them.
pub async fn prune(postgres: &Postgres, age: Duration, dry_run: bool) -> Result<i64> {
    let pruned = postgres
        .on_reader(async |client| prune_on(client, age, dry_run).await)
        .await?;
    let total = postgres.total().await?.total;
    log::info!("prune: the access total is {total}, the rows pruned counted in it");
    Ok(pruned)
}

/// `PRUNE_OLDER_THAN`'s prune, every [`EVERY`] from start-up, while this is kept.
pub struct Schedule(JoinHandle<()>);

impl Schedule {
    pub fn start(postgres: Postgres, age: Duration) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EVERY);
            loop {
                ticks.tick().await;
                if let Err(error) = prune_unless_running(&postgres, age).await {
                    log::warn!("prune: failed; trying again in an hour: {}", error.chain());
                }
            }
        }))
    }
}

impl Drop for Schedule {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Prunes as [`prune`] does, unless another instance's scheduled prune is running.
async fn prune_unless_running(postgres: &Postgres, age: Duration) -> Result<()> {
    postgres
        .on_reader(async |client| {
            if !postgres::lock_pruning(client).await? {
                log::info!("prune: another instance is pruning; not this time");
                return Ok(());
            }
            prune_on(client, age, false).await?;
            postgres::let_go_pruning(client).await
        })
        .await
}

async fn prune_on(client: &Object, age: Duration, dry_run: bool) -> Result<i64> {
    let cutoff = postgres::cutoff(client, age).await?;
    let before = cutoff
        .replace_nanosecond(0)
        .unwrap_or(cutoff)
        .format(&Rfc3339)
        .unwrap_or_default();
    if dry_run {
        let rows = postgres::prunable(client, cutoff).await?;
        log::info!("prune: dry run: {rows} rows were logged before {before}; nothing changed");
        return Ok(rows);
    }
    let (mut pruned, mut after, mut batches) = (0, 0, 0);
    loop {
        let started = Instant::now();
        let batch = postgres::prune_batch(client, after, cutoff, BATCH).await?;
        (pruned, after, batches) = (pruned + batch.rows, batch.last_id, batches + 1);
        log::info!(
            "prune: batch {batches}: {} rows logged before {before} left the log ({pruned} so far)",
            batch.rows
        );
        if !batch.more {
            break;
        }
        sleep(started.elapsed() * PAUSE).await;
    }
    log::info!("prune: done: {pruned} rows left the log in {batches} batches");
    Ok(pruned)
}
