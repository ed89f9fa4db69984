//! The two stores, one module each, and what they share: closing a connection
//! whose call was cut short, and waiting for a store at start-up.

pub mod postgres;
pub mod redis;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use tokio::time::{Instant, sleep, timeout};

use crate::error::Result;

/// How long a cancel request for a cut-short PostgreSQL call may take.
const CANCEL_LIMIT: Duration = Duration::from_secs(2);

/// A pooled connection that is closed, not returned to the pool, unless the call
/// that used it finished: a connection whose call timed out (or whose request went
/// away) may still have a half-read answer on the wire, or a statement running.
pub struct Guarded<C: Detach>(Option<C>);

/// Takes a connection out of its pool so that dropping it closes it.
pub trait Detach {
    fn detach(self);
}

impl Detach for deadpool_postgres::Object {
    /// Also asks the server to cancel whatever the connection was running: closing
    /// the socket alone leaves a backend waiting on a lock until it next writes.
    fn detach(self) {
        let token = self.cancel_token();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = timeout(CANCEL_LIMIT, token.cancel_query(tokio_postgres::NoTls)).await;
            });
        }
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
    #[error("postgres: schema not brought up to date: {0}")]
    Schema(String),
    #[error("postgres: the access total could not be checked: {0}")]
    Total(String),
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
