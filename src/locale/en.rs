//! Every text of the pages in English.

use time::OffsetDateTime;

use super::texts::Texts;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub static EN: Texts = Texts {
    tag: "en",
    in_this_language: "In English",
    language_nav: "Language",

    decimal_separator: '.',
    group_separator: ',',
    date: |f, at: OffsetDateTime| {
        let month = MONTHS[usize::from(u8::from(at.month())) - 1];
        write!(f, "{month} {}, {}", at.day(), at.year())
    },
    clock: |f, at: OffsetDateTime| {
        let (hour, minute, second) = at.to_hms();
        let half = if hour < 12 { "AM" } else { "PM" };
        let hour = if hour % 12 == 0 { 12 } else { hour % 12 };
        write!(f, "{hour}:{minute:02}:{second:02} {half}")
    },

    description: "A visit counter in Redis beside an access log in PostgreSQL.",
    tagline: "A cache and a database, side by side.",
    checks: "Checks:",

    page_title: "Tally: visits and access log",
    reset_notice: "The visit counter was reset to zero. The access log was kept.",
    visits_heading: "Visits",
    in_redis: "in Redis",
    access_heading: "Access log",
    in_postgres: "in PostgreSQL",
    up: "up",
    down: "down",
    unavailable_gloss: None,
    answered_in: |f, took| write!(f, "Answered in {took}."),
    committed_in: |f, took| write!(f, "Committed in {took}."),
    store_down: |f, (store, reason, took)| write!(f, "{store} is down: {reason} after {took}."),
    store_error: |f, (store, reason)| write!(f, "{store} answered with an error: {reason}."),
    bug: |f, (store, reason)| {
        write!(
            f,
            "A bug in Tally kept {store}'s number off the page: {reason}."
        )
    },
    visits_explain: "A counter kept in memory: fast, gone when Redis restarts, and set back \
                     to zero by the button below.",
    reset_button: "Reset visits to zero",
    reset_hint: "Resets only this Redis counter. The access log keeps every row.",
    access_explain: "Every page view ever logged, a row each on disk: the total is kept \
                     across restarts and never reset. Pruning old rows (tally prune) keeps \
                     their views counted.",
    recent_heading: "Recent accesses",
    recent_hint: "The latest rows of the access log, newest first.",
    recent_empty: "No accesses yet.",
    recent_unreadable: "The access log cannot be read right now.",
    time_column: "Time (UTC)",
    browser_column: "Browser",
    browser_on: "on",
    served_by: "Served by",
    reason: crate::error::Reason::as_str,

    error: "Error",
    // English titles are HTTP's own (`StatusCode::canonical_reason`).
    status_title: |_| None,
    no_page: "There is no page here. The counter lives on the front page.",
    cross_origin_reset: "The counter can only be reset from Tally's own page. Nothing was changed.",
    only_answers: |f, methods| write!(f, "This address only answers {methods}."),
    headers_too_large: "The request's headers are too large.",
    length_required: "Send a body with a Content-Length, or none.",
    body_too_large: "The request's body is too large.",
    store_did_not_answer: |f, reason| write!(f, "A store Tally needs did not answer: {reason}."),
    stores_come_back: "Stores are usually back within seconds. Try again shortly.",
    internal_error: |f, reason| write!(f, "Something went wrong in Tally: {reason}."),
    back_to_counter: "Back to the counter",
};
