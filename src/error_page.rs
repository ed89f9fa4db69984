//! The page every answer but the main one uses (404, 403, 405, 413, 503, ...), in
//! the site's layout and the visitor's language. It sits below [`crate::error`] so
//! that an error can render itself without reaching up into the routes.
//!
//! Most error pages are made where no request is at hand (an error's
//! `error_response`, the size limits), so they are rendered in English and
//! [`localize`], wrapped around every route, renders them again in the request's
//! language.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::middleware::Next;
use askama::Template;

use crate::locale::{Language, Texts};

/// What an error page says under its title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// 404: nothing lives at this address.
    NoPage,
    /// 403: a reset asked for from another origin's page.
    CrossOriginReset,
    /// 405: the methods the address answers ("GET", "POST").
    OnlyAnswers(&'static str),
    /// A sentence, or for a 500 or 503 the reason, given in English by a module that
    /// knows no language ([`crate::error`], [`crate::middleware`]); shown in the
    /// visitor's language when [`Texts::from_english`] knows it.
    English(Cow<'static, str>),
}

impl From<&'static str> for Message {
    fn from(english: &'static str) -> Self {
        Self::English(Cow::Borrowed(english))
    }
}

impl From<String> for Message {
    fn from(english: String) -> Self {
        Self::English(Cow::Owned(english))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub t: &'static Texts,
    pub language: Language,
    pub status: u16,
    pub title: &'static str,
    pub message: String,
    /// What to do about it, when there is something to do.
    pub advice: Option<&'static str>,
}

impl ErrorPage {
    pub fn new(status: StatusCode, message: &Message, language: Language) -> Self {
        let t = language.texts();
        let title = (t.status_title)(status.as_u16())
            .or(status.canonical_reason())
            .unwrap_or(t.error);
        let (message, advice) = match message {
            Message::NoPage => (t.no_page.to_owned(), None),
            Message::CrossOriginReset => (t.cross_origin_reset.to_owned(), None),
            Message::OnlyAnswers(methods) => ((t.only_answers)(methods), None),
            Message::English(english) => {
                let text = t.translate(english);
                match status {
                    StatusCode::SERVICE_UNAVAILABLE => {
                        ((t.store_did_not_answer)(text), Some(t.stores_come_back))
                    }
                    StatusCode::INTERNAL_SERVER_ERROR => ((t.internal_error)(text), None),
                    _ => (text.to_owned(), None),
                }
            }
        };
        Self {
            t,
            language,
            status: status.as_u16(),
            title,
            message,
            advice,
        }
    }
}

/// What an error page was made of, kept on its response for [`localize`].
#[derive(Clone, Debug)]
struct Shown {
    message: Message,
    language: Language,
}

/// An error page with `status`, in English until [`localize`] renders it in the
/// request's language (plain text if even the template fails).
pub fn error_page(status: StatusCode, message: impl Into<Message>) -> HttpResponse {
    render(status, message.into(), Language::default())
}

fn render(status: StatusCode, message: Message, language: Language) -> HttpResponse {
    let page = ErrorPage::new(status, &message, language);
    let mut response = match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type(ContentType::html())
            .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
            .insert_header((header::CONTENT_LANGUAGE, page.t.tag))
            .body(html),
        Err(error) => {
            log::error!("error page not rendered: {error}");
            return HttpResponse::build(status)
                .content_type(ContentType::plaintext())
                .body(page.message);
        }
    };
    response
        .extensions_mut()
        .insert(Shown { message, language });
    response
}

/// Middleware, around every route: an error page, wherever it was made, is shown in
/// the request's language (`?lang=`, else `Accept-Language`), and says that it
/// varies with `Accept-Language`. Other answers pass untouched.
pub async fn localize(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let shown = response.response().extensions().get::<Shown>().cloned();
    let Some(shown) = shown else {
        return Ok(response.map_into_left_body());
    };
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Language"));
    let language = Language::of(response.request());
    if shown.language == language {
        return Ok(response.map_into_left_body());
    }
    let status = response.status();
    let localized = render(status, shown.message, language);
    let (request, mut head) = response.into_parts();
    // The headers stay (`Allow`, the security headers); the body and its language change.
    for name in [header::CONTENT_TYPE, header::CONTENT_LANGUAGE] {
        let headers = head.headers_mut();
        match localized.headers().get(&name) {
            Some(value) => headers.insert(name, value.clone()),
            None => headers.remove(name),
        };
    }
    let body = localized.into_body();
    Ok(ServiceResponse::new(request, head.set_body(body)).map_into_right_body())
}
