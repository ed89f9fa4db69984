//! Tally: a visit counter in Redis beside an access log in PostgreSQL.
//!
//! Two depths to read it at. The story of a page view takes four files:
//! `routes/index.rs` (the handler), [`usecases`] (`Tally::count_view`), and the
//! commands each store is sent, [`stores::redis`] (`INCR`) and [`stores::postgres`]
//! (`append`); docs/tour.md walks it stop by stop. The machinery under the story has
//! files of its own, each saying first what it does for the story and why: the
//! group-commit writer, the cached total and its repair ([`access_total`]), the
//! shared Redis connections (`stores/redis_connections.rs`), each store's health
//! ([`store_health`]), and the render cache of the recent list ([`page::recent`]).
//!
//! Layers, each using only those below it: [`startup`] (with `routes` and
//! [`middleware`]), then [`usecases`] and [`page`], then [`access_total`] and
//! [`store_health`], then [`stores`]; the rest ([`config`], [`error`], [`locale`],
//! ...) is shared. Modules are public where `main` or the integration tests reach
//! into them.

// These docs are meant to be read with the private modules (`cargo doc --no-deps
// --document-private-items`, as CI builds them): the library exists for `main` and
// the tests, and most of the story is in modules neither reaches into.
#![allow(rustdoc::private_intra_doc_links)]

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
