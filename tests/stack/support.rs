//! What every case is given ([`StackTest`]): the stack, the guides, the record
//! of checks and measured numbers, and what Docker says about the containers;
//! plus the small helpers the cases share.

use std::collections::BTreeSet;
use std::fmt::Display;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::time::sleep;

use crate::guides::Guides;
use crate::page::{Stats, View, get, http_client, is_number};
use crate::stack::{Ran, Stack};

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

/// Resolves with the signal's name on SIGINT (Ctrl-C) or SIGTERM, which then no
/// longer end the process at once: the test stops its cases and cleans up.
pub async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
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
