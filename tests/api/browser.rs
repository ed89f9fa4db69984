//! The page as people see it, in a real browser: Debian's headless Chromium driven
//! through `chromedriver` (WebDriver, with the `fantoccini` crate). The test reloads,
//! resets with the keyboard, switches to Portuguese with the page's link and does it
//! all again there, stops Redis, checks the layout at 1280 and 375 px, runs axe-core
//! in the page in both languages, opens a browser that prefers Portuguese, and fails
//! on any console error, CSP violation or failed request the browser reports.
//!
//! Needs `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian: `chromium-driver`,
//! `chromium`) and axe-core (`scripts/install-axe.sh`, or `TALLY_AXE_JS`). Without
//! them the test fails, saying what to install: a test that could not run is not
//! reported as passed. `cargo test -- --skip browser` leaves it out on purpose.
//! With `TALLY_SCREENSHOTS=1` the test saves the README's screenshots in
//! `docs/screenshots/`, the English ones and the Portuguese ones (`*-pt-BR.png`).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep, timeout};

use crate::helpers::{Namespace, RedisServer, TestApp, free_port};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// Where `scripts/install-axe.sh` puts axe-core, under `$HOME`.
const AXE_UNDER_HOME: &str = ".cache/tally-ci/axe/node_modules/axe-core/axe.min.js";
/// The whole scenario; it takes a few seconds when all is well.
const LIMIT: Duration = Duration::from_secs(120);
/// axe rules that fail the test at any impact: the issue asks for landmarks and
/// headings in order, which axe rates only "moderate".
const STRUCTURE_RULES: [&str; 4] = [
    "heading-order",
    "page-has-heading-one",
    "landmark-one-main",
    "region",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sees_the_numbers_rise_reset_and_degrade() {
    required(
        Path::new(CHROMEDRIVER).exists(),
        &format!("{CHROMEDRIVER} is missing (Debian: apt-get install chromium chromium-driver)"),
    );
    let axe = axe_source();

    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_in(Namespace::create().await, &[("REDIS_URL", redis.url())]).await;
    let driver = Chromedriver::start().await;
    let browser = driver.open().await;

    timeout(LIMIT, scenario(&app, &browser, &mut redis, &axe))
        .await
        .expect("the browser scenario finished in time");
    browser.client.close().await.expect("close the browser");

    // A browser whose user prefers Portuguese gets the page in Portuguese at once.
    let portuguese = driver.open_preferring("pt-BR,pt").await;
    timeout(LIMIT, async {
        portuguese.goto(&app.url("/")).await;
        assert_eq!(
            portuguese.lang().await,
            "pt-BR",
            "Accept-Language: pt-BR chooses Portuguese"
        );
        assert_eq!(
            portuguese.numbers().await.0,
            "unavailable",
            "the word scripts read, Redis being down"
        );
        portuguese
            .check_accessibility(&axe, "a browser preferring Portuguese")
            .await;
    })
    .await
    .expect("the Portuguese browser finished in time");
    portuguese.client.close().await.expect("close the browser");
}

async fn scenario(app: &TestApp, browser: &Browser, redis: &mut RedisServer, axe: &str) {
    // Three loads: each raises both numbers by exactly one; the stylesheet, the
    // icon and whatever else the browser fetches by itself count for nothing.
    browser.goto(&app.url("/")).await;
    assert_eq!(
        browser.numbers().await,
        ("1".into(), "1".into()),
        "first view"
    );
    browser.assert_clean("the first view").await;
    for expected in ["2", "3"] {
        browser.client.refresh().await.expect("reload");
        assert_eq!(
            browser.numbers().await,
            (expected.to_owned(), expected.to_owned()),
            "each reload counts once in each store"
        );
        browser.assert_clean("a reload").await;
    }
    assert_eq!(
        app.ns.log_rows().await,
        3,
        "only the three page views are in the log, not the browser's other requests"
    );
    let stats = app.stats().await.body;
    assert_eq!(
        (stats["visits"].clone(), stats["access_total"].clone()),
        (json!(3), json!(3))
    );

    // Desktop: the two cards side by side, nothing wider than the window.
    browser.resize(1280, 900).await;
    let layout = browser.layout().await;
    assert!(
        (layout.visits.top - layout.access.top).abs() < 1.0
            && layout.access.left >= layout.visits.right,
        "at 1280 px the cards stand side by side: {layout:?}"
    );
    assert!(
        layout.fits(),
        "at 1280 px the page scrolls sideways: {layout:?}"
    );
    browser
        .check_accessibility_in_both_themes(axe, "1280 px")
        .await;
    browser.screenshot("desktop").await;

    // Phone: stacked, no sideways scrolling.
    browser.resize(375, 900).await;
    let layout = browser.layout().await;
    assert_eq!(
        layout.inner_width, 375.0,
        "the window is really 375 px wide"
    );
    assert!(
        layout.fits(),
        "at 375 px the page scrolls sideways: {layout:?}"
    );
    assert!(
        layout.access.top >= layout.visits.bottom,
        "at 375 px the cards are stacked: {layout:?}"
    );
    browser.check_accessibility(axe, "375 px").await;
    browser.screenshot("phone").await;

    // Reset with the keyboard alone: Tab to the button, see its focus, press Enter.
    browser.resize(1280, 900).await;
    browser.tab_to("form.reset button").await;
    let outline = browser
        .js("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)];")
        .await;
    assert!(
        outline[0] != "none" && outline[1].as_f64().unwrap_or(0.0) >= 2.0,
        "the focused reset button shows its focus: {outline}"
    );
    browser.press(Key::Enter).await;
    browser.wait_for_url("/?reset=1").await;
    assert_eq!(
        browser.numbers().await,
        ("1".into(), "4".into()),
        "after a reset visits start again and the access log is kept"
    );
    let notice = browser.text_of(Locator::Css("[role=status]")).await;
    assert!(
        notice.contains("reset"),
        "the page says it was reset: {notice:?}"
    );
    browser.assert_clean("the reset").await;
    assert_eq!(browser.lang().await, "en");

    portuguese(app, browser, axe).await;

    // Redis down: its card says so, the access log keeps counting.
    redis.stop();
    for expected in ["8", "9"] {
        browser.goto(&app.url("/")).await;
        assert_eq!(
            browser.numbers().await,
            ("unavailable".into(), expected.to_owned()),
            "with Redis down the other card still counts"
        );
    }
    let card = browser
        .text_of(Locator::XPath("//*[@id='visits']/ancestor::section"))
        .await;
    assert!(
        card.contains("Redis is down"),
        "the card says why: {card:?}"
    );
    let other = browser
        .text_of(Locator::XPath("//*[@id='access-total']/ancestor::section"))
        .await;
    assert!(
        !other.contains("unavailable"),
        "the PostgreSQL card is not down: {other:?}"
    );
    browser.check_accessibility(axe, "Redis down").await;
    browser.assert_clean("the degraded page").await;
    browser.screenshot("degraded").await;

    browser.goto(&app.url("/?lang=pt-BR")).await;
    assert_eq!(
        browser.numbers().await,
        ("unavailable".into(), "10".to_owned()),
        "the word and number scripts read, in Portuguese too"
    );
    let card = browser
        .text_of(Locator::XPath("//*[@id='visits']/ancestor::section"))
        .await;
    assert!(
        card.contains("indisponível") && card.contains("O Redis está fora do ar"),
        "the card says why, in Portuguese: {card:?}"
    );
    browser.check_accessibility(axe, "Redis down, pt-BR").await;
    browser.resize(375, 900).await;
    assert!(
        browser.layout().await.fits(),
        "at 375 px the degraded Portuguese page scrolls sideways"
    );
    browser
        .check_accessibility(axe, "Redis down, pt-BR, 375 px")
        .await;
    browser.screenshot("degraded-phone-pt-BR").await;
    browser.resize(1280, 900).await;
    browser.assert_clean("the degraded Portuguese page").await;
    browser.screenshot("degraded-pt-BR").await;

    browser.click("form.reset button").await;
    browser.wait_for_url("/reset?lang=pt-BR").await;
    assert_eq!(browser.lang().await, "pt-BR");
    browser
        .assert_error_page(axe, 503, "Serviço indisponível", "the 503 page, pt-BR")
        .await;
    let page = browser.text_of(Locator::Css("main")).await;
    assert!(
        page.contains("não respondeu"),
        "the 503 page says why: {page:?}"
    );

    browser.goto(&app.url("/no/such/page?lang=pt-BR")).await;
    browser
        .assert_error_page(axe, 404, "Página não encontrada", "the 404 page, pt-BR")
        .await;

    browser.goto(&app.url("/")).await;

    // The reset needs Redis: with it down, the button leads to a 503 page in the
    // same layout, and so does an unknown address to a 404 page.
    browser.click("form.reset button").await;
    browser.wait_for_url("/reset").await;
    browser
        .assert_error_page(axe, 503, "Service Unavailable", "the 503 page")
        .await;
    let page = browser.text_of(Locator::Css("main")).await;
    assert!(
        page.contains("did not answer"),
        "the 503 page says why: {page:?}"
    );

    browser.goto(&app.url("/no/such/page")).await;
    browser
        .assert_error_page(axe, 404, "Not Found", "the 404 page")
        .await;
}

/// The page in Portuguese, reached with its own link: each language's first view
/// counts once, the layout holds with the longer words, axe finds nothing, and a
/// keyboard reset comes back in Portuguese. Ends back in English. Views 5 to 7.
async fn portuguese(app: &TestApp, browser: &Browser, axe: &str) {
    browser.click("nav.language a[hreflang='pt-BR']").await;
    browser.wait_for_url("/?lang=pt-BR").await;
    assert_eq!(browser.lang().await, "pt-BR", "<html lang> follows");
    assert_eq!(
        browser.numbers().await,
        ("2".into(), "5".into()),
        "switching language is one view; the numbers stay plain integers"
    );
    let visits = browser
        .text_of(Locator::XPath("//*[@id='visits']/ancestor::section"))
        .await;
    assert!(
        visits.contains("Visitas") && visits.contains("Zerar as visitas"),
        "the card is in Portuguese: {visits:?}"
    );
    browser.assert_clean("the switch to Portuguese").await;

    let layout = browser.layout().await;
    assert!(
        (layout.visits.top - layout.access.top).abs() < 1.0 && layout.fits(),
        "at 1280 px the Portuguese cards stand side by side: {layout:?}"
    );
    browser
        .check_accessibility_in_both_themes(axe, "pt-BR, 1280 px")
        .await;
    browser.screenshot("desktop-pt-BR").await;

    browser.resize(375, 900).await;
    let layout = browser.layout().await;
    assert!(
        layout.fits() && layout.access.top >= layout.visits.bottom,
        "at 375 px the Portuguese page is stacked and does not scroll sideways: {layout:?}"
    );
    browser.check_accessibility(axe, "pt-BR, 375 px").await;
    browser.screenshot("phone-pt-BR").await;
    browser.resize(1280, 900).await;

    browser.tab_to("form.reset button").await;
    browser.press(Key::Enter).await;
    browser.wait_for_url("/?reset=1&lang=pt-BR").await;
    assert_eq!(
        browser.lang().await,
        "pt-BR",
        "the reset comes back in Portuguese"
    );
    assert_eq!(browser.numbers().await, ("1".into(), "6".into()));
    let notice = browser.text_of(Locator::Css("[role=status]")).await;
    assert!(
        notice.contains("zerado"),
        "the page says it was reset, in Portuguese: {notice:?}"
    );
    browser.assert_clean("the reset in Portuguese").await;

    browser.click("nav.language a[hreflang='en']").await;
    browser.wait_for_url("/?lang=en").await;
    assert_eq!(browser.lang().await, "en");
    assert_eq!(browser.numbers().await, ("2".into(), "7".into()));
    let stats = app.stats().await.body;
    assert_eq!(
        (stats["visits"].clone(), stats["access_total"].clone()),
        (json!(2), json!(7)),
        "every switch and reset counted exactly its one page view"
    );
}

/// Fails the test, saying what is missing and how to leave the test out, unless `present`.
fn required(present: bool, missing: &str) {
    assert!(
        present,
        "the browser test cannot run: {missing}; or leave it out with `cargo test -- --skip browser`"
    );
}

/// axe-core's script, from `TALLY_AXE_JS` or where `scripts/install-axe.sh` puts it.
fn axe_source() -> String {
    let path = std::env::var_os("TALLY_AXE_JS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(AXE_UNDER_HOME)))
        .unwrap_or_else(|| PathBuf::from(AXE_UNDER_HOME));
    let source = std::fs::read_to_string(&path);
    required(
        source.is_ok(),
        &format!(
            "{} is missing (scripts/install-axe.sh installs it)",
            path.display()
        ),
    );
    source.unwrap_or_default()
}

/// `chromedriver` on a free port, in a process group of its own so that the browser
/// it starts goes down with it, even when the test panics.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    async fn start() -> Self {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} starts: {e}"));
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", driver.url);
        let started = Instant::now();
        loop {
            if let Ok(answer) = reqwest::get(&status).await
                && let Ok(body) = answer.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return driver;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "chromedriver did not answer on {status}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// A fresh headless Chromium (chromedriver gives it a temporary profile), whose
    /// user prefers English.
    async fn open(&self) -> Browser {
        self.open_preferring("en-US,en").await
    }

    /// The same, whose user prefers the languages `accept_language` lists.
    async fn open_preferring(&self, accept_language: &str) -> Browser {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    "--window-size=1280,900", format!("--accept-lang={accept_language}"),
                ],
                "prefs": { "intl.accept_languages": accept_language },
            }),
        );
        // The console, including CSP violations and failed loads, readable over WebDriver.
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("chromium starts under chromedriver ({CHROMIUM}): {e}"));
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a WebDriver session");
        Browser {
            client,
            session: format!("{}/session/{session}", self.url),
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// One browser window, with the checks the scenario makes on it.
struct Browser {
    client: Client,
    /// `http://127.0.0.1:port/session/id`, for chromedriver's own commands.
    session: String,
    http: reqwest::Client,
}

#[derive(Debug)]
struct Rect {
    top: f64,
    left: f64,
    right: f64,
    bottom: f64,
}

#[derive(Debug)]
struct Layout {
    visits: Rect,
    access: Rect,
    inner_width: f64,
    client_width: f64,
    scroll_width: f64,
}

impl Layout {
    /// Nothing sticks out sideways (clientWidth leaves out a scrollbar, if any).
    fn fits(&self) -> bool {
        self.scroll_width <= self.client_width && self.scroll_width <= self.inner_width
    }
}

impl Browser {
    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("load {url}: {e}"));
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{}", &script[..script.len().min(200)]))
    }

    async fn text_of(&self, locator: Locator<'_>) -> String {
        self.client
            .find(locator)
            .await
            .unwrap_or_else(|e| panic!("find {locator:?}: {e}"))
            .text()
            .await
            .expect("element text")
    }

    /// The page's language, as `<html lang>` says it.
    async fn lang(&self) -> String {
        let lang = self.js("return document.documentElement.lang;").await;
        lang.as_str().unwrap_or_default().to_owned()
    }

    /// The two numbers as the page shows them.
    async fn numbers(&self) -> (String, String) {
        (
            self.text_of(Locator::Id("visits")).await,
            self.text_of(Locator::Id("access-total")).await,
        )
    }

    async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    async fn layout(&self) -> Layout {
        let v = self
            .js("const card = id => { const r = document.getElementById(id).closest('section').getBoundingClientRect(); \
                   return [r.top, r.left, r.right, r.bottom]; }; \
                 const d = document.documentElement; \
                 return [card('visits'), card('access-total'), [window.innerWidth, d.clientWidth, d.scrollWidth]];")
            .await;
        let n = |a: usize, b: usize| v[a][b].as_f64().expect("a number");
        let rect = |a| Rect {
            top: n(a, 0),
            left: n(a, 1),
            right: n(a, 2),
            bottom: n(a, 3),
        };
        Layout {
            visits: rect(0),
            access: rect(1),
            inner_width: n(2, 0),
            client_width: n(2, 1),
            scroll_width: n(2, 2),
        }
    }

    /// A command of chromedriver's own (not in the WebDriver standard).
    async fn chromedriver(&self, path: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(format!("{}/{path}", self.session))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("chromedriver {path}: {e}"));
        let status = answer.status();
        let body: Value = answer.json().await.expect("chromedriver answers JSON");
        assert!(status.is_success(), "chromedriver {path}: {status} {body}");
        body["value"].clone()
    }

    async fn with_dark_theme(&self, dark: bool) {
        let scheme = if dark { "dark" } else { "light" };
        self.chromedriver(
            "goog/cdp/execute",
            json!({
                "cmd": "Emulation.setEmulatedMedia",
                "params": { "features": [{ "name": "prefers-color-scheme", "value": scheme }] },
            }),
        )
        .await;
        let query = format!("return matchMedia('(prefers-color-scheme: {scheme})').matches;");
        assert_eq!(
            self.js(&query).await,
            true,
            "the page sees the {scheme} theme"
        );
    }

    /// Console errors and warnings (CSP violations and failed loads among them) since
    /// the last call, and any request the page made that failed.
    async fn problems(&self) -> Vec<String> {
        let log = self
            .chromedriver("se/log", json!({ "type": "browser" }))
            .await;
        let mut problems: Vec<String> = log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| matches!(entry["level"].as_str(), Some("SEVERE" | "WARNING")))
            .map(|entry| format!("console {}: {}", entry["level"], entry["message"]))
            .collect();
        let failed = self
            .js("return [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')] \
                   .filter(e => e.responseStatus >= 400).map(e => e.name + ' answered ' + e.responseStatus);")
            .await;
        problems.extend(
            failed
                .as_array()
                .into_iter()
                .flatten()
                .map(|line| format!("request {line}")),
        );
        problems
    }

    /// The page loaded its stylesheet and nothing went wrong in the browser.
    async fn assert_clean(&self, when: &str) {
        self.assert_clean_but(when, None).await;
    }

    /// The same for a page that answered `status` on purpose, as an error page does:
    /// the browser reports that answer, and nothing else may go wrong.
    async fn assert_clean_but(&self, when: &str, status: Option<u16>) {
        let rules = self
            .js("const sheet = document.styleSheets[0]; return sheet ? sheet.cssRules.length : 0;")
            .await;
        assert!(
            rules.as_u64().unwrap_or(0) > 0,
            "after {when} the stylesheet applies"
        );
        let mut problems = self.problems().await;
        if let Some(status) = status {
            let page = self.client.current_url().await.expect("current url");
            let expected = [
                format!(
                    "{page} - Failed to load resource: the server responded with a status of {status}"
                ),
                format!("request \"{page} answered {status}\""),
            ];
            problems.retain(|problem| !expected.iter().any(|e| problem.contains(e.as_str())));
        }
        assert!(
            problems.is_empty(),
            "after {when} the browser reported:\n{}",
            problems.join("\n")
        );
    }

    /// Runs axe-core in the page; fails on serious or critical violations, and on
    /// any of [`STRUCTURE_RULES`].
    async fn check_accessibility(&self, axe: &str, when: &str) {
        self.check_accessibility_of(axe, when, None).await;
    }

    /// The same on a page that answered `status` on purpose.
    async fn check_accessibility_of(&self, axe: &str, when: &str, status: Option<u16>) {
        // WebDriver's scripts are not the page's, so its CSP does not block them.
        let loaded = self
            .js(&format!(
                "if (!window.axe) {{\n{axe}\n}}\nreturn typeof window.axe;"
            ))
            .await;
        assert_eq!(loaded, "object", "axe-core loads into the page");
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
                   .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .expect("axe runs");
        let violations = violations.as_array().cloned().unwrap_or_default();
        let (blocking, minor): (Vec<_>, Vec<_>) = violations.iter().partition(|v| {
            matches!(v["impact"].as_str(), Some("serious" | "critical"))
                || STRUCTURE_RULES.iter().any(|rule| v["id"] == *rule)
        });
        for v in &minor {
            let _ = writeln!(
                std::io::stderr(),
                "browser test: axe ({when}): {} {}: {}",
                v["impact"],
                v["id"],
                v["help"]
            );
        }
        assert!(
            blocking.is_empty(),
            "axe ({when}) found accessibility problems:\n{}",
            serde_json::to_string_pretty(&blocking).unwrap_or_default()
        );
        self.assert_clean_but(&format!("the accessibility check ({when})"), status)
            .await;
    }

    /// axe in the light theme, then in the dark one; ends in the light theme.
    async fn check_accessibility_in_both_themes(&self, axe: &str, when: &str) {
        self.check_accessibility(axe, &format!("light theme, {when}"))
            .await;
        self.with_dark_theme(true).await;
        self.check_accessibility(axe, &format!("dark theme, {when}"))
            .await;
        self.with_dark_theme(false).await;
    }

    /// An error page Tally answered with `status` on purpose: its heading, and axe
    /// and the browser's log finding nothing else wrong.
    async fn assert_error_page(&self, axe: &str, status: u16, heading: &str, when: &str) {
        assert_eq!(self.text_of(Locator::Css("h1")).await, heading, "{when}");
        self.check_accessibility_of(axe, when, Some(status)).await;
    }

    /// Clicks the element `selector` finds, as a user would.
    async fn click(&self, selector: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("find {selector}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    async fn press(&self, key: Key) {
        let key = char::from(key);
        self.client
            .perform_actions(
                KeyActions::new("keyboard".into())
                    .then(KeyAction::Down { value: key })
                    .then(KeyAction::Up { value: key }),
            )
            .await
            .expect("press a key");
    }

    /// Presses Tab until the element matching `selector` has the focus.
    async fn tab_to(&self, selector: &str) {
        let check = format!("return document.activeElement.matches({selector:?});");
        for _ in 0..20 {
            self.press(Key::Tab).await;
            if self.js(&check).await == true {
                return;
            }
        }
        panic!("Tab never reached {selector}");
    }

    async fn wait_for_url(&self, ending: &str) {
        let started = Instant::now();
        loop {
            let url = self.client.current_url().await.expect("current url");
            let here = format!(
                "{}{}",
                url.path(),
                url.query().map(|q| format!("?{q}")).unwrap_or_default()
            );
            if here == ending && self.js("return document.readyState;").await == "complete" {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the browser did not reach {ending} (it is at {url})"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Takes a screenshot of the whole page (the window grows to its height for a
    /// moment); keeps it in `docs/screenshots/` when `TALLY_SCREENSHOTS=1`.
    async fn screenshot(&self, name: &str) {
        let (width, height) = self.client.get_window_size().await.expect("window size");
        let sizes = self
            .js("return [window.outerHeight - window.innerHeight, document.documentElement.scrollHeight];")
            .await;
        let page_height = sizes[0].as_u64().unwrap_or(0) + sizes[1].as_u64().unwrap_or(0);
        self.resize(width as u32, page_height as u32).await;
        let png = self.client.screenshot().await.expect("screenshot");
        self.resize(width as u32, height as u32).await;
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        if std::env::var("TALLY_SCREENSHOTS").as_deref() == Ok("1") {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
            std::fs::create_dir_all(&dir).expect("docs/screenshots");
            std::fs::write(dir.join(format!("{name}.png")), png).expect("save the screenshot");
        }
    }
}
