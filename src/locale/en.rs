//! Every text of the pages in English.

use time::OffsetDateTime;

use super::texts::{Text, Texts};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub static EN: Texts = Texts {
    tag: "en",
    in_this_language: Text::new("In English"),
    language_nav: Text::new("Language"),

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

    description: Text::new("A visit counter in Redis beside an access log in PostgreSQL."),
    tagline: Text::new("A cache and a database, side by side."),
    checks: Text::new("Checks:"),

    page_title: Text::new("Tally: visits and access log"),
    reset_notice: Text::new("The visit counter was reset to zero. The access log was kept."),
    visits_heading: Text::new("Visits"),
    in_redis: Text::new("in Redis"),
    access_heading: Text::new("Access log"),
    in_postgres: Text::new("in PostgreSQL"),
    up: Text::new("up"),
    down: Text::new("down"),
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
    visits_explain: Text::new(
        "A counter kept in memory: fast, gone when Redis restarts, and set back to zero by the \
         button below.",
    ),
    reset_button: Text::new("Reset visits to zero"),
    reset_hint: Text::new("Resets only this Redis counter. The access log keeps every row."),
    access_explain: Text::new(
        "Every page view ever logged, a row each on disk: the total is kept across restarts \
         and never reset. Pruning old rows (tally prune) keeps their views counted.",
    ),
    recent_heading: Text::new("Recent accesses"),
    recent_hint: Text::new("The latest rows of the access log, newest first."),
    recent_empty: Text::new("No accesses yet."),
    recent_unreadable: Text::new("The access log cannot be read right now."),
    time_column: Text::new("Time (UTC)"),
    browser_column: Text::new("Browser"),
    browser_on: Text::new("on"),
    served_by: Text::new("Served by"),
    reason: crate::error::Reason::as_str,

    error: Text::new("Error"),
    // English titles are HTTP's own (`StatusCode::canonical_reason`).
    status_title: |_| None,
    no_page: Text::new("There is no page here. The counter lives on the front page."),
    cross_origin_reset: Text::new(
        "The counter can only be reset from Tally's own page. Nothing was changed.",
    ),
    only_answers: |f, methods| write!(f, "This address only answers {methods}."),
    headers_too_large: Text::new("The request's headers are too large."),
    length_required: Text::new("Send a body with a Content-Length, or none."),
    body_too_large: Text::new("The request's body is too large."),
    store_did_not_answer: |f, reason| write!(f, "A store Tally needs did not answer: {reason}."),
    stores_come_back: Text::new("Stores are usually back within seconds. Try again shortly."),
    internal_error: |f, reason| write!(f, "Something went wrong in Tally: {reason}."),
    back_to_counter: Text::new("Back to the counter"),
};
