//! What Tally does: count a page view, reset the counter, read both numbers without
//! counting, ask each store on demand, report the metrics. Routes call these on
//! [`Tally`]; these call the stores, each call through its store's health
//! ([`StoreHealth::call`]: bounded by the store timeout, and noted, so a store
//! that is down or slow costs only its own number).
//!
//! Start with [`Tally::count_view`]: it is where the Flask exercise's one function
//! (`INSERT`, `COUNT(*)`, `INCR`) lives here.

use std::sync::Arc;

use futures_util::future::join;

pub use crate::store_health::Timed;

use crate::access_log::NewAccess;
use crate::access_total::cache::Cache;
use crate::access_total::prune::Schedule;
use crate::access_total::writer::{Recorded, Writer};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::store_health::StoreHealth;
use crate::stores::postgres::Postgres;
use crate::stores::redis::Redis;

/// How many of the newest accesses a page shows.
pub const RECENT_LIMIT: i64 = 10;

/// Tally's stores and what it keeps about them; every use case is a method.
/// [`crate::startup`] assembles it once the stores answer.
pub struct Tally {
    pub(crate) postgres: Postgres,
    pub(crate) redis: Redis,
    /// Appends views' rows to the access log, many views to a transaction.
    pub(crate) writer: Writer,
    /// The cached copy of the access total, for `/api/stats`.
    pub(crate) cache: Arc<Cache>,
    pub(crate) postgres_health: StoreHealth,
    pub(crate) redis_health: StoreHealth,
    pub(crate) metrics: Metrics,
    /// The name pages and the API give as "served by".
    pub(crate) instance: String,
    /// `PRUNE_OLDER_THAN`'s hourly prune, when it is set.
    pub(crate) _pruning: Option<Schedule>,
}

/// What one page view did in each store.
pub struct View {
    /// The visit counter after this view.
    pub visits: Timed<i64>,
    /// This view's row: the access total after it, and the newest accesses.
    pub access: Timed<Recorded>,
}

impl Tally {
    /// Counts one view of `path` by `user_agent` in both stores at once, each on its
    /// own clock, within the store timeout.
    pub async fn count_view(&self, path: &str, user_agent: &str) -> View {
        let deadline = self.postgres_health.deadline();
        let access = NewAccess::new(path, user_agent);
        let (visits, access) = join(
            // `INCR tally:visits`, in stores/redis.rs.
            self.redis_health.call(self.redis.count_visit()),
            // The row appended to the log and the total raised with it, in
            // stores/postgres.rs (`append`); the writer commits it together with
            // every other view waiting at that moment.
            self.postgres_health
                .call_by(deadline, self.writer.append(access, deadline)),
        )
        .await;
        self.metrics.view();
        View { visits, access }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Sets the Redis visit counter to zero. The access log is never reset.
    pub async fn reset(&self) -> Result<()> {
        let reset = self.redis_health.call(self.redis.reset_visits()).await;
        reset.result?;
        log::info!("visit counter reset");
        Ok(())
    }

    /// Reads the visit counter and the cached total at once, then PostgreSQL's total
    /// if the cache missed (cache-aside; see [`crate::access_total::cache`]).
    pub async fn stats(&self) -> Stats {
        let (visits, cached) = join(
            self.redis_health.call(self.redis.visits()),
            self.redis_health.call(self.cache.get()),
        )
        .await;
        let cache_hit = matches!(cached.result, Ok(Some(_)));
        let (access_total, postgres_up) = match cached.result {
            // A cache hit did not ask PostgreSQL: its probe knows.
            Ok(Some(total)) => (Some(total), self.postgres_health.is_up()),
            _ => {
                let read = self
                    .postgres_health
                    .call(self.cache.fill_from(&self.postgres));
                let read = read.await.result;
                let up = read.is_ok();
                (read.ok(), up)
            }
        };
        self.metrics.cache(cache_hit);
        Stats {
            redis_up: visits.result.is_ok(),
            visits: visits.result.ok(),
            access_total,
            postgres_up,
            cache_hit,
        }
    }

    /// Asks PostgreSQL for `SELECT 1` (`/db`).
    pub async fn ask_postgres(&self) -> Timed<()> {
        self.postgres_health.call(self.postgres.ping()).await
    }

    /// Writes a test key to Redis and reads it back (`/cache`).
    pub async fn ask_redis(&self) -> Timed<()> {
        self.redis_health
            .call(self.redis.write_and_read_back())
            .await
    }

    /// Each store's last known state, for `/readyz`: it costs no store call, so a
    /// slow store never slows the answer. (PostgreSQL's, then Redis's.)
    pub fn readiness(&self) -> (bool, bool) {
        (self.postgres_health.is_up(), self.redis_health.is_up())
    }

    /// The metrics in Prometheus's text format, with the pools' connections in use
    /// read at the moment of asking.
    pub fn report(&self) -> String {
        let (readers, writer) = self.postgres.connections_in_use();
        self.metrics.pool_in_use("postgres_readers", readers);
        self.metrics.pool_in_use("postgres_writer", writer);
        self.metrics
            .pool_in_use("redis", self.redis.connections_in_use());
        self.metrics.render()
    }
}

/// The numbers as `/api/stats` reports them; `None` where no store could give one.
pub struct Stats {
    pub visits: Option<i64>,
    pub access_total: Option<i64>,
    pub redis_up: bool,
    pub postgres_up: bool,
    /// Whether the total is the cached copy in Redis (else PostgreSQL's, or none).
    pub cache_hit: bool,
}
