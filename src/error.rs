//! One error type for the whole app: what the log keeps (the full cause chain)
//! and what a user is shown (a short reason on a friendly page).

use std::error::Error as StdError;
use std::io;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
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
    #[error("the access log writer has stopped")]
    WriterStopped,
    /// The batch this view was written in failed; the writer logged why.
    #[error("the batch of page views failed: {0}")]
    BatchFailed(&'static str),
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

    /// A few words a user can act on ("connection refused", "timed out"), with no detail
    /// that belongs in the log only.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Timeout => return "timed out",
            Self::PostgresPool(deadpool_postgres::PoolError::Timeout(_))
            | Self::RedisPool(deadpool_redis::PoolError::Timeout(_)) => return "timed out",
            Self::WriterStopped => return "not accepting writes",
            Self::BatchFailed(reason) => return reason,
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
                "57P01" | "57P02" | "57P03" => "shutting down or starting up",
                _ => "query failed",
            };
        }
        match self.redis_error() {
            Some(e) if e.is_timeout() => "timed out",
            Some(e) if e.is_connection_refusal() => "connection refused",
            Some(e) if e.is_io_error() || e.is_unrecoverable_error() => "connection lost",
            _ => "not reachable",
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
        crate::routes::error_page(self.status_code(), self.reason())
    }
}
