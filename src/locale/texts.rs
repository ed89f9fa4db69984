//! What one language's [`Texts`] are made of: texts, sentences that hold a value
//! ([`Say`]), and how that language writes durations ([`Millis`]) and dates. The
//! templates escape all of it, as they escape what comes from a request: writing
//! Tally's own words unescaped saved no CPU that a measurement could find
//! (docs/performance.md), so it was not worth a type of its own.

use std::fmt::{self, Write as _};
use std::time::Duration;

use time::OffsetDateTime;

/// A sentence that holds a value: each language puts the value where its grammar
/// wants it.
pub type Say<A> = fn(&mut fmt::Formatter<'_>, A) -> fmt::Result;

/// Everything the pages say in one language.
pub struct Texts {
    /// BCP 47 tag: `<html lang>`, `Content-Language`, `?lang=`.
    pub tag: &'static str,
    /// The link that switches to this language, in this language.
    pub in_this_language: &'static str,
    /// The label of the navigation that holds that link.
    pub language_nav: &'static str,

    // Numbers and dates.
    pub decimal_separator: char,
    pub group_separator: char,
    /// A date in the recent list ("Nov 23, 2025", "23/11/2025").
    pub date: Say<OffsetDateTime>,
    /// A time of day in the recent list, in UTC ("7:24:05 PM", "19:24:05"); the
    /// column's heading names the zone.
    pub clock: Say<OffsetDateTime>,

    // The layout.
    pub description: &'static str,
    pub tagline: &'static str,
    pub checks: &'static str,

    // The page.
    pub page_title: &'static str,
    pub reset_notice: &'static str,
    pub visits_heading: &'static str,
    pub in_redis: &'static str,
    pub access_heading: &'static str,
    pub in_postgres: &'static str,
    pub up: &'static str,
    pub down: &'static str,
    /// Beside the word `unavailable` (kept in English for scripts), what it means.
    pub unavailable_gloss: Option<&'static str>,
    /// Redis answered the count in this long.
    pub answered_in: Say<Millis>,
    /// PostgreSQL committed the row in this long.
    pub committed_in: Say<Millis>,
    /// A store could not be reached: "Redis is down: connection refused after 2.0 ms."
    pub store_down: Say<(&'static str, &'static str, Millis)>,
    /// A store answered, with an error.
    pub store_error: Say<(&'static str, &'static str)>,
    /// A bug in Tally kept a store's number off the page.
    pub bug: Say<(&'static str, &'static str)>,
    pub visits_explain: &'static str,
    pub reset_button: &'static str,
    pub reset_hint: &'static str,
    pub access_explain: &'static str,
    pub recent_heading: &'static str,
    pub recent_hint: &'static str,
    pub recent_empty: &'static str,
    pub recent_unreadable: &'static str,
    pub time_column: &'static str,
    pub browser_column: &'static str,
    /// The word between a browser and its system ("Firefox 128 on Windows").
    pub browser_on: &'static str,
    pub served_by: &'static str,
    /// Why a call to a store failed ([`crate::error::Reason`]), in this language.
    pub reason: fn(crate::error::Reason) -> &'static str,

    // The error pages.
    pub error: &'static str,
    /// A status's title; `None` for one the pages never answer (its English reason is shown).
    pub status_title: fn(status: u16) -> Option<&'static str>,
    pub no_page: &'static str,
    pub cross_origin_reset: &'static str,
    /// 405: the methods an address answers.
    pub only_answers: Say<&'static str>,
    /// 431, 411, 413: a request refused before any handler ran.
    pub headers_too_large: &'static str,
    pub length_required: &'static str,
    pub body_too_large: &'static str,
    /// 503: why a store did not answer.
    pub store_did_not_answer: Say<&'static str>,
    pub stores_come_back: &'static str,
    /// 500: what went wrong in Tally itself.
    pub internal_error: Say<&'static str>,
    pub back_to_counter: &'static str,
}

impl Texts {
    /// A duration as the cards show it, in this language's digits.
    pub fn millis(&self, duration: Duration) -> Millis {
        Millis {
            value: duration.as_secs_f64() * 1000.0,
            point: self.decimal_separator,
            group: self.group_separator,
        }
    }

    /// `say` with its value, to write into a page.
    pub fn say<A: Copy>(say: Say<A>, value: A) -> impl fmt::Display {
        fmt::from_fn(move |f| say(f, value))
    }
}

/// Milliseconds to a tenth, grouped in thousands: "1,234.5 ms", "1.234,5 ms".
#[derive(Clone, Copy, Debug)]
pub struct Millis {
    value: f64,
    point: char,
    group: char,
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = (self.value * 10.0).round().max(0.0) as u64;
        let whole = tenths / 10;
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(whole);
        for (i, digit) in digits.char_indices() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                f.write_char(self.group)?;
            }
            f.write_char(digit)?;
        }
        write!(f, "{}{} ms", self.point, tenths % 10)
    }
}
