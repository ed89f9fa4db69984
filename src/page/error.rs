//! The page every answer but the main one uses (404, 403, 405, 413, 503, ...), in
//! the site's layout and the visitor's language. Whoever answers with one has the
//! request at hand (a route, the size limits) and renders it once, in that
//! request's language. It sits below [`crate::routes`] and [`crate::middleware`],
//! and holds how an [`Error`] that reaches actix unhandled is answered.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::error::{Error, Reason};
use crate::locale::{Language, Texts};

/// What an error page says; it decides the status too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// 404: nothing lives at this address.
    NoPage,
    /// 403: a reset asked for from another origin's page.
    CrossOriginReset,
    /// 405: the methods the address answers ("GET", "POST").
    OnlyAnswers(&'static str),
    /// 431, 411, 413: a request refused before any handler ran.
    Refused(Refusal),
    /// 503: a store Tally needs did not answer.
    StoreDown(Reason),
    /// 500: a bug in Tally.
    Bug(Reason),
}

/// Why a request was refused before any handler ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    HeadersTooLarge,
    LengthRequired,
    BodyTooLarge,
}

impl Message {
    /// The page for a failed call: a bug in Tally, or a store that did not answer.
    pub fn failed(error: &Error) -> Self {
        match error.reason() {
            reason if reason.is_bug() => Self::Bug(reason),
            reason => Self::StoreDown(reason),
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::NoPage => StatusCode::NOT_FOUND,
            Self::CrossOriginReset => StatusCode::FORBIDDEN,
            Self::OnlyAnswers(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Refused(Refusal::HeadersTooLarge) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Refused(Refusal::LengthRequired) => StatusCode::LENGTH_REQUIRED,
            Self::Refused(Refusal::BodyTooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::StoreDown(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Bug(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the page says under its title, in `t`'s language.
    fn say(self, t: &'static Texts) -> impl fmt::Display {
        fmt::from_fn(move |f| match self {
            Self::NoPage => f.write_str(t.no_page),
            Self::CrossOriginReset => f.write_str(t.cross_origin_reset),
            Self::OnlyAnswers(methods) => (t.only_answers)(f, methods),
            Self::Refused(Refusal::HeadersTooLarge) => f.write_str(t.headers_too_large),
            Self::Refused(Refusal::LengthRequired) => f.write_str(t.length_required),
            Self::Refused(Refusal::BodyTooLarge) => f.write_str(t.body_too_large),
            Self::StoreDown(reason) => (t.store_did_not_answer)(f, (t.reason)(reason)),
            Self::Bug(reason) => (t.internal_error)(f, (t.reason)(reason)),
        })
    }

    /// What to do about it, when there is something to do.
    fn advice(self, t: &Texts) -> Option<&'static str> {
        matches!(self, Self::StoreDown(_)).then_some(t.stores_come_back)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: &'static Texts,
    language: Language,
    status: u16,
    title: &'static str,
    message: Message,
}

/// The error page `message` makes, in `language`.
pub fn error_page(message: Message, language: Language) -> HttpResponse {
    let status = message.status();
    let t = language.texts();
    let page = ErrorPage {
        t,
        language,
        status: status.as_u16(),
        title: (t.status_title)(status.as_u16())
            .or(status.canonical_reason())
            .unwrap_or(t.error),
        message,
    };
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::VARY, HeaderValue::from_static("Accept-Language")));
    match page.render() {
        Ok(html) => response
            .content_type(ContentType::html())
            .insert_header((header::CONTENT_LANGUAGE, t.tag))
            .body(html),
        Err(error) => {
            log::error!("error page not rendered: {error}");
            response
                .content_type(ContentType::plaintext())
                .body(message.say(t).to_string())
        }
    }
}

/// An error a handler returns unhandled. Handlers answer store failures themselves,
/// in the visitor's language; what reaches actix is rare, and is shown in the
/// default language.
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        Message::failed(self).status()
    }

    fn error_response(&self) -> HttpResponse {
        log::error!("request failed: {}", self.chain());
        error_page(Message::failed(self), Language::default())
    }
}
