//! The stats: both numbers without counting a view. The access total is read
//! cache-aside (see [`crate::access_total`]): Redis first, PostgreSQL on a miss.

use futures_util::future::join;

use super::Tally;

/// Where a read of the total found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The cached copy in Redis.
    Cache,
    /// PostgreSQL (the cache missed, or could not be trusted).
    Database,
}

/// The numbers as `/api/stats` reports them.
pub struct Stats {
    /// The visit counter, or `None` when Redis could not be read.
    pub visits: Option<i64>,
    /// The access total, or `None` when neither the cache nor PostgreSQL could give it.
    pub access_total: Option<i64>,
    pub redis_up: bool,
    pub postgres_up: bool,
    /// Where the access total came from.
    pub source: Option<Source>,
}

impl Tally {
    /// Reads the visit counter and the cached total at once, then PostgreSQL's total
    /// if the cache missed.
    pub async fn stats(&self) -> Stats {
        let (visits, cached) = join(
            self.redis_health.call(self.redis.visits()),
            self.redis_health.call(self.access_total.cached()),
        )
        .await;
        let (total, postgres_up) = match cached.result {
            // A cache hit did not ask PostgreSQL: its probe knows.
            Ok(Some(total)) => (Some((total, Source::Cache)), self.postgres_health.is_up()),
            _ => {
                let read = self
                    .postgres_health
                    .call(self.access_total.from_database())
                    .await;
                let up = read.result.is_ok();
                (read.result.ok().map(|total| (total, Source::Database)), up)
            }
        };
        self.metrics
            .cache(matches!(total, Some((_, Source::Cache))));
        Stats {
            redis_up: visits.result.is_ok(),
            visits: visits.result.ok(),
            access_total: total.map(|(total, _)| total),
            postgres_up,
            source: total.map(|(_, source)| source),
        }
    }
}
