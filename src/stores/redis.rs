//! Redis: the visit counter (fast, in memory, gone when Redis restarts) and the
//! cached access total that `/api/stats` reads cache-aside.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, Script};
use deadpool_redis::{Connection, Manager, Pool, Runtime};
use tokio::time::{Instant, timeout};

use super::{Guarded, StartupError, wait_for};
use crate::config::Settings;
use crate::error::{Error, Result};

/// Sets the key to the argument only if that is greater: totals only grow, so
/// writers racing each other can never move the cached total backwards.
static RAISE_TO: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local current = tonumber(redis.call('GET', KEYS[1]))
        local candidate = tonumber(ARGV[1])
        if current == nil or current < candidate then
            redis.call('SET', KEYS[1], ARGV[1])
            return 1
        end
        return 0
        ",
    )
});

/// Connections the pool may hold: calls share one (see [`Redis::within`]); the
/// rest only cover two calls racing to replace a retired one.
const POOL_SIZE: usize = 4;

/// The Redis pool, with every call bounded by the store timeout.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    /// The connection calls share; see [`Redis::within`].
    shared: Arc<Mutex<Option<Shared>>>,
    next_id: Arc<AtomicU64>,
    timeout: Duration,
    addr: String,
    visits_key: String,
    total_key: String,
    check_key: String,
}

impl Redis {
    /// Builds the pool. Connections are opened lazily, so this never waits for the server.
    pub fn new(settings: &Settings) -> Self {
        let timeout = settings.store_timeout;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager = Manager::new_with_config(settings.redis_url.as_str(), connection)
            .expect("REDIS_URL was checked when the settings were read");
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .expect("a pool with a runtime always builds");
        let prefix = &settings.redis_key_prefix;
        Self {
            pool,
            shared: Arc::default(),
            next_id: Arc::default(),
            timeout,
            addr: settings.redis_addr(),
            visits_key: format!("{prefix}visits"),
            total_key: format!("{prefix}access_total"),
            check_key: format!("{prefix}cache_check"),
        }
    }

    /// `host:port`, safe to log.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Waits until Redis answers `PING`, as start-up does.
    pub async fn wait_until_ready(&self, budget: Duration) -> Result<(), StartupError> {
        wait_for("redis", &self.addr, budget, async || {
            self.ping().await.map(drop)
        })
        .await
    }

    /// Runs `call` within the store timeout on the connection every call shares.
    ///
    /// A Redis connection from this pool is multiplexed: concurrent commands are
    /// pipelined on it. So calls share one checked-out connection instead of
    /// checking one out each, which would cost every call a `PING` round trip
    /// (deadpool-redis verifies a connection on every checkout). A call that
    /// fails, times out or is cancelled retires the shared connection (closed,
    /// not returned to the pool), and the next call checks out a fresh one.
    async fn within<T>(
        &self,
        call: impl AsyncFnOnce(&mut MultiplexedConnection) -> Result<T>,
    ) -> Result<T> {
        let work = async {
            let (id, mut connection) = self.shared_connection().await?;
            let retire = RetireOnDrop {
                redis: self,
                id: Some(id),
            };
            let value = call(&mut connection).await?;
            retire.disarm();
            Ok(value)
        };
        timeout(self.timeout, work)
            .await
            .map_err(|_| Error::Timeout)?
    }

    /// The shared connection, checked out of the pool when there is none.
    async fn shared_connection(&self) -> Result<(u64, MultiplexedConnection)> {
        if let Some(shared) = self.slot().as_ref() {
            return Ok((shared.id, shared.connection.clone()));
        }
        let connection = Box::pin(self.pool.get()).await?;
        let mut slot = self.slot();
        let shared = slot.get_or_insert_with(|| Shared {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            connection: (*connection).clone(),
            _checkout: Guarded::new(connection),
        });
        Ok((shared.id, shared.connection.clone()))
    }

    fn slot(&self) -> MutexGuard<'_, Option<Shared>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks for `PING`; answers how long the round trip took.
    pub async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        self.within(async |connection| {
            let _: String = redis::cmd("PING").query_async(connection).await?;
            Ok(())
        })
        .await?;
        Ok(started.elapsed())
    }

    /// Counts one visit; answers the counter after it.
    pub async fn count_visit(&self) -> Result<i64> {
        self.within(async |connection| {
            Ok(redis::cmd("INCR")
                .arg(&self.visits_key)
                .query_async(connection)
                .await?)
        })
        .await
    }

    /// Sets the visit counter back to zero.
    pub async fn reset_visits(&self) -> Result<()> {
        self.within(async |connection| {
            let () = redis::cmd("SET")
                .arg(&self.visits_key)
                .arg(0)
                .query_async(connection)
                .await?;
            Ok(())
        })
        .await
    }

    /// The visit counter (0 before the first visit) and the cached access total, if cached.
    pub async fn counters(&self) -> Result<(i64, Option<i64>)> {
        self.within(async |connection| {
            let (visits, total): (Option<i64>, Option<i64>) = redis::cmd("MGET")
                .arg(&self.visits_key)
                .arg(&self.total_key)
                .query_async(connection)
                .await?;
            Ok((visits.unwrap_or(0), total))
        })
        .await
    }

    /// Raises the cached access total to `total`, unless it is already at least that.
    pub async fn raise_cached_total(&self, total: i64) -> Result<()> {
        self.within(async |connection| {
            let _: i64 = RAISE_TO
                .key(&self.total_key)
                .arg(total)
                .invoke_async(connection)
                .await?;
            Ok(())
        })
        .await
    }

    /// Writes a test key, reads it back and compares; answers how long that took.
    pub async fn check(&self) -> Result<Duration> {
        let started = Instant::now();
        let token = format!(
            "{}",
            std::time::UNIX_EPOCH
                .elapsed()
                .unwrap_or_default()
                .as_nanos()
        );
        // In one MULTI, so a concurrent check cannot overwrite the key in between.
        let (read,): (Option<String>,) = self
            .within(async |connection| {
                Ok(redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&self.check_key)
                    .arg(&token)
                    .arg("EX")
                    .arg(60)
                    .ignore()
                    .cmd("GET")
                    .arg(&self.check_key)
                    .query_async(connection)
                    .await?)
            })
            .await?;
        if read.as_deref() == Some(token.as_str()) {
            Ok(started.elapsed())
        } else {
            Err(Error::CacheMismatch(read))
        }
    }
}

/// The connection the calls share, and the checkout that holds it from the pool.
struct Shared {
    id: u64,
    connection: MultiplexedConnection,
    /// Dropping it closes the connection rather than returning it to the pool.
    _checkout: Guarded<Connection>,
}

/// Retires the shared connection `id` when dropped before [`RetireOnDrop::disarm`]:
/// the call on it failed, timed out or was cancelled.
struct RetireOnDrop<'a> {
    redis: &'a Redis,
    id: Option<u64>,
}

impl RetireOnDrop<'_> {
    fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for RetireOnDrop<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let mut slot = self.redis.slot();
        if slot.as_ref().is_some_and(|shared| shared.id == id) {
            *slot = None;
            // Idle connections opened before the failure are as suspect as the
            // shared one; checking each of them would cost the next call its time.
            drop(self.redis.pool.retain(|_, _| false));
        }
    }
}
