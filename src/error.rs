//! One error type for the whole app: what the log keeps (the whole cause chain) and
//! what a visitor is told (a [`Reason`], which each language words its own way).

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use deadpool_redis::redis::RedisError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("timed out")]
    Timeout,
    #[error("postgres")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres")]
    PostgresPool(#[from] deadpool_postgres::PoolError),
    #[error("redis")]
    Redis(#[from] RedisError),
    #[error("redis")]
    RedisPool(#[from] deadpool_redis::PoolError),
    /// The access log writer is gone. It survives its own panics, so only a runtime
    /// that is shutting down drops it.
    #[error("the access log writer has stopped")]
    WriterGone,
    /// The access log writer panicked while writing this view's batch: a bug in
    /// Tally, not a store that failed.
    #[error("the access log writer panicked: {0}")]
    WriterPanicked(String),
    /// The batch this view was written in failed, for the reason inside (shared by
    /// every view of the batch).
    #[error("the batch of page views failed")]
    Batch(#[source] Arc<Error>),
    #[error("the access total's row is missing")]
    MissingTotal,
    #[error("the cache check read back {0:?}")]
    CacheMismatch(Option<String>),
    #[error("template")]
    Template(#[from] askama::Error),
}

/// Why a call failed, in a few words a visitor can act on. Every language has a
/// text for each (an exhaustive `match`), metrics count errors by it, and the API
/// gives it in English.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    TimedOut,
    LockTimedOut,
    ConnectionRefused,
    HostNotFound,
    ConnectionLost,
    AuthenticationFailed,
    NoSuchDatabase,
    TooManyConnections,
    ShuttingDown,
    QueryFailed,
    CommandFailed,
    UnexpectedAnswer,
    NotReachable,
    TotalMissing,
    ReadBackWrong,
    /// The writer is gone: the process is stopping.
    NotAcceptingWrites,
    /// A bug in Tally.
    WriterPanicked,
    /// A bug in Tally.
    PageNotRendered,
}

impl Reason {
    /// In English, as the API and the English pages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TimedOut => "timed out",
            Self::LockTimedOut => "timed out waiting for a lock",
            Self::ConnectionRefused => "connection refused",
            Self::HostNotFound => "host not found",
            Self::ConnectionLost => "connection lost",
            Self::AuthenticationFailed => "authentication failed",
            Self::NoSuchDatabase => "database does not exist",
            Self::TooManyConnections => "too many connections",
            Self::ShuttingDown => "shutting down or starting up",
            Self::QueryFailed => "query failed",
            Self::CommandFailed => "command failed",
            Self::UnexpectedAnswer => "unexpected answer",
            Self::NotReachable => "not reachable",
            Self::TotalMissing => "its access total is missing",
            Self::ReadBackWrong => "read back the wrong value",
            Self::NotAcceptingWrites => "not accepting writes",
            Self::WriterPanicked => "the access log writer failed",
            Self::PageNotRendered => "could not render the page",
        }
    }

    /// A bug in Tally.
    pub fn is_bug(self) -> bool {
        matches!(self, Self::WriterPanicked | Self::PageNotRendered)
    }

    /// The store could not be reached in time, as opposed to one that answered.
    pub fn is_outage(self) -> bool {
        matches!(
            self,
            Self::TimedOut
                | Self::LockTimedOut
                | Self::ConnectionRefused
                | Self::HostNotFound
                | Self::ConnectionLost
                | Self::TooManyConnections
                | Self::ShuttingDown
                | Self::NotAcceptingWrites
        )
    }
}

impl Error {
    /// The whole cause chain on one line, for the log: tokio-postgres keeps
    /// "connection refused" in a source, not in its own message.
    pub fn chain(&self) -> String {
        let mut line = self.to_string();
        for cause in self.causes().filter(|cause| !is_pool_wrapper(*cause)) {
            let text = cause.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
        }
        line
    }

    /// Whether the connection the call ran on broke (closed, reset, its session
    /// terminated by the server): a call that failed so before it committed anything
    /// can be made again on a new connection.
    pub fn is_broken_connection(&self) -> bool {
        if let Some(code) = self.sql_state() {
            return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
        }
        self.io_error_kind().is_some()
            || self
                .postgres_error()
                .is_some_and(tokio_postgres::Error::is_closed)
    }

    /// Whether retrying cannot help: a wrong password or a database that does not exist.
    pub fn is_permanent(&self) -> bool {
        if let Some(code) = self.sql_state() {
            return matches!(code, "28P01" | "28000" | "3D000");
        }
        self.redis_error().is_some_and(|e| {
            e.kind() == deadpool_redis::redis::ErrorKind::AuthenticationFailed
                || e.code()
                    .is_some_and(|code| code == "WRONGPASS" || code == "NOAUTH")
        })
    }

    /// What a visitor is told, with no detail that belongs in the log only.
    pub fn reason(&self) -> Reason {
        match self {
            Self::Batch(inner) => return inner.reason(),
            Self::Timeout
            | Self::PostgresPool(deadpool_postgres::PoolError::Timeout(_))
            | Self::RedisPool(deadpool_redis::PoolError::Timeout(_)) => return Reason::TimedOut,
            Self::WriterGone => return Reason::NotAcceptingWrites,
            Self::WriterPanicked(_) => return Reason::WriterPanicked,
            Self::MissingTotal => return Reason::TotalMissing,
            Self::CacheMismatch(_) => return Reason::ReadBackWrong,
            Self::Template(_) => return Reason::PageNotRendered,
            _ => {}
        }
        if let Some(kind) = self.io_error_kind() {
            return match kind {
                io::ErrorKind::ConnectionRefused => Reason::ConnectionRefused,
                io::ErrorKind::TimedOut => Reason::TimedOut,
                io::ErrorKind::NotFound => Reason::HostNotFound,
                _ => Reason::ConnectionLost,
            };
        }
        if let Some(code) = self.sql_state() {
            return match code {
                "28P01" | "28000" => Reason::AuthenticationFailed,
                "3D000" => Reason::NoSuchDatabase,
                "57014" => Reason::TimedOut,
                "55P03" => Reason::LockTimedOut,
                "53300" => Reason::TooManyConnections,
                "57P01" | "57P02" | "57P03" => Reason::ShuttingDown,
                code if code.starts_with("08") || code.starts_with("57P") => Reason::ConnectionLost,
                _ => Reason::QueryFailed,
            };
        }
        if let Some(redis) = self.redis_error() {
            return if redis.is_timeout() {
                Reason::TimedOut
            } else if redis.is_connection_refusal() {
                Reason::ConnectionRefused
            } else if redis.is_io_error() || redis.is_unrecoverable_error() {
                Reason::ConnectionLost
            } else {
                Reason::CommandFailed
            };
        }
        match self.postgres_error() {
            Some(error) if error.is_closed() => Reason::ConnectionLost,
            Some(_) => Reason::UnexpectedAnswer,
            None => Reason::NotReachable,
        }
    }

    fn causes(&self) -> impl Iterator<Item = &(dyn StdError + 'static)> {
        std::iter::successors(self.source(), |&cause| cause.source())
    }

    fn io_error_kind(&self) -> Option<io::ErrorKind> {
        self.causes()
            .find_map(|cause| cause.downcast_ref::<io::Error>())
            .map(io::Error::kind)
    }

    fn postgres_error(&self) -> Option<&tokio_postgres::Error> {
        self.causes()
            .find_map(|cause| cause.downcast_ref::<tokio_postgres::Error>())
    }

    /// The SQLSTATE PostgreSQL answered with, if it answered with an error.
    fn sql_state(&self) -> Option<&str> {
        self.causes()
            .find_map(|cause| {
                cause
                    .downcast_ref::<tokio_postgres::Error>()
                    .and_then(tokio_postgres::Error::as_db_error)
                    .or_else(|| cause.downcast_ref::<tokio_postgres::error::DbError>())
            })
            .map(|db| db.code().code())
    }

    fn redis_error(&self) -> Option<&RedisError> {
        self.causes()
            .find_map(|cause| cause.downcast_ref::<RedisError>())
    }
}

/// deadpool's "error occurred while creating a new object", which only repeats its source.
fn is_pool_wrapper(cause: &(dyn StdError + 'static)) -> bool {
    matches!(
        cause.downcast_ref::<deadpool_postgres::PoolError>(),
        Some(deadpool_postgres::PoolError::Backend(_))
    ) || matches!(
        cause.downcast_ref::<deadpool_redis::PoolError>(),
        Some(deadpool_redis::PoolError::Backend(_))
    )
}
