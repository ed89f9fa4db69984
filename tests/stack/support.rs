//! What the cases share: the copy of the repository and its stack (removed when
//! [`Stack`] is dropped, also on a panic), running commands in it, the page
//! through the balancer, what Docker says about the containers, and the record
//! of checks and measured numbers.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::time::sleep;

use crate::guides::Guides;

/// The repository this test was built from.
pub fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The containers, network and volume of the guide's stack without Compose: fixed
/// names, so none may exist before the run.
pub const PLAIN_CONTAINERS: [&str; 3] = ["tally-web", "tally-cache", "tally-db"];
pub const PLAIN_NETWORK: &str = "tally";
pub const PLAIN_VOLUME: &str = "tally-pgdata";

/// What a command printed (stdout and stderr, in order) and how it ended.
pub struct Ran {
    pub status: i32,
    pub output: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.status == 0
    }
}

/// A copy of the repository with a project name and ports of its own. Dropping
/// it removes the stack (`down -v`), the guide's stack without Compose when it
/// was started, and the copy.
pub struct Stack {
    pub project: String,
    pub port: u16,
    pub prometheus_port: u16,
    /// The copy of the repository, where every command runs.
    pub work: PathBuf,
    /// Beside the copy: command output, kept out of the build context.
    scratch: PathBuf,
    /// The variables of `.env.example` and Compose's own: a user's would change what is tested.
    cleared: Vec<String>,
    plain_started: bool,
    saved_image: Option<String>,
}

impl Stack {
    /// Checks the engine, then copies the repository as a fresh clone would have
    /// it plus uncommitted edits, without what git ignores and without an override.
    pub fn prepare() -> Stack {
        preflight();
        let project = std::env::var("TALLY_STACK_PROJECT")
            .unwrap_or_else(|_| format!("tally-stack-{}", std::process::id()));
        let scratch = std::env::temp_dir().join(format!("{project}.{}", random() % 1_000_000));
        let port = free_port(None);
        let mut stack = Stack {
            project,
            port,
            prometheus_port: free_port(Some(port)),
            work: scratch.join("repo"),
            scratch,
            cleared: Vec::new(),
            plain_started: false,
            saved_image: None,
        };
        copy_repository(&repository(), &stack.work);
        stack.cleared = settings_of_env_example(&stack.work);
        stack
            .cleared
            .extend(["COMPOSE_FILE", "COMPOSE_PROFILES", "COMPOSE_ENV_FILES"].map(String::from));
        println!(
            "stack test: project {}, ports {} (lb) and {} (prometheus), copy in {}",
            stack.project,
            stack.port,
            stack.prometheus_port,
            stack.work.display()
        );
        stack
    }

    /// A command run in the copy with only this run's settings.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.work)
            .stdin(Stdio::null());
        for name in &self.cleared {
            command.env_remove(name);
        }
        command
            .env("COMPOSE_PROJECT_NAME", &self.project)
            .env("TALLY_PORT", self.port.to_string())
            .env("PROMETHEUS_PORT", self.prometheus_port.to_string());
        command
    }

    pub fn compose(&self, args: &[&str]) -> Command {
        let mut all = vec!["compose"];
        all.extend_from_slice(args);
        self.command("docker", &all)
    }

    /// Runs `command`, its stdout and stderr in one stream, as a shell's `2>&1`.
    pub async fn run(&self, command: Command) -> Ran {
        let path = self.scratch.join(format!("out.{}", random()));
        let file = File::create(&path).expect("an output file");
        let mut command = tokio::process::Command::from(command);
        command
            .stdout(file.try_clone().expect("the output file"))
            .stderr(file)
            .kill_on_drop(true);
        let status = command.status().await.expect("the command starts");
        let output =
            String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).replace('\r', "");
        let _ = std::fs::remove_file(&path);
        Ran {
            status: status.code().unwrap_or(-1),
            output,
        }
    }

    /// Runs `command` for its stdout alone (stderr is dropped), trimmed.
    pub async fn stdout(&self, command: Command) -> String {
        let bytes = self.stdout_bytes(command).await;
        String::from_utf8_lossy(&bytes)
            .replace('\r', "")
            .trim()
            .to_owned()
    }

    pub async fn stdout_bytes(&self, command: Command) -> Vec<u8> {
        let mut command = tokio::process::Command::from(command);
        command.stderr(Stdio::null()).kill_on_drop(true);
        command
            .output()
            .await
            .map(|output| output.stdout)
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// From now on the drop also removes the guide's stack without Compose; an
    /// image of yours named `tally` is kept aside and put back then.
    pub async fn plain_stack_starts(&mut self) {
        self.plain_started = true;
        if self.docker_ok(&["image", "inspect", "tally"]).await {
            let saved = format!("tally:saved-by-{}", self.project);
            self.docker_ok(&["tag", "tally", &saved]).await;
            self.saved_image = Some(saved);
        }
    }

    async fn docker_ok(&self, args: &[&str]) -> bool {
        self.run(self.command("docker", args)).await.ok()
    }

    fn remove_plain_stack(&self) {
        let quiet = |args: &[&str]| {
            let _ = self.command("docker", args).output();
        };
        let mut rm = vec!["rm", "-f"];
        rm.extend(PLAIN_CONTAINERS);
        quiet(&rm);
        quiet(&["network", "rm", PLAIN_NETWORK]);
        quiet(&["volume", "rm", PLAIN_VOLUME]);
        quiet(&["image", "rm", "tally"]);
        if let Some(saved) = &self.saved_image {
            quiet(&["tag", saved, "tally"]);
            quiet(&["image", "rm", saved]);
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        println!("\n==> cleaning up ({})", self.project);
        if self.work.join("compose.yaml").exists() {
            let _ = self
                .compose(&[
                    "-p",
                    &self.project,
                    "--profile",
                    "monitoring",
                    "down",
                    "-v",
                    "--rmi",
                    "local",
                    "--remove-orphans",
                    "--timeout",
                    "20",
                ])
                .output();
        }
        if self.plain_started {
            self.remove_plain_stack();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Docker and Compose answer, and none of the fixed names the guide's plain
/// docker commands use is taken.
fn preflight() {
    let works = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    assert!(
        works(&["info"]),
        "no Docker engine answers (docker info failed; DOCKER_HOST={})",
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unset".to_owned())
    );
    assert!(
        works(&["compose", "version"]),
        "docker compose (v2) is not installed"
    );
    for name in PLAIN_CONTAINERS {
        assert!(
            !works(&["container", "inspect", name]),
            "a container named {name} exists; the guide's plain docker commands, which this runs, would clash with it"
        );
    }
    for (kind, name) in [("network", PLAIN_NETWORK), ("volume", PLAIN_VOLUME)] {
        assert!(
            !works(&[kind, "inspect", name]),
            "a {kind} named {name} exists; the guide's plain docker commands would clash with it"
        );
    }
}

/// The files git tracks or would track (not those it ignores), as they are now,
/// less a Compose override.
fn copy_repository(root: &Path, into: &Path) {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(
        listed.status.success(),
        "git ls-files in {}: {}",
        root.display(),
        String::from_utf8_lossy(&listed.stderr)
    );
    let names = String::from_utf8(listed.stdout).expect("file names in UTF-8");
    for name in names.split('\0').filter(|name| !name.is_empty()) {
        let file_name = name.rsplit('/').next().unwrap_or(name);
        let is_override = ["compose.override.", "docker-compose.override."]
            .iter()
            .any(|prefix| {
                file_name.strip_prefix(prefix) == Some("yaml")
                    || file_name.strip_prefix(prefix) == Some("yml")
            });
        let source = root.join(name);
        if is_override || !source.exists() {
            continue;
        }
        let target = into.join(name);
        std::fs::create_dir_all(target.parent().expect("a folder")).expect("the copy's folder");
        std::fs::copy(&source, &target)
            .unwrap_or_else(|e| panic!("copying {}: {e}", source.display()));
    }
}

/// The names `.env.example` sets.
fn settings_of_env_example(work: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(work.join(".env.example")).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| {
            name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(String::from)
        .collect()
}

/// A port nothing listens on, for a service to publish: below the kernel's range
/// for outgoing connections (a port one of those holds, even closing, cannot be
/// bound, yet nothing answers on it), and not `taken`.
fn free_port(taken: Option<u16>) -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|low| *low > 12000)
        .unwrap_or(32768);
    for _ in 0..100 {
        let port = 10000 + (random() % u128::from(low - 10000)) as u16;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if Some(port) != taken
            && TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err()
        {
            return port;
        }
    }
    panic!("no free port found");
}

fn random() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// One page view as a user sees it: the status (0 when none came) and the text
/// of the elements `visits`, `access-total` and `served-by` (empty when missing).
#[derive(Clone, Default)]
pub struct View {
    pub code: u16,
    pub visits: String,
    pub access: String,
    pub served: String,
}

impl View {
    pub fn of_page(code: u16, page: &str) -> View {
        View {
            code,
            visits: element(page, "visits"),
            access: element(page, "access-total"),
            served: element(page, "served-by"),
        }
    }

    /// 200 with both numbers.
    pub fn counts(&self) -> bool {
        self.code == 200 && is_number(&self.visits) && is_number(&self.access)
    }
}

/// The text of the element with this id: an integer, `unavailable`, a name.
pub fn element(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    page.rsplit_once(&marker)
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(_, text)| {
            text.trim_start()
                .split(|c: char| c == '<' || c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default()
}

pub fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

pub fn number(text: &str) -> Option<u64> {
    is_number(text).then(|| text.parse().ok()).flatten()
}

/// `/api/stats` read as numbers (`None` for `null` or a missing field).
pub struct Stats {
    pub visits: Option<u64>,
    pub access: Option<u64>,
}

impl Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |n: Option<u64>| n.map_or("?".to_owned(), |n| n.to_string());
        write!(f, "{}/{}", show(self.visits), show(self.access))
    }
}

/// A client that opens a connection per request, as `curl` does, so the
/// balancer chooses a replica for each.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .build()
        .expect("http client")
}

/// GET `url`: the status (0 when no answer came), a header and the body.
pub async fn get(
    http: &reqwest::Client,
    url: &str,
    header: Option<(&str, &str)>,
) -> (u16, String, String) {
    let mut request = http.get(url);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let Ok(response) = request.send().await else {
        return (0, String::new(), String::new());
    };
    let code = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (code, id, response.text().await.unwrap_or_default())
}

/// Polls `condition` every half second until it holds or `limit` passes.
pub async fn wait_until<T, F: AsyncFnMut(&mut T) -> bool>(
    target: &mut T,
    limit: Duration,
    mut condition: F,
) -> bool {
    let started = Instant::now();
    loop {
        if condition(target).await {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        sleep(Duration::from_millis(500)).await;
    }
}

pub fn seconds_since(started: Instant) -> String {
    format!("{:.1}", started.elapsed().as_secs_f64())
}

/// The lines of `text` indented, the last `most` of them.
pub fn indented_tail(text: &str, most: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(most)..]
        .iter()
        .map(|line| format!("      {line}\n"))
        .collect()
}

/// ` (LABELtext)` where there is text, else nothing: what was seen, for a check's line.
pub fn parenthesised(label: &str, text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" ({label}{text})")
    }
}

pub fn sorted(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.into_iter().collect();
    items.sort();
    items
}

pub fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The stack under test, the guides whose commands it runs, and the record of
/// what was checked: what every case is given.
pub struct StackTest {
    pub stack: Stack,
    pub guides: Guides,
    pub http: reqwest::Client,
    /// The view that ended the last wait for counting or logging again.
    pub last_view: View,
    case: String,
    failures: Vec<String>,
    numbers: Vec<String>,
}

impl StackTest {
    pub fn new(stack: Stack, guides: Guides) -> StackTest {
        StackTest {
            stack,
            guides,
            http: http_client(Duration::from_secs(10)),
            last_view: View::default(),
            case: String::new(),
            failures: Vec::new(),
            numbers: Vec::new(),
        }
    }

    pub fn section(&mut self, name: &str) {
        self.case = name.to_owned();
        println!("\n==> {name}");
    }

    /// Records a check; a failure does not stop the run, so one run shows every
    /// broken case.
    pub fn check(&mut self, what: impl Display, holds: bool) -> bool {
        if holds {
            println!("    ok   {what}");
        } else {
            self.fail(what);
        }
        holds
    }

    pub fn fail(&mut self, what: impl Display) {
        println!("    FAIL {what}");
        self.failures.push(format!("{}: {what}", self.case));
    }

    /// Ends the run at once: the cases after this one cannot run.
    pub fn die(&mut self, why: &str) -> ! {
        self.fail(why);
        panic!("{}", self.summary());
    }

    pub fn measured(&mut self, what: String) {
        println!("    ->   {what}");
        self.numbers.push(what);
    }

    pub fn log(&self, line: impl Display) {
        println!("    {line}");
    }

    fn summary(&self) -> String {
        format!(
            "{} check(s) failed:\n    {}",
            self.failures.len(),
            self.failures.join("\n    ")
        )
    }

    /// Prints the numbers measured; fails the test with every failed check.
    pub fn finish(&self) {
        println!("\n==> measured");
        for number in &self.numbers {
            println!("    {number}");
        }
        assert!(self.failures.is_empty(), "{}", self.summary());
        println!("\n==> stack test passed");
    }

    pub async fn run(&self, command: Command) -> Ran {
        self.stack.run(command).await
    }

    pub async fn compose(&self, args: &[&str]) -> Ran {
        self.stack.run(self.stack.compose(args)).await
    }

    pub async fn docker(&self, args: &[&str]) -> Ran {
        self.stack.run(self.stack.command("docker", args)).await
    }

    /// What `docker inspect -f FORMAT` prints for these containers.
    pub async fn inspect(&self, ids: &[String], format: &str) -> String {
        let mut args = vec!["inspect", "-f", format];
        args.extend(ids.iter().map(String::as_str));
        self.stack.stdout(self.stack.command("docker", &args)).await
    }

    /// The status of GET `path` through the balancer, and its body.
    pub async fn fetch(&self, path: &str) -> (u16, String) {
        let (code, _, body) = get(&self.http, &self.stack.url(path), None).await;
        (code, body)
    }

    pub async fn view(&self) -> View {
        let (code, page) = self.fetch("/").await;
        View::of_page(code, &page)
    }

    pub async fn stats(&self) -> Option<Stats> {
        let (code, body) = self.fetch("/api/stats").await;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        (code == 200).then(|| Stats {
            visits: json["visits"].as_u64(),
            access: json["access_total"].as_u64(),
        })
    }

    /// A fresh stack's first view: 200, visits 1, access total 1.
    pub async fn first_view_counts_one(&mut self, what: &str) {
        let view = self.view().await;
        self.check(
            format!(
                "{what} (got {}, visits {}, access {})",
                view.code, view.visits, view.access
            ),
            view.code == 200 && view.visits == "1" && view.access == "1",
        );
    }

    /// The ids of this project's volumes or networks (`kind`) that Docker still has.
    pub async fn project_objects(&self, kind: &str) -> String {
        let label = format!("label=com.docker.compose.project={}", self.stack.project);
        let list = self
            .stack
            .command("docker", &[kind, "ls", "-q", "--filter", &label]);
        self.stack.stdout(list).await
    }

    /// The page shows the visit counter again (the view is kept in `last_view`).
    pub async fn counting_again(&mut self) -> bool {
        self.last_view = self.view().await;
        is_number(&self.last_view.visits)
    }

    /// The page shows the access total again (the view is kept in `last_view`).
    pub async fn logging_again(&mut self) -> bool {
        self.last_view = self.view().await;
        is_number(&self.last_view.access)
    }

    /// Ids of a service's running containers (`--profile monitoring`: prometheus
    /// is a service only under that profile).
    pub async fn running_ids(&self, service: &str) -> Vec<String> {
        let command = self.stack.compose(&[
            "--profile",
            "monitoring",
            "ps",
            "-q",
            "--status",
            "running",
            service,
        ]);
        lines(&self.stack.stdout(command).await)
    }

    pub async fn first_running(&self, service: &str) -> String {
        self.running_ids(service)
            .await
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Every container of the project (or of one service), running or not.
    pub async fn all_ids(&self, service: Option<&str>) -> Vec<String> {
        let mut args = vec!["--profile", "monitoring", "ps", "-aq"];
        args.extend(service);
        lines(&self.stack.stdout(self.stack.compose(&args)).await)
    }

    pub async fn health_of(&self, id: &str) -> String {
        let health = self
            .inspect(
                &[id.to_owned()],
                "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
            )
            .await;
        if health.is_empty() {
            "missing".to_owned()
        } else {
            health
        }
    }

    pub async fn count_healthy(&self, service: &str) -> usize {
        let mut healthy = 0;
        for id in self.running_ids(service).await {
            if self.health_of(&id).await == "healthy" {
                healthy += 1;
            }
        }
        healthy
    }

    /// Exactly `n` web containers exist, all running and healthy (`up --wait` can
    /// exit 0 while one failed).
    pub async fn web_replicas_are(&self, n: usize) -> bool {
        self.all_ids(Some("web")).await.len() == n
            && self.running_ids("web").await.len() == n
            && self.count_healthy("web").await == n
    }

    /// At least one web replica and the balancer run.
    pub async fn stack_is_up(&self) -> bool {
        !self.running_ids("web").await.is_empty() && self.running_ids("lb").await.len() == 1
    }

    /// The host names of the running web replicas, sorted: what `served-by` shows.
    pub async fn hostnames_of_web(&self) -> Vec<String> {
        let ids = self.running_ids("web").await;
        if ids.is_empty() {
            return Vec::new();
        }
        sorted(lines(&self.inspect(&ids, "{{.Config.Hostname}}").await))
    }

    /// The running web replicas' addresses, sorted, each followed by `suffix`.
    pub async fn web_addresses(&self, suffix: &str) -> Vec<String> {
        let ids = self.running_ids("web").await;
        if ids.is_empty() {
            return Vec::new();
        }
        let format =
            format!("{{{{range .NetworkSettings.Networks}}}}{{{{.IPAddress}}}}{suffix}{{{{end}}}}");
        sorted(lines(&self.inspect(&ids, &format).await))
    }

    /// The distinct replicas that answered `n` requests to `/api/stats`, sorted.
    pub async fn served_by_walk(&self, n: usize) -> Vec<String> {
        let mut served = Vec::new();
        for _ in 0..n {
            let (_, body) = self.fetch("/api/stats").await;
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&body)
                && let Some(name) = json["served_by"].as_str()
            {
                served.push(name.to_owned());
            }
        }
        distinct(served)
    }

    /// `n` requests through the balancer are answered by exactly the running replicas.
    pub async fn walks_all(&mut self, n: usize) -> bool {
        self.served_by_walk(n).await == self.hostnames_of_web().await
    }

    /// The environment of a service's running containers, as docker inspect shows it.
    pub async fn env_of(&self, service: &str) -> String {
        let ids = self.running_ids(service).await;
        if ids.is_empty() {
            return String::new();
        }
        self.inspect(&ids, "{{range .Config.Env}}{{println .}}{{end}}")
            .await
    }
}

/// The non-empty lines of `text`.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}
