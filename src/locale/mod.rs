//! The page's languages, English and Brazilian Portuguese, and which one a request
//! gets: the one its `?lang=` names (the link that switches language sets it, and
//! the page's own links and form keep it), else the best of its `Accept-Language`
//! (parsed by actix-web's typed header) by q-value, else English.
//!
//! Every text of a language is in one `static` [`Texts`] ([`en`], [`pt_br`]), so a
//! text missing from one of them is a compile error, not a blank on the page. What
//! scripts read is not translated: `id="visits"` and `id="access-total"` hold the
//! plain integer or the word `unavailable` in every language (the README's "What it
//! answers").

mod en;
mod pt_br;
mod texts;

use std::cmp::Reverse;
use std::convert::Infallible;
use std::future::{Ready, ready};

use actix_web::http::header::{AcceptLanguage, Header, Preference, Quality};
use actix_web::{FromRequest, HttpRequest, dev::Payload};

pub use en::EN;
pub use pt_br::PT_BR;
pub use texts::Texts;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    En,
    PtBr,
}

impl Locale {
    /// Every language, the default first.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::PtBr];

    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::En => &EN,
            Locale::PtBr => &PT_BR,
        }
    }

    /// The language a tag or range names (`en`, `en-GB`, `pt`, `pt-BR`, `pt-PT`, any
    /// case, `-` or `_`), if the pages are written in it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else if primary.eq_ignore_ascii_case("pt") {
            Some(Locale::PtBr)
        } else {
            None
        }
    }

    /// The language an `Accept-Language` header prefers among those the pages are
    /// written in: the highest q-value, the first named on a tie; `*` stands for any
    /// language not named (`q=0` refuses one). `None` when it accepts none of them.
    pub fn negotiate(accepted: &AcceptLanguage) -> Option<Self> {
        let named = |locale| {
            accepted.iter().any(|item| match &item.item {
                Preference::Specific(tag) => Self::from_tag(tag.primary_language()) == Some(locale),
                Preference::Any => false,
            })
        };
        let mut ranked: Vec<_> = accepted
            .iter()
            .filter(|item| item.quality > Quality::ZERO)
            .collect();
        // A stable sort: on a tie, the first named, and `*` after every language named.
        ranked.sort_by_key(|item| (Reverse(item.quality), item.item == Preference::Any));
        ranked.into_iter().find_map(|item| match &item.item {
            Preference::Specific(tag) => Self::from_tag(tag.primary_language()),
            Preference::Any => Locale::ALL.into_iter().find(|&locale| !named(locale)),
        })
    }

    /// The other language: the one the switch links to.
    pub fn other(self) -> Self {
        match self {
            Locale::En => Locale::PtBr,
            Locale::PtBr => Locale::En,
        }
    }
}

/// The language a request is answered in, and whether it was chosen in the address
/// (`?lang=`) rather than taken from `Accept-Language`: a chosen language is kept in
/// the page's links and its reset form, so it survives the reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Language {
    pub locale: Locale,
    pub chosen: bool,
}

impl Default for Language {
    fn default() -> Self {
        Self {
            locale: Locale::En,
            chosen: false,
        }
    }
}

impl Language {
    /// `?lang=` when it names a language of the pages, else `Accept-Language`, else English.
    pub fn of(request: &HttpRequest) -> Self {
        let asked = request.query_string().split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name == "lang").then(|| Locale::from_tag(value))?
        });
        if let Some(locale) = asked {
            return Self {
                locale,
                chosen: true,
            };
        }
        let accepted = request
            .headers()
            .contains_key(AcceptLanguage::name())
            .then(|| AcceptLanguage::parse(request).ok())
            .flatten();
        Self {
            locale: accepted
                .as_ref()
                .and_then(Locale::negotiate)
                .unwrap_or(Locale::En),
            chosen: false,
        }
    }

    pub fn texts(self) -> &'static Texts {
        self.locale.texts()
    }

    /// The front page in this language: `/`, or `/?lang=pt-BR` when it was chosen.
    pub fn home(self) -> &'static str {
        self.address(["/", "/?lang=en", "/?lang=pt-BR"])
    }

    /// Where the reset form posts: `/reset`, or `/reset?lang=pt-BR` when it was chosen.
    pub fn reset_action(self) -> &'static str {
        self.address(["/reset", "/reset?lang=en", "/reset?lang=pt-BR"])
    }

    /// Where a reset sends the browser back: the front page with its notice, in this
    /// language when it was chosen.
    pub fn after_reset(self) -> &'static str {
        self.address(["/?reset=1", "/?reset=1&lang=en", "/?reset=1&lang=pt-BR"])
    }

    /// Of an address as it is, chosen in English and chosen in Portuguese: this one.
    fn address(self, [plain, english, portuguese]: [&'static str; 3]) -> &'static str {
        match (self.chosen, self.locale) {
            (false, _) => plain,
            (true, Locale::En) => english,
            (true, Locale::PtBr) => portuguese,
        }
    }

    pub fn other(self) -> Language {
        Language {
            locale: self.locale.other(),
            chosen: true,
        }
    }
}

impl FromRequest for Language {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(request)))
    }
}
