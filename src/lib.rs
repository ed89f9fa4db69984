//! Tally: a visit counter in Redis beside an access log in PostgreSQL.
//!
//! The layers, each depending only on those below it:
//!
//! - [`startup`] assembles the app; [`routes`] and [`middleware`] are its HTTP side.
//! - [`usecases`]: what Tally does (count a view, reset, stats, checks).
//! - [`access_total`] (written, cached, repaired) and [`store_health`] (up or down).
//! - [`stores`]: PostgreSQL and Redis, their pools and every query and command.
//! - [`config`], [`error`], [`error_page`], [`locale`], [`access_log`], [`shutdown`],
//!   [`origin`], [`metrics`], [`logging`].
//!
//! Modules are public where `main` or the integration tests reach into them;
//! the rest are the crate's own.

pub mod access_log;
pub mod access_total;
pub mod config;
pub mod error;
pub(crate) mod error_page;
pub mod healthcheck;
pub mod locale;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub(crate) mod origin;
pub(crate) mod routes;
pub mod shutdown;
pub mod startup;
pub(crate) mod store_health;
pub mod stores;
pub(crate) mod usecases;
