//! Tally started in the test process the way `main` starts it
//! ([`Application::build`]), on a free port, with its own namespace; and what a
//! client reads off its answers.

use std::path::PathBuf;

use reqwest::StatusCode;
use tally::config::Settings;
use tally::shutdown::Shutdown;
use tally::startup::Application;
use tokio::task::JoinHandle;

use super::{Namespace, client, redis_url};

/// A running Tally, reached over HTTP like any client would. Dropping it stops it.
pub struct TestApp {
    pub address: String,
    pub ns: Namespace,
    pub client: reqwest::Client,
    /// The name it serves as (`INSTANCE_NAME`): unique, so its PostgreSQL
    /// connections can be told apart (`application_name`).
    pub instance: String,
    shutdown: Shutdown,
    running: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// Tally on a namespace of its own, with the shared stores.
    pub async fn spawn() -> Self {
        Self::spawn_in(Namespace::create().await, &[]).await
    }

    /// Tally on `ns` (several apps may share one), with settings overridden by
    /// environment-variable name.
    pub async fn spawn_in(ns: Namespace, overrides: &[(&str, String)]) -> Self {
        // Captured by the test harness: shown for a test that fails.
        let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
            .is_test(true)
            .try_init();
        let instance = format!("test-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let settings = Self::settings(&ns, &instance, overrides);
        let shutdown = Shutdown::default();
        let app = Application::build(&settings, shutdown.clone())
            .await
            .unwrap_or_else(|e| panic!("the test app starts: {e}"));
        let address = format!("http://{}", app.addr());
        let running = tokio::spawn(app.run_until_stopped());
        Self {
            address,
            ns,
            client: client(),
            instance,
            shutdown,
            running: Some(running),
        }
    }

    /// The settings a test app runs with: test defaults, then `overrides`.
    pub fn settings(ns: &Namespace, instance: &str, overrides: &[(&str, String)]) -> Settings {
        let static_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut vars: Vec<(&str, String)> = vec![
            ("DATABASE_URL", ns.database_url()),
            ("REDIS_URL", redis_url()),
            ("REDIS_KEY_PREFIX", ns.prefix.clone()),
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", "0".to_owned()),
            ("STATIC_DIR", static_dir.display().to_string()),
            ("STARTUP_BUDGET_SECS", "10".to_owned()),
            ("DRAIN_DELAY_SECS", "0".to_owned()),
            ("SHUTDOWN_TIMEOUT_SECS", "1".to_owned()),
            ("INSTANCE_NAME", instance.to_owned()),
        ];
        vars.extend(overrides.iter().cloned());
        Settings::from_vars(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .unwrap_or_else(|e| panic!("test settings: {e}"))
    }

    /// Asks the app to stop, as SIGTERM would.
    pub fn stop(&self) {
        self.shutdown.begin();
    }

    /// Stops the app and waits until it has stopped.
    pub async fn stopped(mut self) -> std::io::Result<()> {
        self.stop();
        let running = self.running.take().expect("the app runs until stopped");
        running.await.expect("the app task")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// One page view, with the two numbers read off the page.
    pub async fn view(&self) -> PageView {
        self.view_as("tally-tests").await
    }

    pub async fn view_as(&self, user_agent: &str) -> PageView {
        fetch_page(&self.client, &self.url("/"), user_agent).await
    }

    /// `/api/stats`: the JSON body and the `X-Cache` header.
    pub async fn stats(&self) -> Stats {
        let response = self.get("/api/stats").await;
        assert_eq!(response.status(), StatusCode::OK, "/api/stats answers 200");
        let cache = response
            .headers()
            .get("x-cache")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.json().await.expect("stats json");
        Stats { cache, body }
    }

    /// The access total `/api/stats` reports (panics if it reports none).
    pub async fn stats_total(&self) -> i64 {
        let stats = self.stats().await;
        stats.body["access_total"]
            .as_i64()
            .unwrap_or_else(|| panic!("no access total: {stats:?}"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What `/api/stats` answered.
#[derive(Debug)]
pub struct Stats {
    pub cache: String,
    pub body: serde_json::Value,
}

/// What a page view showed.
#[derive(Debug)]
pub struct PageView {
    pub status: StatusCode,
    pub body: String,
    pub visits: String,
    pub access_total: String,
}

impl PageView {
    pub fn visits(&self) -> i64 {
        self.visits
            .parse()
            .unwrap_or_else(|_| panic!("visits is a number: {:?}", self.visits))
    }

    pub fn access_total(&self) -> i64 {
        self.access_total
            .parse()
            .unwrap_or_else(|_| panic!("access total is a number: {:?}", self.access_total))
    }

    /// Whether both stores gave their number.
    pub fn both(&self) -> bool {
        self.visits.parse::<i64>().is_ok() && self.access_total.parse::<i64>().is_ok()
    }
}

/// One page view at `url` (any Tally, in-process or not), numbers read off the page.
pub async fn fetch_page(client: &reqwest::Client, url: &str, user_agent: &str) -> PageView {
    let response = client
        .get(url)
        .header("User-Agent", user_agent)
        .send()
        .await
        .expect("page requested");
    let status = response.status();
    let body = response.text().await.expect("page body");
    PageView {
        status,
        visits: element_text(&body, "visits"),
        access_total: element_text(&body, "access-total"),
        body,
    }
}

/// The text inside the element with `id` (the page keeps such elements free of markup).
pub fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let Some(at) = html.find(&marker) else {
        return String::new();
    };
    let rest = &html[at..];
    let start = rest.find('>').map_or(rest.len(), |i| i + 1);
    let end = rest[start..].find('<').map_or(rest.len(), |i| start + i);
    rest[start..end].trim().to_owned()
}
