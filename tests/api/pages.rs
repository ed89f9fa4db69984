//! The pages rendered in-process from plain values, with no store and no server:
//! both languages, each card up or down, the recent list and the error page.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::to_bytes;
use askama::Template;
use tally::access_log::Access;
use tally::error::Reason;
use tally::locale::{Language, Locale};
use tally::page::error::{Message, error_page};
use tally::page::index::{Card, IndexPage};
use tally::page::recent::RecentLists;
use time::macros::datetime;

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn language(locale: Locale) -> Language {
    Language {
        locale,
        chosen: false,
    }
}

fn recent() -> Arc<[Access]> {
    [FIREFOX, "<script>alert(1)</script>"]
        .map(|agent| Access {
            at: datetime!(2026-11-23 19:24:05 UTC),
            user_agent: agent.to_owned(),
        })
        .into()
}

/// The front page in `locale` with these cards and, when given, these accesses.
fn front_page(
    locale: Locale,
    visits: Card,
    access_total: Card,
    recent: Option<&Arc<[Access]>>,
) -> String {
    let language = language(locale);
    let page = IndexPage {
        t: language.texts(),
        language,
        visits,
        access_total,
        recent,
        lists: &RecentLists::default(),
        reset_notice: false,
        served_by: "web-1",
    };
    page.render().expect("the page renders")
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn both_numbers_are_shown_with_how_long_each_store_took_in_each_language() {
    let recent = recent();
    for (locale, redis, postgres) in [
        (
            Locale::En,
            "Answered in 2.0 ms.",
            "Committed in 1,234.0 ms.",
        ),
        (
            Locale::PtBr,
            "Respondeu em 2,0 ms.",
            "Gravado em 1.234,0 ms.",
        ),
    ] {
        let html = front_page(
            locale,
            Card::visits(Ok(42), millis(2)),
            Card::access_total(Ok(1042), millis(1234)),
            Some(&recent),
        );
        assert!(
            html.contains(r#"<p class="number" id="visits">42</p>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<p class="number" id="access-total">1042</p>"#),
            "{html}"
        );
        assert!(
            html.contains(redis) && html.contains(postgres),
            "{locale:?}: {html}"
        );
        assert!(
            html.contains(r#"<code id="served-by">web-1</code>"#),
            "{html}"
        );
        assert!(!html.contains("card-down"), "{html}");
    }
}

#[test]
fn a_card_whose_store_is_down_says_unavailable_and_why_while_the_other_counts() {
    for (locale, why, gloss) in [
        (
            Locale::En,
            "Redis is down: connection refused after 2,000.0 ms.",
            None,
        ),
        (
            Locale::PtBr,
            "O Redis está fora do ar: conexão recusada após 2.000,0 ms.",
            Some("indisponível"),
        ),
    ] {
        let html = front_page(
            locale,
            Card::visits(Err(Reason::ConnectionRefused), millis(2000)),
            Card::access_total(Ok(7), millis(3)),
            Some(&recent()),
        );
        assert!(
            html.contains(r#"id="visits" lang="en">unavailable</p>"#),
            "{html}"
        );
        assert!(html.contains(why), "{locale:?}: {html}");
        assert_eq!(
            gloss.is_some_and(|gloss| html.contains(gloss)),
            gloss.is_some()
        );
        assert!(
            html.contains(r#"<p class="number" id="access-total">7</p>"#),
            "{html}"
        );
        assert_eq!(html.matches("card-down").count(), 1, "{html}");
    }
}

#[test]
fn an_error_answered_and_a_bug_are_told_apart_from_a_store_down() {
    let answered = front_page(
        Locale::En,
        Card::visits(Err(Reason::CommandFailed), millis(1)),
        Card::access_total(Err(Reason::WriterPanicked), millis(1)),
        None,
    );
    assert!(
        answered.contains("Redis answered with an error: command failed."),
        "{answered}"
    );
    assert!(
        answered.contains(
            "A bug in Tally kept PostgreSQL&#39;s number off the page: the access log writer failed."
        ),
        "{answered}"
    );
    assert!(
        answered.contains("The access log cannot be read right now."),
        "{answered}"
    );
    assert!(!answered.contains(" is down"), "{answered}");
}

#[test]
fn the_recent_list_names_browsers_and_escapes_every_agent() {
    for (locale, firefox, date) in [
        (Locale::En, "Firefox 128 on Windows", "Nov 23, 2026"),
        (Locale::PtBr, "Firefox 128 no Windows", "23/11/2026"),
    ] {
        let html = front_page(
            locale,
            Card::visits(Ok(1), millis(1)),
            Card::access_total(Ok(1), millis(1)),
            Some(&recent()),
        );
        assert!(
            html.contains(firefox) && html.contains(date),
            "{locale:?}: {html}"
        );
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }
}

#[test]
fn the_recent_list_is_rendered_once_per_batch_and_language() {
    let (lists, batch, next_batch) = (RecentLists::default(), recent(), recent());
    let english = |accesses| lists.html(accesses, language(Locale::En)).expect("renders");
    let first = english(&batch);
    assert!(
        Arc::ptr_eq(&first, &english(&batch)),
        "the same batch renders once"
    );
    assert!(
        !Arc::ptr_eq(&first, &english(&next_batch)),
        "a new batch renders anew"
    );
    let portuguese = lists
        .html(&next_batch, language(Locale::PtBr))
        .expect("renders");
    assert_ne!(first, portuguese);
}

#[actix_web::test]
async fn the_error_page_speaks_the_visitors_language_with_its_status() {
    for (locale, title, said) in [
        (
            Locale::En,
            "Service Unavailable",
            "A store Tally needs did not answer: timed out.",
        ),
        (
            Locale::PtBr,
            "Serviço indisponível",
            "Um banco de dados de que o Tally precisa não respondeu: tempo esgotado.",
        ),
    ] {
        let response = error_page(Message::StoreDown(Reason::TimedOut), language(locale));
        assert_eq!(response.status(), 503);
        let body = to_bytes(response.into_body()).await.expect("the body");
        let html = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert!(
            html.contains(title) && html.contains(said),
            "{locale:?}: {html}"
        );
    }
}
