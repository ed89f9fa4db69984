//! Tally: a visit counter in Redis beside an access log in PostgreSQL.

pub mod config;
pub mod error;
pub mod healthcheck;
pub mod limits;
pub mod origin;
pub mod routes;
pub mod startup;
pub mod state;
pub mod stores;
