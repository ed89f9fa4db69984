//! Tally: a visit counter in Redis beside an access log in PostgreSQL.
//!
//! Layers, each using only those below it: [`startup`] (with [`routes`] and
//! [`middleware`]), then [`usecases`], then [`access_total`] and [`store_health`],
//! then [`stores`]; the rest ([`config`], [`error`], [`locale`], ...) is shared.
//! Modules are public where `main` or the integration tests reach into them.

pub mod access_log;
pub mod access_total;
pub mod config;
pub mod error;
pub mod healthcheck;
pub mod locale;
pub mod logging;
pub mod metrics;
pub mod middleware;
pub(crate) mod origin;
pub mod page;
pub(crate) mod routes;
pub mod shutdown;
pub mod startup;
pub(crate) mod store_health;
pub mod stores;
pub(crate) mod usecases;
