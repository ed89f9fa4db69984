//! The access total: how many rows the access log holds, the number on the page's
//! right-hand card and in `/api/stats`. Three mechanisms keep it exact and cheap;
//! a first reading may skip all three.
//!
//! - **Written** by the group-commit [`writer`], which appends each view's row and
//!   raises the total in the same transaction ([`crate::stores::postgres::append`]),
//!   so a view gets its own exact total and no view ever counts the log.
//! - **Cached** in Redis by [`cache`], which `/api/stats` reads first
//!   (cache-aside): the writer raises the cached copy after every commit.
//! - **Repaired** by [`repair`]: a totals row that is missing, or disagrees with
//!   the log, is rebuilt from the log (at start-up, and whenever a view finds it
//!   missing), with one WARN line.

pub mod cache;
pub mod prune;
pub mod repair;
pub mod writer;
