//! Tally's integration tests: one binary, so the crate links once. Every test
//! talks to real PostgreSQL and Redis in a schema and key prefix of its own, and
//! removes them when it ends.

mod batching;
mod browser;
mod cache;
mod checks;
mod degradation;
mod docs;
mod exactness;
mod faults;
mod helpers;
mod hostile;
mod locale;
mod metrics;
mod page;
mod pages;
mod process;
mod pruning;
mod release;
mod reset;
mod settings;
mod tampering;
