//! The access total: how many rows the access log holds, the number on the page's
//! right-hand card and in `/api/stats`.
//!
//! - **Written** by [`writer`], which appends each view's row and raises the total in
//!   the same transaction, so a view gets its own exact total and no view ever
//!   counts the log.
//! - **Cached** in Redis by [`cache`], which `/api/stats` reads first (cache-aside,
//!   [`AccessTotal::cached`], then [`AccessTotal::from_database`]): the writer raises
//!   the cached copy after every commit.
//! - **Repaired** here: a totals row that is missing, or disagrees with the log, is
//!   rebuilt from the log (at start-up, and whenever a view finds it missing), with
//!   one WARN line.

mod cache;
mod writer;

use std::sync::Arc;

use tokio::time::Instant;

pub use cache::TTL as CACHE_TTL;
pub use writer::Recorded;

use crate::access_log::NewAccess;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::stores::postgres::{Postgres, Rebuilt};
use crate::stores::redis::Redis;
use cache::Cache;
use writer::Writer;

/// The access total: the writer, the cached copy, and the database behind both.
pub struct AccessTotal {
    writer: Writer,
    cache: Arc<Cache>,
    postgres: Postgres,
}

impl AccessTotal {
    /// Starts the writer, which raises the cached copy after each commit.
    pub fn start(
        postgres: Postgres,
        redis: Redis,
        batch_max: usize,
        recent_limit: i64,
        metrics: Metrics,
    ) -> Self {
        let cache = Arc::new(Cache::new(redis));
        let writer = Writer::start(
            postgres.clone(),
            Arc::clone(&cache),
            batch_max,
            recent_limit,
            metrics,
        );
        Self {
            writer,
            cache,
            postgres,
        }
    }

    /// Checks the totals row against the log, as start-up does, and rebuilds it if it
    /// is wrong.
    pub async fn check(&self) -> Result<()> {
        check(&self.postgres).await
    }

    /// Appends a view's row; answers its exact total once committed and the cached
    /// copy raised (so the cache holds this view before the page shows it, unless
    /// Redis is too slow to wait for), or fails by `deadline` (the writer gives up on
    /// its batch then).
    pub async fn record(&self, access: NewAccess, deadline: Instant) -> Result<Recorded> {
        self.writer.record(access, deadline).await
    }

    /// The cached copy of the total, when one can be trusted (`None`: a miss).
    pub async fn cached(&self) -> Result<Option<i64>> {
        self.cache.get().await
    }

    /// The total as PostgreSQL has it, which then fills the cache.
    pub async fn from_database(&self) -> Result<i64> {
        let asked = Instant::now();
        let total = match self.postgres.total().await {
            Err(Error::MissingTotal) => {
                check(&self.postgres).await?;
                self.postgres.total().await?
            }
            total => total?,
        };
        self.cache.shown(&total);
        if let Err(error) = self.cache.raise(&total, asked).await {
            log::debug!("redis: cached access total not filled: {}", error.chain());
        }
        Ok(total.total)
    }
}

/// Checks the totals row against the log, and rebuilds it from the log, with one
/// WARN line, if it is missing or wrong.
async fn check(postgres: &Postgres) -> Result<()> {
    match postgres.check_total().await? {
        Some(Rebuilt {
            was: Some(was),
            now,
        }) => log::warn!(
            "postgres: the access total said {was} but the log holds {now} rows; rebuilt it from the log"
        ),
        Some(Rebuilt { was: None, now }) => log::warn!(
            "postgres: the access total's row was missing; rebuilt it from the log ({now} rows)"
        ),
        None => {}
    }
    Ok(())
}
