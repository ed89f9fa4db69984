//! Redis: the visit counter (fast, in memory, gone when Redis restarts) and the
//! cached copy of the access total. The pool, start-up readiness, and every
//! command Tally sends there.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, FromRedisValue};
use deadpool_redis::{Connection, Manager, Pool, Runtime};

use super::{Guarded, guarded};
use crate::config::Settings;
use crate::error::{Error, Result};

/// The visit counter's key, after the key prefix.
pub const VISITS: &str = "visits";

/// The key of the cached access total of the database epoch `epoch`, after the key prefix.
pub fn cached_total_key(epoch: &str) -> String {
    format!("access_total:{epoch}")
}

/// Sets the key to ARGV[1], expiring in ARGV[2] ms, unless it already holds at least
/// that: totals only grow, so a fill carrying an older total never moves the cached
/// one back past a raise carrying a newer one. (Sent whole with `EVAL`, once per
/// committed batch, not per view; Redis keeps it compiled, by its hash.)
const RAISE_TO: &str = "
    local current = tonumber(redis.call('GET', KEYS[1]))
    local candidate = tonumber(ARGV[1])
    if current == nil or current < candidate then
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
    end
    return 0";

/// Connections the pool may hold besides one per thread that calls Redis (see
/// [`Redis::run`]): they cover calls racing to replace a retired one.
const SPARE_CONNECTIONS: usize = 4;

/// The Redis pool, and the commands Tally sends there. Calls are bounded by their
/// caller ([`crate::store_health::StoreHealth::call`]); see [`crate::stores`] for
/// the back-stops.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    /// The connections calls share, one per thread; see [`Redis::run`].
    shared: Arc<Mutex<Vec<Shared>>>,
    next_id: Arc<AtomicU64>,
    prefix: String,
    /// `INCR` of the visit counter, built once: every page view sends it.
    count_visit: redis::Cmd,
}

impl Redis {
    /// Builds the pool. Connections are opened lazily, so this never waits for the server.
    pub fn new(settings: &Settings) -> Self {
        let timeout = settings.store_timeout;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager = Manager::new_with_config(settings.redis(), connection)
            .expect("a parsed Redis address always makes a manager");
        // One shared connection for each of actix's workers (one per core), and
        // for the main thread's writer and probes.
        let threads = std::thread::available_parallelism().map_or(1, usize::from) + 1;
        let pool = Pool::builder(manager)
            .max_size(threads + SPARE_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .expect("a pool with a runtime always builds");
        let prefix = settings.redis_key_prefix.to_owned();
        let mut count_visit = redis::cmd("INCR");
        count_visit.arg(format!("{prefix}{VISITS}"));
        Self {
            pool,
            shared: Arc::default(),
            next_id: Arc::default(),
            prefix,
            count_visit,
        }
    }

    /// Connections checked out of the pool (the shared one among them).
    pub fn connections_in_use(&self) -> usize {
        let status = self.pool.status();
        status.size.saturating_sub(status.available)
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub async fn ping(&self) -> Result<()> {
        let _: String = self.run(&redis::cmd("PING")).await?;
        Ok(())
    }

    /// Counts one visit; answers the counter after it.
    pub async fn count_visit(&self) -> Result<i64> {
        self.run(&self.count_visit).await
    }

    pub async fn reset_visits(&self) -> Result<()> {
        self.run(redis::cmd("SET").arg(self.key(VISITS)).arg(0))
            .await
    }

    /// The visit counter (0 before the first visit).
    pub async fn visits(&self) -> Result<i64> {
        let visits: Option<i64> = self.run(redis::cmd("GET").arg(self.key(VISITS))).await?;
        Ok(visits.unwrap_or(0))
    }

    pub async fn cached_total(&self, epoch: &str) -> Result<Option<i64>> {
        let key = self.key(&cached_total_key(epoch));
        self.run(redis::cmd("GET").arg(key)).await
    }

    /// Raises the cached access total of `epoch` to `total`, to expire after `ttl`,
    /// unless it already holds at least that.
    pub async fn raise_cached_total(&self, epoch: &str, total: i64, ttl: Duration) -> Result<()> {
        let key = self.key(&cached_total_key(epoch));
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut raise = redis::cmd("EVAL");
        raise.arg(RAISE_TO).arg(1).arg(key).arg(total).arg(ttl_ms);
        let _: i64 = self.run(&raise).await?;
        Ok(())
    }

    /// Writes a key of its own and reads it back; fails if the value differs.
    pub async fn check(&self) -> Result<()> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let key = self.key(&format!("cache_check:{token}"));
        let () = self
            .run(redis::cmd("SET").arg(&key).arg(&token).arg("EX").arg(10))
            .await?;
        let read: Option<String> = self.run(redis::cmd("GET").arg(&key)).await?;
        if read.as_deref() == Some(token.as_str()) {
            Ok(())
        } else {
            Err(Error::CacheMismatch(read))
        }
    }

    /// Runs `command` on the connection every call on this thread shares.
    ///
    /// A Redis connection from this pool is multiplexed: concurrent commands are
    /// pipelined on it. So the calls of a thread share one checked-out connection
    /// instead of checking one out each, which would cost every call a `PING` round
    /// trip (deadpool-redis verifies a connection on every checkout). One per thread:
    /// the connection's own task runs on the thread that opened it, so a command
    /// and its answer never wait for another thread to wake up. A call that fails
    /// on the connection, times out or is cancelled retires it (closed, not
    /// returned to the pool), and the next call checks out a fresh one.
    ///
    /// A connection can also die while idle: Redis restarted, say. A command on it
    /// then fails before it is sent, and only then is it tried again on a fresh
    /// connection; a command that may have reached Redis (an `INCR`) never is.
    async fn run<T: FromRedisValue>(&self, command: &redis::Cmd) -> Result<T> {
        let mut retried = false;
        loop {
            let (id, mut connection) = self.shared_connection().await?;
            let retire = RetireOnDrop {
                redis: self,
                id: Some(id),
            };
            match sent(command.query_async(&mut connection)).await {
                Sent::Answered(Ok(value)) => {
                    retire.disarm();
                    return Ok(value);
                }
                Sent::Answered(Err(error)) => {
                    if !error.reason().is_outage() {
                        // Redis answered with an error: the connection is fine.
                        retire.disarm();
                    }
                    return Err(error);
                }
                Sent::Never(error) if retried => return Err(error),
                Sent::Never(_) => {
                    drop(retire);
                    retried = true;
                }
            }
        }
    }

    /// The shared connection, checked out of the pool when there is none.
    async fn shared_connection(&self) -> Result<(u64, MultiplexedConnection)> {
        let thread = std::thread::current().id();
        let mine = |shared: &Shared| shared.thread == thread;
        if let Some(shared) = self.shared().iter().find(|shared| mine(shared)) {
            return Ok((shared.id, shared.connection.clone()));
        }
        let connection = Box::pin(self.pool.get()).await?;
        let mut all = self.shared();
        if let Some(shared) = all.iter().find(|shared| mine(shared)) {
            // Another call on this thread got there first; this checkout goes back.
            return Ok((shared.id, shared.connection.clone()));
        }
        let shared = Shared {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            thread,
            connection: (*connection).clone(),
            _checkout: guarded(connection),
        };
        let found = (shared.id, shared.connection.clone());
        all.push(shared);
        Ok(found)
    }

    fn shared(&self) -> MutexGuard<'_, Vec<Shared>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A command's outcome, telling a command that never left Tally from one that may
/// have reached Redis.
enum Sent<T> {
    Answered(Result<T>),
    Never(Error),
}

/// Runs a command, noting whether it failed before it was sent. redis-rs hands a
/// command to its connection's driver task through a channel and then waits for the
/// answer, so a command always waits at least once after it is handed over; one
/// that fails on its very first poll was refused by a channel whose driver had
/// already ended: the connection had closed, and the command never left.
async fn sent<T>(command: impl Future<Output = redis::RedisResult<T>>) -> Sent<T> {
    let mut command = pin!(command);
    let mut first_poll = true;
    poll_fn(|context| {
        let first = std::mem::replace(&mut first_poll, false);
        command
            .as_mut()
            .poll(context)
            .map(|outcome| match outcome.map_err(Error::from) {
                Err(error) if first && error.reason().is_outage() => Sent::Never(error),
                outcome => Sent::Answered(outcome),
            })
    })
    .await
}

/// The connection a thread's calls share, and the checkout that holds it from the pool.
struct Shared {
    id: u64,
    thread: std::thread::ThreadId,
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
        let mut all = self.redis.shared();
        if let Some(at) = all.iter().position(|shared| shared.id == id) {
            all.swap_remove(at);
            // Idle connections opened before the failure are as suspect as the
            // shared one; checking each of them would cost the next call its time.
            drop(self.redis.pool.retain(|_, _| false));
        }
    }
}
