//! The cached copy of the access total in Redis, and the rules that keep it honest.
//!
//! - **Keyed by epoch.** The copy lives under the epoch of the database it counts
//!   (`access_total:<epoch>`), so a total cached from another database, or from
//!   this one before its log was emptied or its total rebuilt, is never read as
//!   this one's: it is never ahead of what this database has committed.
//! - **Raised, never lowered.** Every committed batch raises the copy, and a miss
//!   fills it, both set-if-greater: a fill carrying an older total cannot undo a
//!   raise carrying a newer one.
//! - **Short-lived.** The copy expires [`TTL`] after the total it holds was known
//!   committed. A raise another instance lost (its Redis stalled) is healed for
//!   everyone within that time: the copy is never more than [`TTL`] behind a view
//!   shown anywhere, inside the 2 s that docs/promises.md gives.
//! - **Never behind this instance.** The highest total this instance has shown in
//!   the current epoch is its watermark; a copy below it (a raise this instance
//!   lost, a Redis restored from an old snapshot) is treated as a miss.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::repair::repair;
use crate::error::{Error, Result};
use crate::stores::postgres::{Postgres, Total};
use crate::stores::redis::Redis;

/// How long a cached total may be served after it was known committed.
pub const TTL: Duration = Duration::from_secs(1);

/// What this instance knows of the total: the current epoch and its watermark.
#[derive(Default)]
struct Known {
    epoch: Option<String>,
    /// The highest total this instance has shown in that epoch.
    watermark: i64,
}

/// The cached copy, and this instance's watermark under it.
pub struct Cache {
    redis: Redis,
    known: Mutex<Known>,
}

impl Cache {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            known: Mutex::default(),
        }
    }

    /// Raises the watermark to a total this instance is about to show, committed or
    /// read. A total of another epoch starts that epoch here.
    pub fn raise_watermark(&self, total: &Total) {
        let mut known = self.known();
        if known.epoch.as_deref() == Some(total.epoch.as_str()) {
            known.watermark = known.watermark.max(total.total);
        } else {
            *known = Known {
                epoch: Some(total.epoch.clone()),
                watermark: total.total,
            };
        }
    }

    /// The cached total, when one can be trusted; `Ok(None)` is a miss.
    pub async fn get(&self) -> Result<Option<i64>> {
        let (epoch, watermark) = {
            let known = self.known();
            match &known.epoch {
                Some(epoch) => (epoch.clone(), known.watermark),
                None => return Ok(None),
            }
        };
        let cached = self.redis.cached_total(&epoch).await?;
        Ok(cached.filter(|total| *total >= watermark))
    }

    /// The total as PostgreSQL has it, after a miss; it then fills the cache.
    pub async fn fill_from(&self, postgres: &Postgres) -> Result<i64> {
        let asked = Instant::now();
        let total = match postgres.total().await {
            Err(Error::MissingTotal) => {
                repair(postgres).await?;
                postgres.total().await?
            }
            total => total?,
        };
        self.raise_watermark(&total);
        if let Err(error) = self.raise(&total, asked).await {
            log::debug!("redis: cached access total not filled: {}", error.chain());
        }
        Ok(total.total)
    }

    /// Raises the cached copy to `total`, known committed at `as_of`; it expires
    /// [`TTL`] after that. A total known for longer than that is not cached at all.
    pub async fn raise(&self, total: &Total, as_of: Instant) -> Result<()> {
        let left = TTL.saturating_sub(as_of.elapsed());
        if left.is_zero() {
            return Ok(());
        }
        self.redis
            .raise_cached_total(&total.epoch, total.total, left)
            .await
    }

    fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
