//! The two stores, one module each, and what they share: closing a connection
//! whose call was cut short, and waiting for a store at start-up.

pub mod access_log;
pub mod postgres;
pub mod redis;

use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, sleep, timeout};

use crate::error::{Error, Result};

/// A pooled connection that is closed, not returned to the pool, unless the call
/// that used it finished: a connection whose call timed out (or whose request went
/// away) may still have a half-read answer on the wire.
pub struct Guarded<C: Detach>(Option<C>);

/// Takes a connection out of its pool so that dropping it closes it.
pub trait Detach {
    fn detach(self);
}

impl Detach for deadpool_postgres::Object {
    fn detach(self) {
        drop(deadpool_postgres::Object::take(self));
    }
}

impl Detach for deadpool_redis::Connection {
    fn detach(self) {
        drop(deadpool_redis::Connection::take(self));
    }
}

impl<C: Detach> Guarded<C> {
    pub fn new(connection: C) -> Self {
        Self(Some(connection))
    }

    /// The call finished: hand the connection back to its pool.
    pub fn release(mut self) {
        drop(self.0.take());
    }
}

impl<C: Detach> Deref for Guarded<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.0
            .as_ref()
            .expect("a guarded connection is present until released")
    }
}

impl<C: Detach> DerefMut for Guarded<C> {
    fn deref_mut(&mut self) -> &mut C {
        self.0
            .as_mut()
            .expect("a guarded connection is present until released")
    }
}

impl<C: Detach> Drop for Guarded<C> {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            connection.detach();
        }
    }
}

/// Opens a connection with `connect` and runs `call` on it, all within `limit`.
/// If the time runs out first, the connection is closed rather than reused.
///
/// `connect` comes boxed: a pool checkout holds the manager's whole connect
/// future (20 KB for Redis), which every future above it would otherwise carry
/// and copy; a page view's future was 43 KB that way, and 2 KB boxed.
pub async fn within<C: Detach, T>(
    limit: Duration,
    connect: Pin<Box<impl Future<Output = Result<C>>>>,
    call: impl AsyncFnOnce(&mut C) -> Result<T>,
) -> Result<T> {
    let work = async {
        let mut connection = Guarded::new(connect.await?);
        let value = call(&mut connection).await?;
        connection.release();
        Ok(value)
    };
    timeout(limit, work).await.map_err(|_| Error::Timeout)?
}

/// Why start-up gave up on a store.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{store} at {addr} refused us: {cause}")]
    Refused {
        store: &'static str,
        addr: String,
        cause: String,
    },
    #[error("{store} at {addr} did not answer within {budget:?}: {cause}")]
    GaveUp {
        store: &'static str,
        addr: String,
        budget: Duration,
        cause: String,
    },
}

/// Tries `attempt` with exponential backoff (250 ms doubling to 5 s) until it
/// succeeds, fails for good, or `budget` is spent. Each failed try logs one line.
pub async fn wait_for(
    store: &'static str,
    addr: &str,
    budget: Duration,
    mut attempt: impl AsyncFnMut() -> Result<()>,
) -> Result<(), StartupError> {
    let deadline = Instant::now() + budget;
    let mut delay = Duration::from_millis(250);
    let mut number = 0;
    loop {
        number += 1;
        let error = match attempt().await {
            Ok(()) => {
                log::info!("{store} ready at {addr} (attempt {number})");
                return Ok(());
            }
            Err(error) => error,
        };
        let cause = error.chain();
        if error.is_permanent() {
            return Err(StartupError::Refused {
                store,
                addr: addr.to_owned(),
                cause,
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StartupError::GaveUp {
                store,
                addr: addr.to_owned(),
                budget,
                cause,
            });
        }
        log::warn!("{store} not ready at {addr} (attempt {number}): {cause}");
        sleep(delay.min(left)).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
