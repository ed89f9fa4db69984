//! The two stores, one module each, and what they share: closing a connection
//! whose call was cut short.
//!
//! How long a store may take is the store timeout (`STORE_TIMEOUT_MS`), and one
//! place applies it to Tally's calls: [`crate::store_health::StoreHealth::call`]
//! (the access log writer gets the same limit as each view's deadline). What is
//! set here from the same setting is a back-stop, for what runs outside such a
//! call (start-up's attempts, the cached total raised after a commit) and for a
//! store that stalls in a way the caller's timer cannot see:
//!
//! - the pools' `wait`, `create` and `recycle` timeouts, and tokio-postgres's
//!   `connect_timeout`;
//! - redis-rs's connection and response timeouts;
//! - PostgreSQL's own `statement_timeout` and `lock_timeout` on every connection
//!   (`idle_in_transaction_session_timeout` at five times it), so the server ends a
//!   statement Tally stopped waiting for even when the cancel request is lost.

pub mod postgres;
pub mod redis;
mod redis_connections;

use std::time::Duration;

use scopeguard::ScopeGuard;
use tokio::time::timeout;

/// How long a cancel request for a cut-short PostgreSQL call may take.
const CANCEL_LIMIT: Duration = Duration::from_secs(2);

/// A pooled connection that is closed, not returned to the pool, unless the call
/// that used it finished ([`release`]): a connection whose call timed out (or whose
/// request went away) may still have a half-read answer on the wire, or a
/// statement running.
pub type Guarded<C> = ScopeGuard<C, fn(C)>;

/// Guards `connection` until it is [`release`]d.
pub fn guarded<C: Detach>(connection: C) -> Guarded<C> {
    scopeguard::guard(connection, C::detach as fn(C))
}

/// The call finished: hand the connection back to its pool.
pub fn release<C>(connection: Guarded<C>) {
    drop(ScopeGuard::into_inner(connection));
}

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
