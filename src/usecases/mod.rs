//! What Tally does, one use case per file: [`count_view`] (a page view),
//! [`reset`] (the visit counter back to zero), [`stats`] (both numbers without
//! counting), [`checks`] (each store asked on demand, and readiness), [`report`]
//! (the metrics). Routes call these on [`Tally`]; these call the stores, and report
//! every outcome to the stores' health.

mod checks;
mod count_view;
mod report;
mod reset;
mod stats;

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::join;
use tokio::time::Instant;

pub use checks::Readiness;
pub use count_view::View;
pub use stats::Stats;

use crate::access_total::AccessTotal;
use crate::config::Settings;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::store_health::StoreHealth;
use crate::stores::StartupError;
use crate::stores::postgres::Postgres;
use crate::stores::redis::Redis;

/// How many of the newest accesses a page shows.
pub const RECENT_LIMIT: i64 = 10;

/// Tally's stores and what it keeps about them; every use case is a method.
pub struct Tally {
    postgres: Postgres,
    redis: Redis,
    access_total: AccessTotal,
    postgres_health: StoreHealth,
    redis_health: StoreHealth,
    metrics: Metrics,
    store_timeout: Duration,
    instance: String,
}

impl Tally {
    /// Start-up: waits for both stores (each with backoff, within the start-up
    /// budget), brings the schema up to date, checks the access total against the
    /// log, and starts the access log writer and the stores' health probes.
    pub async fn start(settings: &Settings, metrics: Metrics) -> Result<Self, StartupError> {
        let postgres = Postgres::new(settings);
        let redis = Redis::new(settings);
        let budget = settings.startup_budget();
        let (postgres_ready, redis_ready) = join(
            postgres.wait_until_ready(budget),
            redis.wait_until_ready(budget),
        )
        .await;
        postgres_ready.and(redis_ready)?;
        let applied = postgres
            .migrate()
            .await
            .map_err(|e| StartupError::Schema(e.chain()))?;
        log::info!(
            "schema up to date ({} migration(s) applied now)",
            applied.len()
        );
        let access_total = AccessTotal::start(
            postgres.clone(),
            redis.clone(),
            settings.batch_max(),
            RECENT_LIMIT,
            metrics.clone(),
        );
        access_total
            .check()
            .await
            .map_err(|e| StartupError::Total(e.chain()))?;
        let postgres_health = StoreHealth::watch("postgres", metrics.clone(), {
            let postgres = postgres.clone();
            move || {
                let postgres = postgres.clone();
                async move { postgres.ping().await }.boxed()
            }
        });
        let redis_health = StoreHealth::watch("redis", metrics.clone(), {
            let redis = redis.clone();
            move || {
                let redis = redis.clone();
                async move { redis.ping().await }.boxed()
            }
        });
        Ok(Self {
            postgres,
            redis,
            access_total,
            postgres_health,
            redis_health,
            metrics,
            store_timeout: settings.store_timeout(),
            instance: settings.instance_name(),
        })
    }

    /// The name pages and the API give as "served by".
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

/// A store's answer and how long it took to come.
pub struct Timed<T> {
    pub result: Result<T>,
    pub elapsed: Duration,
}

/// Runs `call` and measures how long it took.
async fn timed<T>(call: impl Future<Output = Result<T>>) -> Timed<T> {
    let started = Instant::now();
    let result = call.await;
    Timed {
        result,
        elapsed: started.elapsed(),
    }
}
