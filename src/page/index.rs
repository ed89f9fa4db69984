//! The front page: the visit counter and the access total side by side, each in a
//! card that says how its store answered, the newest accesses below, and which
//! instance served the page.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;

use super::recent::RecentLists;
use crate::access_log::Access;
use crate::error::Reason;
use crate::locale::{Language, Texts};

/// The front page, from what a view did.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    /// The words of `language`.
    pub t: &'static Texts,
    pub language: Language,
    pub visits: Card,
    pub access_total: Card,
    /// The newest accesses; `None` when PostgreSQL could not be read.
    pub recent: Option<&'a Arc<[Access]>>,
    /// Where the recent list, the same for every view of a batch, is rendered once.
    pub lists: &'a RecentLists,
    /// Whether the page follows a reset, and says so.
    pub reset_notice: bool,
    /// The instance that served the page.
    pub served_by: &'a str,
}

/// One store's number on the page, and its state in a sentence.
pub struct Card {
    /// The number, or `None` when the store could not give it.
    pub value: Option<i64>,
    store: &'static str,
    state: CardState,
}

/// What a card's store did: answered (or committed) in so long, or why it gave no
/// number.
#[derive(Clone, Copy)]
enum CardState {
    Answered(Duration),
    Committed(Duration),
    Down(Reason, Duration),
    Error(Reason),
    Bug(Reason),
}

impl Card {
    /// Redis's card: the visit counter after this view, or why there is none.
    pub fn visits(counted: Result<i64, Reason>, took: Duration) -> Self {
        Self::new("Redis", counted, took, CardState::Answered)
    }

    /// PostgreSQL's card: the access total after this view, or why there is none.
    pub fn access_total(committed: Result<i64, Reason>, took: Duration) -> Self {
        Self::new("PostgreSQL", committed, took, CardState::Committed)
    }

    fn new(
        store: &'static str,
        outcome: Result<i64, Reason>,
        took: Duration,
        done: fn(Duration) -> CardState,
    ) -> Self {
        let (value, state) = match outcome {
            Ok(value) => (Some(value), done(took)),
            Err(reason) if reason.is_bug() => (None, CardState::Bug(reason)),
            Err(reason) if reason.is_outage() => (None, CardState::Down(reason, took)),
            Err(reason) => (None, CardState::Error(reason)),
        };
        Self {
            value,
            store,
            state,
        }
    }

    /// The store's state in a sentence.
    fn state(&self, t: &'static Texts) -> impl fmt::Display {
        let (store, state) = (self.store, self.state);
        fmt::from_fn(move |f| match state {
            CardState::Answered(took) => (t.answered_in)(f, t.millis(took)),
            CardState::Committed(took) => (t.committed_in)(f, t.millis(took)),
            CardState::Down(reason, took) => {
                (t.store_down)(f, (store, (t.reason)(reason), t.millis(took)))
            }
            CardState::Error(reason) => (t.store_error)(f, (store, (t.reason)(reason))),
            CardState::Bug(reason) => (t.bug)(f, (store, (t.reason)(reason))),
        })
    }
}
