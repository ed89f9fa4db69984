//! The list of the newest accesses under the cards: when each came (a date and a
//! time, in the page's language) and from which browser, named as people name it.
//!
//! Every view of a batch shows the same newest accesses (the writer reads them in
//! the batch's transaction), so the list is rendered once per batch and language
//! and the batch's other views reuse it ([`RecentLists`]). Weighed alone
//! (docs/performance.md), rendering it for every view costs 1.11 x the CPU per
//! view at 256 connections, and 22 % more instructions.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use askama::Template;
use time::format_description::well_known::Rfc3339;

use crate::access_log::Access;
use crate::locale::{Language, Locale, Texts};

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
    /// The list of `recent` in `language`: the one already rendered for its batch,
    /// or a new one.
    pub fn html(&self, recent: &Arc<[Access]>, language: Language) -> askama::Result<Arc<str>> {
        let slot = &self.last[language.locale as usize];
        let cached = slot.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some((rendered, html)) = cached
            && Arc::ptr_eq(&rendered, recent)
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
