//! What the routes share, and the requests that need both stores: a page view,
//! the stats, readiness. Each store is asked on its own clock, so one that is
//! down or slow costs its own card, never the other one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::join;
use tokio::time::{Instant, timeout_at};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::stores::StartupError;
use crate::stores::access_log::{AccessLog, NewAccess, Recorded};
use crate::stores::postgres::Postgres;
use crate::stores::redis::Redis;

/// How many of the newest accesses a page shows.
pub const RECENT_LIMIT: i64 = 10;

pub struct AppState {
    pub postgres: Postgres,
    pub redis: Redis,
    pub access_log: AccessLog,
    /// What this process knows of the cached access total, so that `/api/stats`
    /// reads PostgreSQL instead while the cache may be behind (a raise failed,
    /// say, with Redis stalled but keeping the key).
    cache: Arc<CacheWatermarks>,
    redis_health: Health,
    postgres_health: Health,
}

/// Whether page views last found a store working, so the log says when it goes
/// down and when it is back, rather than once for every view in between.
struct Health {
    store: &'static str,
    down: AtomicBool,
}

impl Health {
    fn new(store: &'static str) -> Self {
        Self {
            store,
            down: AtomicBool::new(false),
        }
    }

    fn note(&self, error: Option<&Error>) {
        let store = self.store;
        match error {
            Some(error) => {
                if !self.down.swap(true, Ordering::SeqCst) {
                    log::warn!("{store}: pages show it as unavailable: {}", error.chain());
                } else {
                    log::debug!("{store}: page view shown without it: {}", error.chain());
                }
            }
            None if self.down.swap(false, Ordering::SeqCst) => {
                log::info!("{store}: page views use it again");
            }
            None => {}
        }
    }
}

/// A store's answer and how long it took to come.
pub struct Timed<T> {
    pub result: Result<T>,
    pub elapsed: Duration,
}

/// Runs `call` and measures how long it took.
pub async fn timed<T>(call: impl Future<Output = Result<T>>) -> Timed<T> {
    let started = Instant::now();
    let result = call.await;
    Timed {
        result,
        elapsed: started.elapsed(),
    }
}

/// What one page view did in each store.
pub struct View {
    pub visits: Timed<i64>,
    pub access: Timed<Recorded>,
}

/// Where `/api/stats` found the access total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
}

/// The numbers without counting a view: Redis first, PostgreSQL on a miss.
pub struct Stats {
    pub visits: Option<i64>,
    pub access_total: Option<i64>,
    pub redis_up: bool,
    pub postgres_up: bool,
    pub cache: CacheOutcome,
}

/// The highest access total this process committed, and the highest it saw
/// reach the cache. Both only grow; the cache is current while the second
/// has caught up with the first.
#[derive(Default)]
struct CacheWatermarks {
    committed: AtomicI64,
    cached: AtomicI64,
}

impl CacheWatermarks {
    fn raised(&self, total: i64) {
        self.cached.fetch_max(total, Ordering::SeqCst);
    }

    fn is_current(&self) -> bool {
        self.cached.load(Ordering::SeqCst) >= self.committed.load(Ordering::SeqCst)
    }
}

impl AppState {
    /// Builds both pools and starts the access log writer. Nothing is connected yet.
    pub fn new(settings: &Settings) -> Self {
        let postgres = Postgres::new(settings);
        let access_log = AccessLog::start(postgres.clone(), settings.batch_max, RECENT_LIMIT);
        Self {
            redis: Redis::new(settings),
            postgres,
            access_log,
            cache: Arc::default(),
            redis_health: Health::new("redis"),
            postgres_health: Health::new("postgres"),
        }
    }

    /// Waits for both stores at once, each with backoff, within `budget`.
    pub async fn wait_until_ready(&self, budget: Duration) -> Result<(), StartupError> {
        let (postgres, redis) = join(
            self.postgres.wait_until_ready(budget),
            self.redis.wait_until_ready(budget),
        )
        .await;
        postgres.and(redis)
    }

    /// One page view: counts a visit in Redis and appends a row to the access log,
    /// concurrently. Answers within the store timeout whatever the stores do.
    pub async fn view(&self, access: NewAccess) -> View {
        let deadline = Instant::now() + self.postgres.timeout();
        let log = async {
            let recorded = timeout_at(deadline, self.access_log.record(access))
                .await
                .map_err(|_| Error::Timeout)??;
            // Keeps the total that /api/stats reads from falling behind this commit:
            // once per batch, and this view answers only after it.
            let raise = recorded.batch.after_commit.get_or_init(|| {
                let redis = self.redis.clone();
                let cache = Arc::clone(&self.cache);
                let total = recorded.batch.total;
                cache.committed.fetch_max(total, Ordering::SeqCst);
                async move {
                    match redis.raise_cached_total(total).await {
                        Ok(()) => cache.raised(total),
                        Err(error) => {
                            log::debug!("redis: cached access total not raised: {}", error.chain());
                        }
                    }
                }
                .boxed()
                .shared()
            });
            let _ = timeout_at(deadline, raise.clone()).await;
            Ok(recorded)
        };
        let (visits, access) = join(timed(self.redis.count_visit()), timed(log)).await;
        self.redis_health.note(visits.result.as_ref().err());
        self.postgres_health.note(access.result.as_ref().err());
        View { visits, access }
    }

    /// The numbers as `/api/stats` reports them, cache-aside for the access total.
    pub async fn stats(&self) -> Stats {
        let (visits, cached) = match self.redis.counters().await {
            Ok((visits, cached)) => (Some(visits), cached),
            Err(_) => (None, None),
        };
        let redis_up = visits.is_some();
        if let Some(total) = cached.filter(|_| self.cache.is_current()) {
            return Stats {
                visits,
                access_total: Some(total),
                redis_up,
                postgres_up: self.postgres.ping().await.is_ok(),
                cache: CacheOutcome::Hit,
            };
        }
        let total = self.postgres.access_total().await.ok();
        if let (Some(total), true) = (total, redis_up) {
            // A miss fills the cache; a raise never moves it backwards.
            if self.redis.raise_cached_total(total).await.is_ok() {
                self.cache.raised(total);
            }
        }
        Stats {
            visits,
            access_total: total,
            redis_up,
            postgres_up: total.is_some(),
            cache: CacheOutcome::Miss,
        }
    }

    /// Both stores' pings, concurrently.
    pub async fn readiness(&self) -> (Timed<Duration>, Timed<Duration>) {
        join(timed(self.postgres.ping()), timed(self.redis.ping())).await
    }
}
