//! `GET /`: one page view, shown as two numbers side by side.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access_log::Access;
use crate::error::Result;
use crate::middleware::ViewSummary;
use crate::usecases::{Tally, Timed, View};

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub visits: Card,
    pub access_total: Card,
    /// The newest accesses; `None` when PostgreSQL could not be read.
    pub recent: Option<Arc<[Access]>>,
    pub notice: Option<&'static str>,
    /// The instance that served the page.
    pub served_by: &'a str,
}

/// One store's number on the page.
pub struct Card {
    /// The number, or `None` when the store could not give it.
    pub value: Option<i64>,
    /// Whether the store could not be reached (rather than answering with an error).
    pub down: bool,
    /// Why the store could not give its number.
    pub reason: &'static str,
    /// How long the store took, for people: "1.2 ms".
    pub took: String,
}

impl Card {
    fn new<T>(timed: &Timed<T>, number: impl Fn(&T) -> i64) -> Self {
        let (value, down, reason) = match &timed.result {
            Ok(answer) => (Some(number(answer)), false, ""),
            Err(error) => (None, error.is_outage(), error.reason()),
        };
        Self {
            value,
            down,
            reason,
            took: format!("{:.1} ms", timed.elapsed.as_secs_f64() * 1000.0),
        }
    }
}

impl<'a> IndexPage<'a> {
    fn new(view: &View, notice: Option<&'static str>, served_by: &'a str) -> Self {
        Self {
            visits: Card::new(&view.visits, |visits| *visits),
            access_total: Card::new(&view.access, |recorded| recorded.total),
            recent: view
                .access
                .result
                .as_ref()
                .ok()
                .map(|recorded| Arc::clone(&recorded.recent)),
            notice,
            served_by,
        }
    }
}

/// Counts the view in both stores and shows the numbers after it.
pub async fn index(request: HttpRequest, tally: web::Data<Tally>) -> Result<HttpResponse> {
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let view = tally.count_view(request.path(), &user_agent).await;
    let page = IndexPage::new(&view, notice(request.query_string()), tally.instance());
    let mut response = HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .body(page.render()?);
    response.extensions_mut().insert(ViewSummary {
        visits: page.visits.value,
        access_total: page.access_total.value,
        redis: view.visits.elapsed,
        postgres: view.access.elapsed,
    });
    Ok(response)
}

/// The notice a redirect asked for in the query string, if any.
fn notice(query: &str) -> Option<&'static str> {
    query.split('&').find_map(|pair| match pair {
        "reset=1" => Some("The visit counter was reset to zero. The access log was kept."),
        _ => None,
    })
}

/// A user agent as people recognise it ("Firefox 128 on Windows"), for the recent
/// list; the row keeps the full text in its `title`. Agents it does not recognise
/// (curl, scripts) are shown whole.
fn short_agent(agent: &str) -> Cow<'_, str> {
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
        Some((_, system)) => Cow::Owned(format!("{name} {version} on {system}")),
        None => Cow::Owned(format!("{name} {version}")),
    }
}

#[cfg(test)]
mod tests {
    use super::short_agent;

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
            assert_eq!(short_agent(agent), short, "{agent}");
        }
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
            assert_eq!(short_agent(agent), agent);
        }
    }
}
