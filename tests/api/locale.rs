//! The pages in English and Brazilian Portuguese: chosen from `Accept-Language` or a
//! `?lang=` link, kept through a reset, with the elements scripts read unchanged.

use deadpool_redis::redis;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tally::locale::{EN, PT_BR, Texts};

use crate::helpers::{Namespace, RedisServer, TestApp, element_text, redis_connection, redis_url};

/// An answer's status, headers and body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    /// The `lang` of the `<html>` element.
    fn html_lang(&self) -> &str {
        let at = self.body.find("<html lang=\"").expect("<html lang>") + "<html lang=\"".len();
        let end = self.body[at..].find('"').expect("the end of lang") + at;
        &self.body[at..end]
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The `href` of the link to the other language.
    fn switch_href(&self) -> &str {
        let nav = self
            .body
            .find("<nav class=\"language\"")
            .expect("the language switch");
        let at = self.body[nav..].find("href=\"").expect("its link") + nav + "href=\"".len();
        let end = self.body[at..].find('"').expect("the end of href") + at;
        &self.body[at..end]
    }

    /// The reset form's `action`.
    fn reset_action(&self) -> &str {
        let form = self
            .body
            .find("<form class=\"reset\"")
            .expect("the reset form");
        let at =
            self.body[form..].find("action=\"").expect("its action") + form + "action=\"".len();
        let end = self.body[at..].find('"').expect("the end of action") + at;
        &self.body[at..end]
    }
}

/// `method` on `path`, with `Accept-Language` when given.
async fn ask(app: &TestApp, method: reqwest::Method, path: &str, accept: Option<&str>) -> Answer {
    let mut request = app.client.request(method, app.url(path));
    if let Some(accept) = accept {
        request = request.header("Accept-Language", accept);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> Answer {
    ask(app, reqwest::Method::GET, path, accept).await
}

async fn post(app: &TestApp, path: &str, accept: Option<&str>) -> Answer {
    ask(app, reqwest::Method::POST, path, accept).await
}

#[tokio::test]
async fn accept_language_chooses_the_language_by_q_value() {
    let app = TestApp::spawn().await;
    for (accept, lang) in [
        (None, "en"),
        (Some("pt-BR"), "pt-BR"),
        (Some("pt"), "pt-BR"),
        (Some("pt-PT"), "pt-BR"),
        (Some("pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7"), "pt-BR"),
        (Some("en-US,en;q=0.9,pt-BR;q=0.8"), "en"),
        (Some("en;q=0.4, pt-BR;q=0.6"), "pt-BR"),
        (Some("fr-FR, fr;q=0.9, pt;q=0.5"), "pt-BR"),
        (Some("fr-FR, fr;q=0.9, en;q=0.8, pt;q=0.7"), "en"),
        (Some("pt-BR;q=0, en"), "en"),
        (Some("de, ja"), "en"),
        (Some("not a language header;;;q=x"), "en"),
        (Some("PT-br"), "pt-BR"),
        (Some("en;q=0.3, pt;q=0.8"), "pt-BR"),
        (Some("en;q=0.8, pt;q=0.3"), "en"),
        (Some("pt-PT;q=0.2, en;q=0.5, pt;q=0.9"), "pt-BR"),
        (Some("pt;q=0, en"), "en"),
        (Some("pt , en"), "pt-BR"),
        (Some("en , pt"), "en"),
        (Some("pt; q=1.0, en; Q=1"), "pt-BR"),
        (Some("*;q=0.9, pt;q=0.5"), "en"),
        (Some("*, en;q=0"), "pt-BR"),
        (Some("pt;q=2, en;q=0.1"), "en"),
        (Some("pt;q=abc"), "en"),
        (Some("pt;q=0"), "en"),
        (Some(""), "en"),
        (Some("*"), "en"),
    ] {
        let page = get(&app, "/", accept).await;

        assert_eq!(page.status, 200, "{accept:?}");
        assert_eq!(page.html_lang(), lang, "{accept:?}");
        assert_eq!(page.header("content-language"), lang, "{accept:?}");
        let (visits, reset) = if lang == "en" {
            ("Visits <span", "Reset visits to zero")
        } else {
            ("Visitas <span", "Zerar as visitas")
        };
        assert!(page.body.contains(visits), "{accept:?}: {}", page.body);
        assert!(page.body.contains(reset), "{accept:?}");
    }
}

#[tokio::test]
async fn answers_say_they_vary_with_accept_language() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (reqwest::Method::GET, "/"),
        (reqwest::Method::GET, "/?lang=pt-BR"),
        (reqwest::Method::GET, "/no-such-page"),
        (reqwest::Method::GET, "/reset"),
    ] {
        let answer = ask(&app, method.clone(), path, Some("pt-BR")).await;
        let vary = answer.header("vary").to_ascii_lowercase();
        assert!(
            vary.contains("accept-language"),
            "{method} {path}: Vary is {vary:?}"
        );
    }
}

#[tokio::test]
async fn the_switch_link_wins_over_accept_language_and_costs_one_view() {
    let app = TestApp::spawn().await;

    let portuguese = get(&app, "/", Some("pt-BR,pt;q=0.9")).await;
    assert_eq!(portuguese.html_lang(), "pt-BR");
    assert_eq!(portuguese.switch_href(), "/?lang=en");
    assert!(
        portuguese
            .body
            .contains("hreflang=\"en\" lang=\"en\">In English</a>")
    );

    let english = get(&app, portuguese.switch_href(), Some("pt-BR,pt;q=0.9")).await;
    assert_eq!(
        english.html_lang(),
        "en",
        "?lang=en wins over Accept-Language"
    );
    assert_eq!(english.switch_href(), "/?lang=pt-BR");
    assert!(english.body.contains("lang=\"pt-BR\">Em português</a>"));
    assert!(
        english
            .body
            .contains("<a class=\"brand\" href=\"/?lang=en\">"),
        "the page's own links keep a chosen language"
    );

    let back = get(&app, english.switch_href(), Some("en")).await;
    assert_eq!(
        back.html_lang(),
        "pt-BR",
        "?lang=pt-BR wins over Accept-Language"
    );
    for (lang, expected) in [
        ("pt", "pt-BR"),
        ("PT-pt", "pt-BR"),
        ("en-GB", "en"),
        ("fr", "pt-BR"),
    ] {
        let page = get(&app, &format!("/?lang={lang}"), Some("pt-BR")).await;
        assert_eq!(page.html_lang(), expected, "?lang={lang}");
    }

    // Seven page loads, each one view: switching is a plain link, with no redirect
    // and nothing else counted.
    assert_eq!(element_text(&back.body, "visits"), "3");
    assert_eq!(app.stats().await.body["visits"], 7);
    assert_eq!(app.ns.log_rows().await, 7);
}

#[tokio::test]
async fn a_reset_keeps_the_language_chosen_with_the_link() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/?lang=pt-BR", Some("en")).await;
    assert_eq!(page.reset_action(), "/reset?lang=pt-BR");

    let reset = post(&app, page.reset_action(), Some("en")).await;

    assert_eq!(reset.status, 303);
    assert_eq!(reset.header("location"), "/?reset=1&lang=pt-BR");
    let after = get(&app, reset.header("location"), Some("en")).await;
    assert_eq!(after.html_lang(), "pt-BR");
    assert!(
        after
            .body
            .contains("O contador de visitas foi zerado. O log de acessos foi mantido."),
        "{}",
        after.body
    );
    assert_eq!(element_text(&after.body, "visits"), "1");
    assert_eq!(element_text(&after.body, "access-total"), "2");

    let english = get(&app, "/?lang=en", Some("pt-BR")).await;
    assert_eq!(english.reset_action(), "/reset?lang=en");
    let reset = post(&app, english.reset_action(), Some("pt-BR")).await;
    assert_eq!(reset.header("location"), "/?reset=1&lang=en");
    let after = get(&app, reset.header("location"), Some("pt-BR")).await;
    assert!(after.body.contains("The visit counter was reset to zero."));
}

#[tokio::test]
async fn a_reset_keeps_the_language_of_accept_language() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/", Some("pt-BR")).await;
    assert_eq!(
        page.reset_action(),
        "/reset",
        "no language in the address to keep"
    );

    let reset = post(&app, page.reset_action(), Some("pt-BR")).await;

    assert_eq!(reset.status, 303);
    assert_eq!(reset.header("location"), "/?reset=1");
    let after = get(&app, reset.header("location"), Some("pt-BR")).await;
    assert_eq!(after.html_lang(), "pt-BR");
    assert!(after.body.contains("O contador de visitas foi zerado."));
}

#[tokio::test]
async fn the_numbers_scripts_read_are_unchanged_in_portuguese() {
    let app = TestApp::spawn().await;
    let mut redis = redis_connection(&redis_url()).await;
    let () = redis::cmd("SET")
        .arg(format!("{}{}", app.ns.prefix, tally::stores::redis::VISITS))
        .arg(1_234_566)
        .query_async(&mut redis)
        .await
        .expect("SET visits");

    let page = get(&app, "/?lang=pt-BR", None).await;

    assert_eq!(
        element_text(&page.body, "visits"),
        "1234567",
        "a plain integer, with no thousands separator"
    );
    assert_eq!(element_text(&page.body, "access-total"), "1");
    assert_eq!(element_text(&page.body, "served-by"), app.instance);
    let json = app.stats().await.body;
    assert_eq!(json["visits"], 1_234_567, "the API is not translated");
    assert_eq!(json["redis"], "up");
}

#[tokio::test]
async fn a_store_down_is_explained_in_portuguese_beside_the_english_word() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    let up = get(&app, "/", Some("pt-BR")).await;
    let state = element_text(&up.body, "visits-state");
    assert!(
        state.starts_with("Respondeu em ") && state.ends_with(" ms."),
        "{state:?}"
    );
    let took = &state["Respondeu em ".len()..state.len() - " ms.".len()];
    assert!(
        took.contains(',') && !took.contains('.'),
        "a Portuguese decimal comma: {took:?}"
    );

    redis.stop();
    let page = get(&app, "/", Some("pt-BR")).await;

    assert_eq!(page.status, 200);
    assert_eq!(element_text(&page.body, "visits"), "unavailable");
    assert!(
        page.body
            .contains("<p class=\"number\" id=\"visits\" lang=\"en\">unavailable</p>"),
        "the English word is marked as English"
    );
    assert!(page.body.contains("<p class=\"gloss\">indisponível</p>"));
    let state = element_text(&page.body, "visits-state");
    assert!(
        state.starts_with("O Redis está fora do ar: conexão recusada após ")
            || state.starts_with("O Redis está fora do ar: conexão perdida após "),
        "{state:?}"
    );
    assert!(page.body.contains("fora do ar</span>"), "the badge");
    assert_eq!(
        element_text(&page.body, "access-total"),
        "2",
        "the other card still counts"
    );

    // The reset needs Redis: its 503 page, in Portuguese.
    let reset = post(&app, "/reset", Some("pt-BR")).await;
    assert_eq!(reset.status, 503);
    assert_eq!(reset.html_lang(), "pt-BR");
    assert!(
        reset
            .body
            .contains("<title>503 Serviço indisponível · Tally</title>"),
        "{}",
        reset.body
    );
    assert!(
        reset
            .body
            .contains("Um banco de dados de que o Tally precisa não respondeu: "),
        "{}",
        reset.body
    );
    assert!(reset.body.contains("Tente de novo daqui a pouco."));
}

#[tokio::test]
async fn error_pages_speak_the_visitors_language() {
    let app = TestApp::spawn().await;

    let missing = get(&app, "/no/such/page", Some("pt-BR")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.html_lang(), "pt-BR");
    assert!(
        missing
            .body
            .contains("<title>404 Página não encontrada · Tally</title>")
    );
    assert!(missing.body.contains("Erro 404"));
    assert!(missing.body.contains("O contador fica na página inicial."));
    assert!(missing.body.contains("href=\"/\">Voltar ao contador</a>"));

    let chosen = get(&app, "/no/such/page?lang=pt-BR", Some("en")).await;
    assert_eq!(chosen.html_lang(), "pt-BR");
    assert!(
        chosen
            .body
            .contains("href=\"/?lang=pt-BR\">Voltar ao contador</a>"),
        "the way back keeps a chosen language"
    );

    let english = get(&app, "/no/such/page", Some("en-US")).await;
    assert_eq!(english.html_lang(), "en");
    assert!(
        english
            .body
            .contains("<title>404 Not Found · Tally</title>")
    );

    let method = get(&app, "/reset", Some("pt-BR")).await;
    assert_eq!(method.status, 405);
    assert_eq!(method.header("allow"), "POST");
    assert!(method.body.contains("Este endereço só responde a POST."));

    let foreign = app
        .client
        .post(app.url("/reset"))
        .header("Accept-Language", "pt-BR")
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("posted");
    assert_eq!(foreign.status(), 403);
    assert_eq!(
        foreign.headers()["x-frame-options"],
        "DENY",
        "the security headers stay"
    );
    let body = foreign.text().await.expect("body");
    assert!(body.contains("Nada foi alterado."), "{body}");

    let big = app
        .client
        .post(app.url("/reset"))
        .header("Accept-Language", "pt-BR")
        .body(vec![b'a'; 64 * 1024])
        .send()
        .await
        .expect("posted");
    assert_eq!(big.status(), 413);
    let body = big.text().await.expect("body");
    assert!(
        body.contains("O corpo da requisição é grande demais."),
        "{body}"
    );

    let headers = app
        .client
        .get(app.url("/"))
        .header("Accept-Language", "pt-BR")
        .header("X-Big", "a".repeat(9000))
        .send()
        .await
        .expect("sent");
    assert_eq!(headers.status(), 431);
    let body = headers.text().await.expect("body");
    assert!(
        body.contains("Os cabeçalhos da requisição são grandes demais."),
        "{body}"
    );
    assert_eq!(app.ns.log_rows().await, 0, "no error page counted a view");
}

#[tokio::test]
async fn recent_accesses_are_dated_the_way_each_language_writes_dates() {
    let app = TestApp::spawn().await;
    app.view().await;

    let portuguese = get(&app, "/", Some("pt-BR")).await;
    let english = get(&app, "/", Some("en")).await;

    let iso = {
        let at = portuguese.body.find("<time datetime=\"").expect("a time") + 16;
        portuguese.body[at..at + 20].to_owned()
    };
    assert!(
        iso.len() == 20 && iso.as_bytes()[10] == b'T' && iso.ends_with('Z'),
        "the datetime attribute stays RFC 3339: {iso:?}"
    );
    let (year, month, day) = (&iso[0..4], &iso[5..7], &iso[8..10]);
    assert!(
        portuguese
            .body
            .contains(&format!("<span class=\"date\">{day}/{month}/{year}</span>")),
        "{}",
        portuguese.body
    );
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month_name = MONTHS[month.parse::<usize>().expect("a month") - 1];
    let english_date = format!(
        "<span class=\"date\">{month_name} {}, {year}</span>",
        day.trim_start_matches('0')
    );
    assert!(english.body.contains(&english_date), "{}", english.body);
    assert!(
        portuguese
            .body
            .contains("<th scope=\"col\" class=\"col-time\">Data e hora (UTC)</th>")
    );
}

#[tokio::test]
async fn markup_in_the_language_inputs_is_never_reflected() {
    let app = TestApp::spawn().await;
    let hostile = r#""><script>alert(1)</script>"#;

    let page = app
        .client
        .get(app.url(&format!(
            "/?lang={}",
            "%22%3E%3Cscript%3Ealert(1)%3C/script%3E"
        )))
        .header("Accept-Language", format!("pt-BR;q=0.5, {hostile}"))
        .header("User-Agent", hostile)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    let again = get(&app, "/?lang=pt-BR", None).await;

    for body in [&page, &again.body] {
        assert!(!body.contains("<script"), "{body}");
        assert!(!body.contains("alert(1)</"), "{body}");
    }
    assert!(
        page.contains("<html lang=\"pt-BR\">"),
        "the header's usable part is used"
    );
    assert!(
        again.body.contains("&#34;&#62;&#60;script&#62;")
            || again.body.contains("&quot;&gt;&lt;script&gt;")
    );
}

#[test]
fn durations_are_grouped_and_pointed_per_language() {
    for (micros, en, pt) in [
        (2_000_460, "2,000.5 ms", "2.000,5 ms"),
        (1_240, "1.2 ms", "1,2 ms"),
        (40, "0.0 ms", "0,0 ms"),
        (999_000, "999.0 ms", "999,0 ms"),
        (1_234_567_000, "1,234,567.0 ms", "1.234.567,0 ms"),
    ] {
        let took = std::time::Duration::from_micros(micros);
        assert_eq!(EN.millis(took).to_string(), en);
        assert_eq!(PT_BR.millis(took).to_string(), pt);
    }
}

#[test]
fn dates_and_clocks_read_as_each_language_writes_them() {
    use time::macros::datetime;
    let shown = |t: &Texts, at| {
        let (date, clock) = (Texts::say(t.date, at), Texts::say(t.clock, at));
        (date.to_string(), clock.to_string())
    };
    let evening = datetime!(2025-03-07 19:04:05 UTC);
    assert_eq!(
        shown(&EN, evening),
        ("Mar 7, 2025".into(), "7:04:05 PM".into())
    );
    assert_eq!(
        shown(&PT_BR, evening),
        ("07/03/2025".into(), "19:04:05".into())
    );
    assert_eq!(
        shown(&EN, datetime!(2025-12-31 00:00:09 UTC)).1,
        "12:00:09 AM"
    );
    assert_eq!(
        shown(&EN, datetime!(2025-12-31 12:30:00 UTC)).1,
        "12:30:00 PM"
    );
}
