//! `GET /`: one page view, shown as two numbers side by side, in the visitor's
//! language (see [`crate::locale`]).

use std::borrow::Cow;

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access_log::Access;
use crate::error::Result;
use crate::locale::{DateTime, Language, Texts};
use crate::middleware::ViewSummary;
use crate::usecases::{Tally, Timed, View};

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub t: &'static Texts,
    pub language: Language,
    pub visits: Card,
    pub access_total: Card,
    /// The newest accesses; `None` when PostgreSQL could not be read.
    pub recent: Option<Vec<Row<'a>>>,
    /// Whether the page follows a reset, and says so.
    pub reset_notice: bool,
    /// The instance that served the page.
    pub served_by: &'a str,
}

/// One store's number on the page.
pub struct Card {
    /// The number, or `None` when the store could not give it.
    pub value: Option<i64>,
    /// The store's state in a sentence: how long it took, or why it gave no number.
    pub state: String,
}

impl Card {
    fn new<T>(
        timed: &Timed<T>,
        number: impl Fn(&T) -> i64,
        store: &str,
        answered_in: fn(&str) -> String,
        t: &Texts,
    ) -> Self {
        let took = t.milliseconds(timed.elapsed);
        match &timed.result {
            Ok(answer) => Self {
                value: Some(number(answer)),
                state: answered_in(&took),
            },
            Err(error) => {
                let reason = t.translate(error.reason());
                Self {
                    value: None,
                    state: if error.is_outage() {
                        (t.store_down)(store, reason, &took)
                    } else {
                        (t.store_error)(store, reason)
                    },
                }
            }
        }
    }
}

/// One access in the recent list.
pub struct Row<'a> {
    /// RFC 3339, for `<time datetime>`.
    pub at: &'a str,
    pub date: String,
    pub clock: String,
    /// The whole user agent, for the row's `title`.
    pub agent: &'a str,
    /// The browser as people name it, or the whole agent.
    pub browser: Cow<'a, str>,
}

impl<'a> Row<'a> {
    fn new(access: &'a Access, t: &Texts) -> Self {
        let (date, clock) = match DateTime::parse_utc(&access.at) {
            Some(at) => ((t.date)(&at), (t.clock)(&at)),
            None => (access.at_text.clone(), String::new()),
        };
        Self {
            at: &access.at,
            date,
            clock,
            agent: &access.user_agent,
            browser: short_agent(&access.user_agent, t),
        }
    }
}

impl<'a> IndexPage<'a> {
    fn new(view: &'a View, language: Language, reset_notice: bool, served_by: &'a str) -> Self {
        let t = language.texts();
        Self {
            t,
            language,
            visits: Card::new(&view.visits, |visits| *visits, "Redis", t.answered_in, t),
            access_total: Card::new(
                &view.access,
                |recorded| recorded.total,
                "PostgreSQL",
                t.committed_in,
                t,
            ),
            recent: view.access.result.as_ref().ok().map(|recorded| {
                recorded
                    .recent
                    .iter()
                    .map(|access| Row::new(access, t))
                    .collect()
            }),
            reset_notice,
            served_by,
        }
    }
}

/// Counts the view in both stores and shows the numbers after it.
pub async fn index(
    request: HttpRequest,
    language: Language,
    tally: web::Data<Tally>,
) -> Result<HttpResponse> {
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let view = tally.count_view(request.path(), &user_agent).await;
    let page = IndexPage::new(
        &view,
        language,
        after_reset(request.query_string()),
        tally.instance(),
    );
    let mut response = HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .insert_header((header::CONTENT_LANGUAGE, page.t.tag))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Language")))
        .body(page.render()?);
    response.extensions_mut().insert(ViewSummary {
        visits: page.visits.value,
        access_total: page.access_total.value,
        redis: view.visits.elapsed,
        postgres: view.access.elapsed,
    });
    Ok(response)
}

/// Whether the query string is a reset's redirect (`reset=1`), which the page notes.
fn after_reset(query: &str) -> bool {
    query.split('&').any(|pair| pair == "reset=1")
}

/// A user agent as people recognise it ("Firefox 128 on Windows", "Firefox 128 no
/// Windows"), for the recent list; the row keeps the full text in its `title`.
/// Agents it does not recognise (curl, scripts) are shown whole.
fn short_agent<'a>(agent: &'a str, t: &Texts) -> Cow<'a, str> {
    // In this order: Edge and Opera also say "Chrome/", and every Chrome says "Safari/".
    const BROWSERS: [(&str, &str); 9] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Version/", "Safari"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    if !agent.starts_with("Mozilla/") {
        return Cow::Borrowed(agent);
    }
    let Some((name, version)) = BROWSERS.iter().find_map(|(token, name)| {
        let (_, rest) = agent.split_once(token)?;
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!major.is_empty()).then_some((name, major))
    }) else {
        return Cow::Borrowed(agent);
    };
    match SYSTEMS.iter().find(|(token, _)| agent.contains(token)) {
        Some((_, system)) => Cow::Owned((t.browser_on)(&format!("{name} {version}"), system)),
        None => Cow::Owned(format!("{name} {version}")),
    }
}

#[cfg(test)]
mod tests {
    use super::short_agent;
    use crate::locale::{EN, PT_BR};

    #[test]
    fn browsers_are_named_with_their_major_version_and_system() {
        for (agent, short) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
                "Headless Chrome 156 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
                "Edge 130 on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari 17 on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
                "Chrome 130 on Android",
            ),
        ] {
            assert_eq!(short_agent(agent, &EN), short, "{agent}");
        }
    }

    #[test]
    fn the_system_is_joined_in_the_pages_language() {
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(short_agent(firefox, &PT_BR), "Firefox 128 no Windows");
    }

    #[test]
    fn other_agents_are_shown_whole() {
        for agent in [
            "curl/8.5.0",
            "",
            "second visitor",
            "Mozilla/5.0 (compatible; Bot/2.1)",
            "<script>",
        ] {
            assert_eq!(short_agent(agent, &EN), agent);
            assert_eq!(short_agent(agent, &PT_BR), agent);
        }
    }
}
