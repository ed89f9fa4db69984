//! What Tally does, one use case per file: [`count_view`] (a page view),
//! [`reset`] (the visit counter back to zero), [`stats`] (both numbers without
//! counting), [`checks`] (each store asked on demand, and readiness), [`report`]
//! (the metrics). Routes call these on [`Tally`]; these call the stores, each call
//! through its store's health ([`StoreHealth::call`]).

mod checks;
mod count_view;
mod report;
mod reset;
mod stats;

pub use stats::Source;

pub use crate::store_health::Timed;

use crate::access_total::AccessTotal;
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
    pub(crate) access_total: AccessTotal,
    pub(crate) postgres_health: StoreHealth,
    pub(crate) redis_health: StoreHealth,
    pub(crate) metrics: Metrics,
    /// The name pages and the API give as "served by".
    pub(crate) instance: String,
}

impl Tally {
    /// The name pages and the API give as "served by".
    pub fn instance(&self) -> &str {
        &self.instance
    }
}
