//! The stats: both numbers without counting a view. The access total is read
//! cache-aside (see [`crate::access_total`]).

use futures_util::future::join;

use super::{Tally, timed};
use crate::access_total::Source;

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
    /// Reads the visit counter and the access total, at once.
    pub async fn stats(&self) -> Stats {
        let (visits, total) =
            join(timed(self.redis.visits()), timed(self.access_total.read())).await;
        self.redis_health.observe(&visits.result, visits.elapsed);
        let postgres_up = match &total.result {
            // A cache hit did not ask PostgreSQL: its probe knows.
            Ok((_, Source::Cache)) => self.postgres_health.is_up(),
            _ => {
                self.postgres_health.observe(&total.result, total.elapsed);
                total.result.is_ok()
            }
        };
        let (visits, total) = (visits.result, total.result);
        self.metrics.cache(matches!(total, Ok((_, Source::Cache))));
        Stats {
            redis_up: visits.is_ok(),
            visits: visits.ok(),
            access_total: total.as_ref().ok().map(|(total, _)| *total),
            postgres_up,
            source: total.ok().map(|(_, source)| source),
        }
    }
}
