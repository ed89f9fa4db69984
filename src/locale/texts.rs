//! What one language's [`Texts`] are made of: texts of Tally's own ([`Text`]),
//! sentences that hold a value ([`Say`]), and how that language writes durations
//! ([`Millis`]) and dates.

use std::fmt::{self, Write as _};
use std::time::Duration;

use askama::filters::HtmlSafeOutput;
use time::OffsetDateTime;

/// A text of Tally's own, checked when it is compiled to hold none of the
/// characters HTML gives a meaning to (`<`, `>`, `&`, `"`), so the templates write
/// it as it is instead of escaping it on every page. Whatever comes from a request
/// is never a `Text`, and is escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text(&'static str);

impl Text {
    pub const fn new(text: &'static str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(
                !matches!(bytes[i], b'<' | b'>' | b'&' | b'"'),
                "a Text holds no character HTML gives a meaning to"
            );
            i += 1;
        }
        Self(text)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl askama::filters::HtmlSafe for Text {}

/// A sentence that holds a value, written straight into the page: each language
/// puts the value where its grammar wants it. The values are Tally's own (numbers,
/// times, `'static` texts), never a request's, so what it writes needs no escaping.
pub type Say<A> = fn(&mut fmt::Formatter<'_>, A) -> fmt::Result;

/// Everything the pages say in one language.
pub struct Texts {
    /// BCP 47 tag: `<html lang>`, `Content-Language`, `?lang=`.
    pub tag: &'static str,
    /// The link that switches to this language, in this language.
    pub in_this_language: Text,
    /// The label of the navigation that holds that link.
    pub language_nav: Text,

    // Numbers and dates.
    pub decimal_separator: char,
    pub group_separator: char,
    /// A date in the recent list ("Nov 23, 2025", "23/11/2025").
    pub date: Say<OffsetDateTime>,
    /// A time of day in the recent list, in UTC ("7:24:05 PM", "19:24:05"); the
    /// column's heading names the zone.
    pub clock: Say<OffsetDateTime>,

    // The layout.
    pub description: Text,
    pub tagline: Text,
    pub checks: Text,

    // The page.
    pub page_title: Text,
    pub reset_notice: Text,
    pub visits_heading: Text,
    pub in_redis: Text,
    pub access_heading: Text,
    pub in_postgres: Text,
    pub up: Text,
    pub down: Text,
    /// Beside the word `unavailable` (kept in English for scripts), what it means.
    pub unavailable_gloss: Option<Text>,
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
    pub visits_explain: Text,
    pub reset_button: Text,
    pub reset_hint: Text,
    pub access_explain: Text,
    pub recent_heading: Text,
    pub recent_hint: Text,
    pub recent_empty: Text,
    pub recent_unreadable: Text,
    pub time_column: Text,
    pub browser_column: Text,
    /// The word between a browser and its system ("Firefox 128 on Windows").
    pub browser_on: Text,
    pub served_by: Text,
    /// Why a call to a store failed ([`crate::error::Reason`]), in this language.
    pub reason: fn(crate::error::Reason) -> &'static str,

    // The error pages.
    pub error: Text,
    /// A status's title; `None` for one the pages never answer (its English reason is shown).
    pub status_title: fn(status: u16) -> Option<&'static str>,
    pub no_page: Text,
    pub cross_origin_reset: Text,
    /// 405: the methods an address answers.
    pub only_answers: Say<&'static str>,
    /// 431, 411, 413: a request refused before any handler ran.
    pub headers_too_large: Text,
    pub length_required: Text,
    pub body_too_large: Text,
    /// 503: why a store did not answer.
    pub store_did_not_answer: Say<&'static str>,
    pub stores_come_back: Text,
    /// 500: what went wrong in Tally itself.
    pub internal_error: Say<&'static str>,
    pub back_to_counter: Text,
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

    /// `say` with its value, to write into a page as it is.
    pub fn say<A: Copy>(say: Say<A>, value: A) -> HtmlSafeOutput<impl fmt::Display> {
        HtmlSafeOutput(fmt::from_fn(move |f| say(f, value)))
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
