//! Page building: the HTML Tally answers with, made from plain values (numbers,
//! durations, reasons, rows) in the visitor's language. Nothing here asks a store
//! or reads a request, so every page renders in a test with no store running, in
//! both languages and with either card down.
//!
//! - [`index`]: the front page and its two cards.
//! - [`recent`]: the list of the newest accesses, and how it names browsers.
//! - [`error`]: the page every other answer uses (404, 403, 405, 503, ...).

pub mod error;
pub mod index;
pub mod recent;
