//! How a Redis command reaches Redis: on a connection shared by every call on the
//! same thread, replaced when it breaks. [`super::redis`] holds the commands; this
//! file holds the plumbing under them, and a first reading may skip it.
//!
//! Why not check a connection out of the pool for each command, as the pool is
//! meant to be used? deadpool-redis verifies a connection with a `PING` on every
//! checkout, so every `INCR` would cost two round trips: instructions per view fell
//! by a third (191,568 to 128,614) when calls began to share one connection. A
//! connection from this pool is multiplexed: commands sent at once are pipelined
//! on it, so sharing costs no waiting. One per thread: the connection's own task
//! runs on the thread that opened it, so a command and its answer never wait for
//! another thread to wake up. Weighed alone (docs/performance.md), one connection
//! shared by every thread costs 1.10 x the CPU per view at 256 connections, for
//! all its 6 % fewer instructions: the waking up is what costs.
//!
//! The price is looking after the shared connection by hand. A call that fails on
//! it, times out or is cancelled retires it (closed, not returned to the pool), and
//! the next call checks out a fresh one. A connection can also die while idle
//! (Redis restarted, say): a command on it then fails before it is sent, and only
//! then is it tried again on a fresh connection; a command that may have reached
//! Redis (an `INCR`) never is.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{AsyncConnectionConfig, Cmd, FromRedisValue, RedisResult};
use deadpool_redis::{Connection, Manager, Pool, Runtime};

use super::{Guarded, guarded};
use crate::config::Settings;
use crate::error::{Error, Result};

/// Connections the pool may hold besides one per thread: they cover calls racing
/// to replace a retired one.
const SPARE_CONNECTIONS: usize = 4;

/// The Redis pool, and the connections the calls of each thread share.
#[derive(Clone)]
pub struct SharedConnections {
    pool: Pool,
    shared: Arc<Mutex<Vec<Shared>>>,
    next_id: Arc<AtomicU64>,
}

/// The connection a thread's calls share, and the checkout that holds it from the pool.
struct Shared {
    id: u64,
    thread: ThreadId,
    connection: MultiplexedConnection,
    /// Dropping it closes the connection rather than returning it to the pool.
    _checkout: Guarded<Connection>,
}

impl SharedConnections {
    /// Builds the pool. Connections are opened lazily, so this never waits for the server.
    pub fn new(settings: &Settings) -> Self {
        let timeout = settings.store_timeout;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager = Manager::new_with_config(settings.redis(), connection)
            .expect("a parsed Redis address always makes a manager");
        // One for each of actix's workers (one per core), and for the main thread's
        // writer and probes.
        let threads = thread::available_parallelism().map_or(1, usize::from) + 1;
        let pool = Pool::builder(manager)
            .max_size(threads + SPARE_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .expect("a pool with a runtime always builds");
        Self {
            pool,
            shared: Arc::default(),
            next_id: Arc::default(),
        }
    }

    /// Runs `command` on this thread's shared connection.
    pub async fn run<T: FromRedisValue>(&self, command: &Cmd) -> Result<T> {
        let mut retried = false;
        loop {
            let (id, mut connection) = self.connection().await?;
            let retire = scopeguard::guard(id, |id| self.retire(id));
            match sent(command.query_async(&mut connection)).await {
                Sent::Answered(Ok(value)) => {
                    scopeguard::ScopeGuard::into_inner(retire);
                    return Ok(value);
                }
                Sent::Answered(Err(error)) => {
                    if !error.reason().is_outage() {
                        // Redis answered with an error: the connection is fine.
                        scopeguard::ScopeGuard::into_inner(retire);
                    }
                    return Err(error);
                }
                Sent::Never(error) if retried => return Err(error),
                Sent::Never(_) => retried = true,
            }
        }
    }

    /// Connections checked out of the pool (the shared ones among them).
    pub fn in_use(&self) -> usize {
        let status = self.pool.status();
        status.size.saturating_sub(status.available)
    }

    /// This thread's shared connection, checked out of the pool when there is none.
    async fn connection(&self) -> Result<(u64, MultiplexedConnection)> {
        let thread = thread::current().id();
        let mine = |shared: &&Shared| shared.thread == thread;
        if let Some(shared) = self.all().iter().find(mine) {
            return Ok((shared.id, shared.connection.clone()));
        }
        let checkout = Box::pin(self.pool.get()).await?;
        let mut all = self.all();
        if let Some(shared) = all.iter().find(mine) {
            // Another call on this thread got there first; this checkout goes back.
            return Ok((shared.id, shared.connection.clone()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = (*checkout).clone();
        all.push(Shared {
            id,
            thread,
            connection: connection.clone(),
            _checkout: guarded(checkout),
        });
        Ok((id, connection))
    }

    /// Closes the shared connection `id`: the call on it failed, timed out or was
    /// cancelled.
    fn retire(&self, id: u64) {
        let mut all = self.all();
        if let Some(at) = all.iter().position(|shared| shared.id == id) {
            all.swap_remove(at);
            // Idle connections opened before the failure are as suspect as the
            // shared one; checking each of them would cost the next call its time.
            drop(self.pool.retain(|_, _| false));
        }
    }

    fn all(&self) -> MutexGuard<'_, Vec<Shared>> {
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
async fn sent<T>(command: impl Future<Output = RedisResult<T>>) -> Sent<T> {
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
