//! Test fixtures: the real app on a free port with its own PostgreSQL schema and
//! Redis key prefix, private store servers a test may stop, and a TCP proxy a
//! test controls to cut or stall a store.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deadpool_redis::redis;
use reqwest::StatusCode;
use tally::config::Settings;
use tally::startup;
use tally::state::AppState;
use tokio::io::copy_bidirectional;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep};

/// The shared PostgreSQL the tests make their schemas in.
pub fn database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The shared Redis the tests make their key prefixes in.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A fresh name for a schema or key prefix.
pub fn unique(kind: &str) -> String {
    format!("{kind}_{}", uuid::Uuid::new_v4().simple())
}

/// A test's own corner of the shared stores: a schema and a key prefix.
#[derive(Clone, Debug)]
pub struct Namespace {
    pub schema: String,
    pub prefix: String,
}

impl Namespace {
    pub async fn create() -> Self {
        Self::on(&database_url()).await
    }

    /// A namespace in the PostgreSQL at `url` (a private server, say). Queries
    /// through [`Namespace::postgres`] still go to the shared one.
    pub async fn on(url: &str) -> Self {
        let schema = unique("tally_test");
        let admin = connect(url).await;
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create the test schema");
        Self {
            prefix: format!("{schema}:"),
            schema,
        }
    }

    /// `base` with this namespace's schema on the search path.
    pub fn database_url_via(&self, base: &str) -> String {
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-csearch_path%3D{}", self.schema)
    }

    /// A client whose queries run in this namespace's schema.
    pub async fn postgres(&self) -> tokio_postgres::Client {
        self.postgres_at(&database_url()).await
    }

    /// The same, on the PostgreSQL at `url`.
    pub async fn postgres_at(&self, url: &str) -> tokio_postgres::Client {
        connect(&self.database_url_via(url)).await
    }

    /// How many rows of the access log each user agent has, on the PostgreSQL at `url`.
    pub async fn rows_per_agent_at(&self, url: &str) -> HashMap<String, i64> {
        self.postgres_at(url)
            .await
            .query(
                "SELECT user_agent, count(*) FROM access_log GROUP BY user_agent",
                &[],
            )
            .await
            .expect("rows per agent")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// The same, on the shared PostgreSQL.
    pub async fn rows_per_agent(&self) -> HashMap<String, i64> {
        self.rows_per_agent_at(&database_url()).await
    }

    /// Rows in this namespace's access log.
    pub async fn log_rows(&self) -> i64 {
        self.postgres()
            .await
            .query_one("SELECT count(*) FROM access_log", &[])
            .await
            .expect("count the access log")
            .get(0)
    }

    /// A Redis key of this namespace, read from the shared Redis.
    pub async fn redis_get(&self, key: &str) -> Option<String> {
        let client = redis::Client::open(redis_url()).expect("redis url");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis");
        redis::cmd("GET")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut connection)
            .await
            .expect("GET")
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to test postgres: {e}"));
    tokio::spawn(connection);
    client
}

/// Settings for a test app: the given variables over test defaults.
pub fn settings(ns: &Namespace, overrides: &[(&str, String)]) -> Settings {
    let mut env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", ns.database_url_via(&database_url())),
        ("REDIS_URL", redis_url()),
        ("REDIS_KEY_PREFIX", ns.prefix.clone()),
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "1".to_owned()),
        ("STATIC_DIR", static_dir().display().to_string()),
        ("STARTUP_BUDGET_SECS", "10".to_owned()),
    ]);
    for (name, value) in overrides {
        env.insert(name, value.clone());
    }
    Settings::from_lookup(|name| env.get(name).cloned()).expect("test settings parse")
}

pub fn static_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static")
}

/// A running Tally, reached over HTTP like any client would.
pub struct TestApp {
    pub address: String,
    pub ns: Namespace,
    pub client: reqwest::Client,
}

/// Tally on its own schema and key prefix, with the shared stores.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Namespace::create().await, &[]).await
}

/// Tally on `ns` (several apps may share one), with settings overridden.
pub async fn spawn_app_with(ns: Namespace, overrides: &[(&str, String)]) -> TestApp {
    let settings = settings(&ns, overrides);
    let state = AppState::new(&settings);
    state
        .wait_until_ready(settings.startup_budget)
        .await
        .expect("stores ready for the test app");
    state
        .postgres
        .migrate()
        .await
        .expect("migrate the test schema");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local addr").port();
    let server = startup::run(
        listener,
        state,
        settings.static_dir.clone(),
        Duration::from_secs(1),
    )
    .expect("server starts");
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        ns,
        client: client(),
    }
}

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
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
}

impl TestApp {
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
}

/// What `/api/stats` answered.
#[derive(Debug)]
pub struct Stats {
    pub cache: String,
    pub body: serde_json::Value,
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

/// Polls `check` until it holds or `limit` passes; answers how long it took.
pub async fn eventually<F: AsyncFnMut() -> bool>(
    limit: Duration,
    mut check: F,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        sleep(Duration::from_millis(100)).await;
    }
    None
}

/// A free TCP port on loopback (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A private `redis-server` this test may stop and start again.
pub struct RedisServer {
    pub port: u16,
    password: Option<String>,
    child: Option<Child>,
}

impl RedisServer {
    pub async fn start() -> Self {
        let mut server = Self::on_port(free_port(), None);
        server.start_again().await;
        server
    }

    /// A server that will listen on `port`, not started yet.
    pub fn on_port(port: u16, password: Option<&str>) -> Self {
        Self {
            port,
            password: password.map(str::to_owned),
            child: None,
        }
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Starts the server (empty: it keeps nothing on disk) and waits until it answers.
    pub async fn start_again(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]);
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (is it installed?)");
        self.child = Some(child);
        let url = self.url();
        let ready = eventually(Duration::from_secs(10), async || {
            let Ok(client) = redis::Client::open(url.as_str()) else {
                return false;
            };
            match client.get_multiplexed_async_connection().await {
                Ok(mut c) => redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok(),
                Err(_) => false,
            }
        })
        .await;
        assert!(ready.is_some(), "private redis-server did not start");
    }

    /// Kills the server at once, as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Keeps connections open and forwards nothing, like a hung server. The
    /// connections open when the stall began stay silent for good, like a
    /// connection through a network that lost it; new ones wait for the next mode.
    Stall,
    /// Closes every connection, like a server that went away.
    Cut,
}

/// A TCP proxy in front of a store, that a test switches between modes.
pub struct Proxy {
    pub port: u16,
    mode: watch::Sender<Mode>,
    opened: Arc<AtomicUsize>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let (mode, _) = watch::channel(Mode::Pass);
        let modes = mode.clone();
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&opened);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(relay(client, target, modes.subscribe(), counter));
            }
        });
        Self { port, mode, opened }
    }

    /// How many connections to the target the proxy has opened so far.
    pub fn connections_opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    /// A proxy in front of the shared PostgreSQL.
    pub async fn postgres() -> Self {
        Self::start(target_of(&database_url(), 5432)).await
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// The shared PostgreSQL URL, through this proxy.
    pub fn database_url(&self, ns: &Namespace) -> String {
        let base = database_url();
        let target = target_of(&base, 5432);
        ns.database_url_via(&base.replacen(
            &format!("{}:{}", target.ip(), target.port()),
            &format!("127.0.0.1:{}", self.port),
            1,
        ))
    }
}

fn target_of(url: &str, default_port: u16) -> SocketAddr {
    let config: tokio_postgres::Config = url.parse().expect("test database url");
    let port = config.get_ports().first().copied().unwrap_or(default_port);
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => format!("{host}:{port}")
            .parse()
            .expect("the test database url names an IP address"),
        _ => panic!("the test database url must name a TCP host"),
    }
}

async fn wait_for_mode(modes: &mut watch::Receiver<Mode>, wanted: impl Fn(Mode) -> bool) -> Mode {
    loop {
        let mode = *modes.borrow_and_update();
        if wanted(mode) {
            return mode;
        }
        if modes.changed().await.is_err() {
            return Mode::Cut;
        }
    }
}

async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    mut modes: watch::Receiver<Mode>,
    opened: Arc<AtomicUsize>,
) {
    if wait_for_mode(&mut modes, |mode| mode != Mode::Stall).await == Mode::Cut {
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    opened.fetch_add(1, Ordering::SeqCst);
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut upstream) => return,
        mode = wait_for_mode(&mut modes, |mode| mode != Mode::Pass) => {
            if mode == Mode::Cut {
                return;
            }
        }
    }
    // Stalled: hold both ends open and silent until the proxy cuts or goes away.
    wait_for_mode(&mut modes, |mode| mode == Mode::Cut).await;
}

/// A private PostgreSQL cluster this test may kill and start again. It runs
/// as the `postgres` user when the tests run as root (PostgreSQL refuses root).
pub struct PostgresServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PostgresServer {
    /// Creates a cluster in a temporary directory and starts it.
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(unique("tally_pg"));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        let mut server = Self {
            port: free_port(),
            dir,
            child: None,
        };
        server.chown();
        let status = server
            .command("initdb")
            .args(["-D", "data", "-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb runs (is PostgreSQL installed?)");
        assert!(status.success(), "initdb failed");
        server.start_again().await;
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the cluster (after a crash this runs recovery) and waits until it answers.
    pub async fn start_again(&mut self) {
        let url = self.url();
        let started = Instant::now();
        loop {
            let child = self
                .command("postgres")
                .args(["-D", "data", "-p", &self.port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", self.dir.display()))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("postgres starts");
            self.child = Some(child);
            let up = eventually(Duration::from_secs(10), async || {
                let exited = self
                    .child
                    .as_mut()
                    .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
                exited
                    || tokio_postgres::connect(&url, tokio_postgres::NoTls)
                        .await
                        .is_ok()
            })
            .await;
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if up.is_some() && !exited {
                return;
            }
            // The killed server's backends may still hold shared memory; try again.
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "private postgres did not start"
            );
            sleep(Duration::from_millis(200)).await;
        }
    }

    /// `kill -9` of the postmaster and every backend, as a crash of the machine
    /// or the container would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn bin(name: &str) -> PathBuf {
        let bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .filter(|dir| !dir.is_empty())
            .unwrap_or_else(|| "/usr/lib/postgresql/15/bin".to_owned());
        PathBuf::from(bindir).join(name)
    }

    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(Self::bin(name));
        command.current_dir(&self.dir);
        if let Some((uid, gid)) = postgres_user() {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn chown(&self) {
        if let Some((uid, gid)) = postgres_user() {
            std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid))
                .expect("chown the cluster dir");
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `postgres` user's uid and gid, when the tests run as root.
fn postgres_user() -> Option<(u32, u32)> {
    let root =
        std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if !root.unwrap_or(false) {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|line| line.starts_with("postgres:"))?;
    let mut fields = line.split(':').skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}
