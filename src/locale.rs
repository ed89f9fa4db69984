//! The page's languages, English and Brazilian Portuguese: which one a request gets,
//! and every text, number and date the pages show in each.
//!
//! A request's language is the one its `?lang=` names (the link that switches
//! language sets it, and the page's own links and form keep it), else the best of its
//! `Accept-Language` by q-value (`pt`, `pt-BR`, `pt-PT` all pick Portuguese), else
//! English. Each language is one `static` [`Texts`], so a text missing from one of
//! them is a compile error, not a blank on the page.
//!
//! The contract's elements are not translated: `id="visits"` and `id="access-total"`
//! hold the plain integer or the word `unavailable` in every language, and
//! `id="served-by"` the instance's name.

use std::convert::Infallible;
use std::future::{Ready, ready};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload};

/// A language the pages are written in.
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
    /// written in: the highest q-value wins (a language named several times, as
    /// `pt-BR` and `pt`, takes its highest), the first named on a tie; `*` stands for
    /// any language not named; `q=0` refuses one. `None` when it accepts none of them.
    pub fn negotiate(accept_language: &str) -> Option<Self> {
        let mut named: [Option<(f32, usize)>; Locale::ALL.len()] = [None; Locale::ALL.len()];
        let mut wildcard = None;
        for (position, item) in accept_language.split(',').enumerate() {
            let mut parts = item.split(';');
            let range = parts.next().unwrap_or_default().trim();
            let Some(quality) = quality(parts) else {
                continue;
            };
            if range == "*" {
                wildcard.get_or_insert(quality);
            } else if let Some(locale) = Locale::from_tag(range) {
                let slot = &mut named[locale as usize];
                if slot.is_none_or(|(best, _)| quality > best) {
                    *slot = Some((quality, position));
                }
            }
        }
        Locale::ALL
            .into_iter()
            .filter_map(|locale| {
                let (quality, position) =
                    named[locale as usize].or(wildcard.map(|q| (q, usize::MAX)))?;
                (quality > 0.0).then_some((locale, quality, position))
            })
            // On equal q-values the first named wins, then the default language.
            .reduce(|best, next| {
                if next.1 > best.1 || (next.1 == best.1 && next.2 < best.2) {
                    next
                } else {
                    best
                }
            })
            .map(|(locale, _, _)| locale)
    }

    /// The other language: the one the switch links to.
    pub fn other(self) -> Self {
        match self {
            Locale::En => Locale::PtBr,
            Locale::PtBr => Locale::En,
        }
    }
}

/// The q-value in an `Accept-Language` item's parameters (1 when absent); `None`
/// when it is not a number from 0 to 1, so the item is left out.
fn quality<'a>(parameters: impl Iterator<Item = &'a str>) -> Option<f32> {
    for parameter in parameters {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            return value
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q));
        }
    }
    Some(1.0)
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
            .get_all(header::ACCEPT_LANGUAGE)
            .filter_map(|value| value.to_str().ok())
            .find_map(Locale::negotiate);
        Self {
            locale: accepted.unwrap_or(Locale::En),
            chosen: false,
        }
    }

    pub fn texts(self) -> &'static Texts {
        self.locale.texts()
    }

    /// The front page in this language: `/`, or `/?lang=pt-BR` when it was chosen.
    pub fn home(self) -> String {
        self.with_choice("/", "?")
    }

    /// Where the reset form posts: `/reset`, or `/reset?lang=pt-BR` when it was chosen.
    pub fn reset_action(self) -> String {
        self.with_choice("/reset", "?")
    }

    /// Where a reset sends the browser back: the front page with its notice, in this
    /// language when it was chosen.
    pub fn after_reset(self) -> String {
        self.with_choice("/?reset=1", "&")
    }

    /// The link that switches to the other language (the front page, in that language).
    pub fn switch(self) -> Switch {
        let other = self.locale.other().texts();
        Switch {
            href: format!("/?lang={}", other.tag),
            tag: other.tag,
            label: other.in_this_language,
        }
    }

    fn with_choice(self, address: &str, separator: &str) -> String {
        if self.chosen {
            format!("{address}{separator}lang={}", self.texts().tag)
        } else {
            address.to_owned()
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

/// The link to the other language, written in that language.
pub struct Switch {
    pub href: String,
    pub tag: &'static str,
    pub label: &'static str,
}

/// A time from the access log, read from its RFC 3339 form (`2025-11-23T19:24:05Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl DateTime {
    /// `None` unless `text` is `YYYY-MM-DDTHH:MM:SSZ` with a real month and clock.
    pub fn parse_utc(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 20 || text.get(10..11) != Some("T") || text.get(19..) != Some("Z") {
            return None;
        }
        let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u16>().ok();
        let at = Self {
            year: number(0..4)?,
            month: u8::try_from(number(5..7)?).ok()?,
            day: u8::try_from(number(8..10)?).ok()?,
            hour: u8::try_from(number(11..13)?).ok()?,
            minute: u8::try_from(number(14..16)?).ok()?,
            second: u8::try_from(number(17..19)?).ok()?,
        };
        let valid = (1..=12).contains(&at.month)
            && (1..=31).contains(&at.day)
            && at.hour < 24
            && at.minute < 60
            && at.second < 61;
        valid.then_some(at)
    }
}

/// Everything the pages say in one language. Sentences that hold a value are
/// functions, so each language puts the value where its grammar wants it.
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
    pub date: fn(&DateTime) -> String,
    /// A time of day in the recent list, in UTC ("7:24:05 PM", "19:24:05"); the
    /// column's heading names the zone.
    pub clock: fn(&DateTime) -> String,

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
    /// Beside the word `unavailable` (which the contract keeps in English), what it means.
    pub unavailable_gloss: Option<&'static str>,
    /// Redis answered the count in this long.
    pub answered_in: fn(took: &str) -> String,
    /// PostgreSQL committed the row in this long.
    pub committed_in: fn(took: &str) -> String,
    /// A store could not be reached: "Redis is down: connection refused after 2.0 ms."
    pub store_down: fn(store: &str, reason: &str, took: &str) -> String,
    /// A store answered, with an error.
    pub store_error: fn(store: &str, reason: &str) -> String,
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
    /// A browser and its system, as the recent list names them ("Firefox 128 on Windows").
    pub browser_on: fn(browser: &str, system: &str) -> String,
    pub served_by: &'static str,

    // The error pages.
    pub error: &'static str,
    /// A status's title; `None` for one the pages never answer (its English reason is shown).
    pub status_title: fn(status: u16) -> Option<&'static str>,
    pub no_page: &'static str,
    pub cross_origin_reset: &'static str,
    /// 405: the methods an address answers.
    pub only_answers: fn(methods: &str) -> String,
    /// 503: why a store did not answer.
    pub store_did_not_answer: fn(reason: &str) -> String,
    pub stores_come_back: &'static str,
    /// 500: what went wrong in Tally itself.
    pub internal_error: fn(reason: &str) -> String,
    pub back_to_counter: &'static str,
    /// A sentence or reason another module gives in English ([`crate::error`]'s
    /// reasons, [`crate::middleware`]'s refusals), in this language; `None` shows
    /// the English.
    pub from_english: fn(english: &str) -> Option<&'static str>,
}

impl Texts {
    /// `value` with `places` decimals, grouped in thousands: "1,234.5" or "1.234,5".
    pub fn decimal(&self, value: f64, places: usize) -> String {
        let plain = format!("{value:.places$}");
        let (sign, unsigned) = match plain.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", plain.as_str()),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let mut text = String::from(sign);
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                text.push(self.group_separator);
            }
            text.push(digit);
        }
        if !fraction.is_empty() {
            text.push(self.decimal_separator);
            text.push_str(fraction);
        }
        text
    }

    /// A duration as the cards show it: "1.2 ms", "1.234,5 ms".
    pub fn milliseconds(&self, duration: std::time::Duration) -> String {
        format!("{} ms", self.decimal(duration.as_secs_f64() * 1000.0, 1))
    }

    /// `english` in this language when it is known, else as it is.
    pub fn translate<'a>(&self, english: &'a str) -> &'a str {
        (self.from_english)(english).unwrap_or(english)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub static EN: Texts = Texts {
    tag: "en",
    in_this_language: "In English",
    language_nav: "Language",

    decimal_separator: '.',
    group_separator: ',',
    date: |at| {
        let month = MONTHS[usize::from(at.month.clamp(1, 12)) - 1];
        format!("{month} {}, {}", at.day, at.year)
    },
    clock: |at| {
        let hour = match at.hour % 12 {
            0 => 12,
            hour => hour,
        };
        let half = if at.hour < 12 { "AM" } else { "PM" };
        format!("{hour}:{:02}:{:02} {half}", at.minute, at.second)
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
    answered_in: |took| format!("Answered in {took}."),
    committed_in: |took| format!("Committed in {took}."),
    store_down: |store, reason, took| format!("{store} is down: {reason} after {took}."),
    store_error: |store, reason| format!("{store} answered with an error: {reason}."),
    visits_explain: "A counter kept in memory: fast, gone when Redis restarts, and set back \
                     to zero by the button below.",
    reset_button: "Reset visits to zero",
    reset_hint: "Resets only this Redis counter. The access log keeps every row.",
    access_explain: "Rows written to disk, one per page view: kept across restarts and never \
                     reset.",
    recent_heading: "Recent accesses",
    recent_hint: "The latest rows of the access log, newest first.",
    recent_empty: "No accesses yet.",
    recent_unreadable: "The access log cannot be read right now.",
    time_column: "Time (UTC)",
    browser_column: "Browser",
    browser_on: |browser, system| format!("{browser} on {system}"),
    served_by: "Served by",

    error: "Error",
    status_title: |status| {
        Some(match status {
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            411 => "Length Required",
            413 => "Payload Too Large",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => return None,
        })
    },
    no_page: "There is no page here. The counter lives on the front page.",
    cross_origin_reset: "The counter can only be reset from Tally's own page. Nothing was \
                         changed.",
    only_answers: |methods| format!("This address only answers {methods}."),
    store_did_not_answer: |reason| format!("A store Tally needs did not answer: {reason}."),
    stores_come_back: "Stores are usually back within seconds. Try again shortly.",
    internal_error: |reason| format!("Something went wrong in Tally: {reason}."),
    back_to_counter: "Back to the counter",
    from_english: |_| None,
};

pub static PT_BR: Texts = Texts {
    tag: "pt-BR",
    in_this_language: "Em português",
    language_nav: "Idioma",

    decimal_separator: ',',
    group_separator: '.',
    date: |at| format!("{:02}/{:02}/{}", at.day, at.month, at.year),
    clock: |at| format!("{:02}:{:02}:{:02}", at.hour, at.minute, at.second),

    description: "Um contador de visitas no Redis ao lado de um log de acessos no PostgreSQL.",
    tagline: "Um cache e um banco de dados, lado a lado.",
    checks: "Verificações:",

    page_title: "Tally: visitas e log de acessos",
    reset_notice: "O contador de visitas foi zerado. O log de acessos foi mantido.",
    visits_heading: "Visitas",
    in_redis: "no Redis",
    access_heading: "Log de acessos",
    in_postgres: "no PostgreSQL",
    up: "no ar",
    down: "fora do ar",
    unavailable_gloss: Some("indisponível"),
    answered_in: |took| format!("Respondeu em {took}."),
    committed_in: |took| format!("Gravado em {took}."),
    store_down: |store, reason, took| format!("O {store} está fora do ar: {reason} após {took}."),
    store_error: |store, reason| format!("O {store} respondeu com um erro: {reason}."),
    visits_explain: "Um contador guardado na memória: rápido, perdido quando o Redis reinicia \
                     e zerado pelo botão abaixo.",
    reset_button: "Zerar as visitas",
    reset_hint: "Zera só este contador do Redis. O log de acessos mantém todas as linhas.",
    access_explain: "Linhas gravadas em disco, uma por visualização da página: mantidas entre \
                     reinícios e nunca zeradas.",
    recent_heading: "Acessos recentes",
    recent_hint: "As últimas linhas do log de acessos, das mais recentes para as mais antigas.",
    recent_empty: "Nenhum acesso ainda.",
    recent_unreadable: "Não é possível ler o log de acessos agora.",
    time_column: "Data e hora (UTC)",
    browser_column: "Navegador",
    browser_on: |browser, system| format!("{browser} no {system}"),
    served_by: "Página servida por",

    error: "Erro",
    status_title: |status| {
        Some(match status {
            403 => "Acesso negado",
            404 => "Página não encontrada",
            405 => "Método não permitido",
            411 => "Tamanho obrigatório",
            413 => "Requisição grande demais",
            431 => "Cabeçalhos grandes demais",
            500 => "Erro interno do servidor",
            503 => "Serviço indisponível",
            _ => return None,
        })
    },
    no_page: "Não há nenhuma página aqui. O contador fica na página inicial.",
    cross_origin_reset: "O contador só pode ser zerado pela própria página do Tally. Nada foi \
                         alterado.",
    only_answers: |methods| format!("Este endereço só responde a {methods}."),
    store_did_not_answer: |reason| {
        format!("Um banco de dados de que o Tally precisa não respondeu: {reason}.")
    },
    stores_come_back: "Em geral, ele volta em poucos segundos. Tente de novo daqui a pouco.",
    internal_error: |reason| format!("Algo deu errado no Tally: {reason}."),
    back_to_counter: "Voltar ao contador",
    from_english: |english| {
        Some(match english {
            // crate::middleware's refusals.
            "The request's headers are too large." => {
                "Os cabeçalhos da requisição são grandes demais."
            }
            "Send a body with a Content-Length, or none." => {
                "Envie um corpo com Content-Length, ou nenhum corpo."
            }
            "The request's body is too large." => "O corpo da requisição é grande demais.",
            // crate::error's reasons.
            "timed out" => "tempo esgotado",
            "timed out waiting for a lock" => "tempo esgotado à espera de um lock",
            "not accepting writes" => "não está aceitando gravações",
            "its access total is missing" => "o total de acessos sumiu",
            "read back the wrong value" => "leu de volta um valor errado",
            "could not render the page" => "não foi possível montar a página",
            "connection refused" => "conexão recusada",
            "host not found" => "host não encontrado",
            "connection lost" => "conexão perdida",
            "authentication failed" => "falha na autenticação",
            "database does not exist" => "o banco de dados não existe",
            "too many connections" => "conexões demais",
            "shutting down or starting up" => "desligando ou iniciando",
            "query failed" => "falha na consulta",
            "command failed" => "falha no comando",
            "unexpected answer" => "resposta inesperada",
            "not reachable" => "inalcançável",
            _ => return None,
        })
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_q_value_among_the_pages_languages() {
        for (header, expected) in [
            ("pt-BR", Some(Locale::PtBr)),
            ("pt", Some(Locale::PtBr)),
            ("pt-PT", Some(Locale::PtBr)),
            ("PT-br", Some(Locale::PtBr)),
            ("en-US,en;q=0.9", Some(Locale::En)),
            ("pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7", Some(Locale::PtBr)),
            ("en;q=0.3, pt;q=0.8", Some(Locale::PtBr)),
            ("en;q=0.8, pt;q=0.3", Some(Locale::En)),
            ("fr-FR, fr;q=0.9, pt;q=0.5", Some(Locale::PtBr)),
            ("fr-FR, fr;q=0.9, en;q=0.8, pt;q=0.7", Some(Locale::En)),
            ("pt-PT;q=0.2, en;q=0.5, pt;q=0.9", Some(Locale::PtBr)),
            ("pt;q=0, en", Some(Locale::En)),
            ("pt , en", Some(Locale::PtBr)),
            ("en , pt", Some(Locale::En)),
            ("pt; q=1.0, en; Q=1", Some(Locale::PtBr)),
            ("*;q=0.9, pt;q=0.5", Some(Locale::En)),
            ("*, en;q=0", Some(Locale::PtBr)),
            ("pt;q=2, en;q=0.1", Some(Locale::En)),
            ("pt;q=abc", None),
            ("fr, de", None),
            ("pt;q=0", None),
            ("", None),
            ("*", Some(Locale::En)),
        ] {
            assert_eq!(Locale::negotiate(header), expected, "{header:?}");
        }
    }

    #[test]
    fn numbers_are_grouped_and_pointed_per_language() {
        for (value, places, en, pt) in [
            (1234.5, 1, "1,234.5", "1.234,5"),
            (1.24, 1, "1.2", "1,2"),
            (0.04, 1, "0.0", "0,0"),
            (999.0, 0, "999", "999"),
            (1_234_567.0, 0, "1,234,567", "1.234.567"),
            (-2000.25, 2, "-2,000.25", "-2.000,25"),
        ] {
            assert_eq!(EN.decimal(value, places), en);
            assert_eq!(PT_BR.decimal(value, places), pt);
        }
        let took = std::time::Duration::from_micros(2_000_460);
        assert_eq!(EN.milliseconds(took), "2,000.5 ms");
        assert_eq!(PT_BR.milliseconds(took), "2.000,5 ms");
    }

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let at = DateTime::parse_utc("2025-03-07T19:04:05Z").expect("a time");
        assert_eq!(
            ((EN.date)(&at), (EN.clock)(&at)),
            ("Mar 7, 2025".into(), "7:04:05 PM".into())
        );
        assert_eq!(
            ((PT_BR.date)(&at), (PT_BR.clock)(&at)),
            ("07/03/2025".into(), "19:04:05".into())
        );
        let midnight = DateTime::parse_utc("2025-12-31T00:00:09Z").expect("a time");
        assert_eq!((EN.clock)(&midnight), "12:00:09 AM");
        let noon = DateTime::parse_utc("2025-12-31T12:30:00Z").expect("a time");
        assert_eq!((EN.clock)(&noon), "12:30:00 PM");
        for bad in [
            "",
            "2025-13-01T00:00:00Z",
            "2025-01-01 00:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T24:00:00Z",
            "20x5-01-01T00:00:00Z",
        ] {
            assert_eq!(DateTime::parse_utc(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_reason_the_error_type_gives_has_a_portuguese_text() {
        // The reasons `crate::error::Error::reason` returns are English literals of
        // lower-case words; each must be known here, or a Portuguese card would show it
        // in English.
        let source = include_str!("error.rs");
        let start = source.find("pub fn reason(&self)").expect("Error::reason");
        let body = &source[start..];
        let end = body[1..]
            .find("\n    pub fn ")
            .map_or(body.len(), |i| i + 1);
        let reasons: Vec<&str> = body[..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|text| {
                !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == ' ')
            })
            .collect();
        assert!(reasons.len() > 10, "found the reasons: {reasons:?}");
        for reason in reasons {
            assert!(
                (PT_BR.from_english)(reason).is_some(),
                "no Portuguese for the reason {reason:?}"
            );
        }
    }
}
