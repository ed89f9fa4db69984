//! `GET /`: one page view, shown as two numbers side by side, in the visitor's
//! language (see [`crate::locale`]).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama::filters::HtmlSafeOutput;
use time::format_description::well_known::Rfc3339;

use crate::access_log::Access;
use crate::error::{Error, Reason};
use crate::error_page::{Message, error_page};
use crate::locale::{Language, Locale, Texts};
use crate::middleware::ViewSummary;
use crate::usecases::{Tally, Timed};

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    t: &'static Texts,
    language: Language,
    visits: Card,
    access_total: Card,
    /// The list of the newest accesses; `None` when PostgreSQL could not be read.
    recent: Option<Arc<str>>,
    /// Whether the page follows a reset, and says so.
    reset_notice: bool,
    /// The instance that served the page.
    served_by: &'a str,
}

/// One store's number on the page, and its state in a sentence.
struct Card {
    /// The number, or `None` when the store could not give it.
    value: Option<i64>,
    store: &'static str,
    state: State,
}

/// What the store did: answered (or committed) in so long, or why it gave no number.
#[derive(Clone, Copy)]
enum State {
    Answered(Duration),
    Committed(Duration),
    Down(Reason, Duration),
    Error(Reason),
    Bug(Reason),
}

impl Card {
    fn new<T>(
        timed: &Timed<T>,
        number: impl Fn(&T) -> i64,
        store: &'static str,
        done: fn(Duration) -> State,
    ) -> Self {
        let took = timed.elapsed;
        let (value, state) = match &timed.result {
            Ok(answer) => (Some(number(answer)), done(took)),
            Err(error) => match error.reason() {
                reason if reason.is_bug() => (None, State::Bug(reason)),
                reason if reason.is_outage() => (None, State::Down(reason, took)),
                reason => (None, State::Error(reason)),
            },
        };
        Self {
            value,
            store,
            state,
        }
    }

    /// The store's state in a sentence. Its words are all Tally's own, written as
    /// they are.
    fn state(&self, t: &'static Texts) -> HtmlSafeOutput<impl fmt::Display> {
        let (store, state) = (self.store, self.state);
        HtmlSafeOutput(fmt::from_fn(move |f| match state {
            State::Answered(took) => (t.answered_in)(f, t.millis(took)),
            State::Committed(took) => (t.committed_in)(f, t.millis(took)),
            State::Down(reason, took) => {
                (t.store_down)(f, (store, (t.reason)(reason), t.millis(took)))
            }
            State::Error(reason) => (t.store_error)(f, (store, (t.reason)(reason))),
            State::Bug(reason) => (t.bug)(f, (store, (t.reason)(reason))),
        }))
    }
}

#[derive(Template)]
#[template(path = "recent.html")]
struct RecentList<'a> {
    t: &'static Texts,
    recent: &'a [Access],
}

/// The recent list, rendered once per batch of views and language: every view of a
/// batch shows the same newest accesses, so the others reuse what the first made.
#[derive(Default)]
pub struct RecentLists {
    /// Per language, the last batch's list.
    last: [Mutex<Option<Rendered>>; Locale::ALL.len()],
}

/// A batch's accesses (kept, so the batch is told by its `Arc`) and their list.
type Rendered = (Arc<[Access]>, Arc<str>);

impl RecentLists {
    fn html(&self, recent: &Arc<[Access]>, language: Language) -> askama::Result<Arc<str>> {
        let slot = &self.last[language.locale as usize];
        let cached = slot.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((shown, html)) = cached
            && Arc::ptr_eq(&shown, recent)
        {
            return Ok(html);
        }
        let list = RecentList {
            t: language.texts(),
            recent,
        };
        let html: Arc<str> = list.render()?.into();
        *slot.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Arc::clone(recent), Arc::clone(&html)));
        Ok(html)
    }
}

/// How the recent list shows one access.
impl Access {
    /// RFC 3339 to the second, for `<time datetime>`.
    fn datetime(&self) -> String {
        let at = self.at.replace_nanosecond(0).unwrap_or(self.at);
        at.format(&Rfc3339).unwrap_or_default()
    }

    fn date(&self, t: &Texts) -> impl fmt::Display {
        Texts::say(t.date, self.at)
    }

    fn clock(&self, t: &Texts) -> impl fmt::Display {
        Texts::say(t.clock, self.at)
    }

    /// The browser as people name it, or the whole agent (escaped: it is the request's).
    fn browser(&self, t: &'static Texts) -> impl fmt::Display {
        let agent = self.user_agent.as_str();
        fmt::from_fn(move |f| match short_agent(agent) {
            Some((browser, version, Some(system))) => {
                write!(f, "{browser} {version} {} {system}", t.browser_on)
            }
            Some((browser, version, None)) => write!(f, "{browser} {version}"),
            None => f.write_str(agent),
        })
    }
}

/// Counts the view in both stores and shows the numbers after it.
pub async fn index(
    request: HttpRequest,
    language: Language,
    tally: web::Data<Tally>,
    lists: web::Data<RecentLists>,
) -> HttpResponse {
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()))
        .unwrap_or_default();
    let view = tally.count_view(request.path(), &user_agent).await;
    let recent = match &view.access.result {
        Ok(recorded) => match lists.html(&recorded.recent, language) {
            Ok(html) => Some(html),
            Err(error) => return not_rendered(error.into(), language),
        },
        Err(_) => None,
    };
    let page = IndexPage {
        t: language.texts(),
        language,
        visits: Card::new(&view.visits, |visits| *visits, "Redis", State::Answered),
        access_total: Card::new(
            &view.access,
            |recorded| recorded.total,
            "PostgreSQL",
            State::Committed,
        ),
        recent,
        reset_notice: after_reset(request.query_string()),
        served_by: tally.instance(),
    };
    let html = match page.render() {
        Ok(html) => html,
        Err(error) => return not_rendered(error.into(), language),
    };
    let mut response = HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::CONTENT_LANGUAGE, page.t.tag))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Language")))
        .body(html);
    ViewSummary {
        visits: page.visits.value,
        access_total: page.access_total.value,
        redis: view.visits.elapsed,
        postgres: view.access.elapsed,
    }
    .attach(&mut response);
    response
}

/// The answer when the page could not be rendered: a bug in Tally.
fn not_rendered(error: Error, language: Language) -> HttpResponse {
    log::error!("page not rendered: {}", error.chain());
    error_page(Message::failed(&error), language)
}

/// Whether the query string is a reset's redirect (`reset=1`), which the page notes.
fn after_reset(query: &str) -> bool {
    query.split('&').any(|pair| pair == "reset=1")
}

/// A user agent as people recognise it: the browser, its major version and the
/// system ("Firefox", "128", "Windows"), for the recent list; the row keeps the full
/// text in its `title`. `None` for agents it does not recognise (curl, scripts),
/// which are shown whole.
fn short_agent(agent: &str) -> Option<(&'static str, &str, Option<&'static str>)> {
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
        return None;
    }
    let (name, version) = BROWSERS.iter().find_map(|(token, name)| {
        let (_, rest) = agent.split_once(token)?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0).then_some((*name, &rest[..digits]))
    })?;
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| agent.contains(token))
        .map(|(_, system)| *system);
    Some((name, version, system))
}
