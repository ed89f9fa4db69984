//! One error type for the whole app: what the log keeps (the full cause chain)
//! and what a user is shown (a short reason on a friendly page).

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use deadpool_redis::redis::RedisError;

use crate::error_page::error_page;

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
    /// The writer task is gone; it is restarted when it panics, so this means the
    /// process is shutting down.
    #[error("the access log writer has stopped")]
    WriterStopped,
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

    /// Whether the store could not be reached in time (refused, lost, timed out,
    /// shutting down), as opposed to a store that answered with an error.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Batch(inner) => inner.is_outage(),
            Self::Timeout | Self::WriterStopped => true,
            Self::PostgresPool(deadpool_postgres::PoolError::Timeout(_))
            | Self::RedisPool(deadpool_redis::PoolError::Timeout(_)) => true,
            Self::MissingTotal | Self::CacheMismatch(_) | Self::Template(_) => false,
            _ => {
                if self.io_error_kind().is_some() {
                    return true;
                }
                if let Some(db) = self.db_error() {
                    let code = db.code().code();
                    return code.starts_with("08")
                        || code.starts_with("57P")
                        || matches!(code, "53300" | "57014" | "55P03");
                }
                if let Some(redis) = self.redis_error() {
                    return redis.is_io_error()
                        || redis.is_timeout()
                        || redis.is_connection_refusal()
                        || redis.is_unrecoverable_error();
                }
                self.postgres_error()
                    .is_some_and(tokio_postgres::Error::is_closed)
            }
        }
    }

    /// Whether the connection the call ran on broke (closed, reset, its session
    /// terminated by the server): a call that failed so before it committed anything
    /// can be made again on a new connection.
    pub fn is_broken_connection(&self) -> bool {
        if let Some(db) = self.db_error() {
            let code = db.code().code();
            return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
        }
        self.io_error_kind().is_some()
            || self
                .postgres_error()
                .is_some_and(tokio_postgres::Error::is_closed)
    }

    /// A few words a user can act on ("connection refused", "timed out"), with no detail
    /// that belongs in the log only.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Batch(inner) => return inner.reason(),
            Self::Timeout => return "timed out",
            Self::PostgresPool(deadpool_postgres::PoolError::Timeout(_))
            | Self::RedisPool(deadpool_redis::PoolError::Timeout(_)) => return "timed out",
            Self::WriterStopped => return "not accepting writes",
            Self::MissingTotal => return "its access total is missing",
            Self::CacheMismatch(_) => return "read back the wrong value",
            Self::Template(_) => return "could not render the page",
            _ => {}
        }
        if let Some(kind) = self.io_error_kind() {
            return match kind {
                io::ErrorKind::ConnectionRefused => "connection refused",
                io::ErrorKind::TimedOut => "timed out",
                io::ErrorKind::NotFound => "host not found",
                _ => "connection lost",
            };
        }
        if let Some(db) = self.db_error() {
            return match db.code().code() {
                "28P01" | "28000" => "authentication failed",
                "3D000" => "database does not exist",
                "57014" => "timed out",
                "55P03" => "timed out waiting for a lock",
                "53300" => "too many connections",
                "57P01" | "57P02" | "57P03" => "shutting down or starting up",
                code if code.starts_with("08") => "connection lost",
                _ => "query failed",
            };
        }
        if let Some(redis) = self.redis_error() {
            return if redis.is_timeout() {
                "timed out"
            } else if redis.is_connection_refusal() {
                "connection refused"
            } else if redis.is_io_error() || redis.is_unrecoverable_error() {
                "connection lost"
            } else {
                "command failed"
            };
        }
        match self.postgres_error() {
            Some(error) if error.is_closed() => "connection lost",
            Some(_) => "unexpected answer",
            None => "not reachable",
        }
    }

    /// Whether retrying cannot help: a wrong password or a database that does not exist.
    pub fn is_permanent(&self) -> bool {
        if let Some(db) = self.db_error() {
            return matches!(db.code().code(), "28P01" | "28000" | "3D000");
        }
        self.redis_error().is_some_and(|e| {
            e.kind() == deadpool_redis::redis::ErrorKind::AuthenticationFailed
                || e.code()
                    .is_some_and(|code| code == "WRONGPASS" || code == "NOAUTH")
        })
    }

    /// Whether the fault is in a store (503) rather than in Tally itself (500).
    pub fn is_store_fault(&self) -> bool {
        !matches!(self, Self::Template(_))
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

    fn db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        self.causes().find_map(|cause| {
            cause
                .downcast_ref::<tokio_postgres::Error>()
                .and_then(tokio_postgres::Error::as_db_error)
                .or_else(|| cause.downcast_ref::<tokio_postgres::error::DbError>())
        })
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

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        if self.is_store_fault() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }

    fn error_response(&self) -> HttpResponse {
        log::error!("request failed: {}", self.chain());
        error_page(self.status_code(), self.reason())
    }
}
