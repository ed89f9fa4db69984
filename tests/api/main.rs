//! Tally's integration tests: one binary, so the crate links once. Every test
//! talks to real PostgreSQL and Redis in a schema and key prefix of its own.

mod batching;
mod browser;
mod checks;
mod containers;
mod degradation;
mod exactness;
mod faults;
mod helpers;
mod hostile;
mod page;
mod process;
mod reset;
mod stats;
