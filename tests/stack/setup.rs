//! Building and starting the stack, and what it looks like once up: one replica,
//! the images, the one published port, what docker inspect shows, the counts.

use std::time::Instant;

use crate::page::View;
use crate::support::{StackTest, indented_tail, parenthesised, seconds_since};

/// The password the first `.env` sets: symbols a URL would need escaped.
pub const FIRST_PASSWORD: &str = "p@ss:w/rd#1%";

pub async fn build_the_image(t: &mut StackTest) {
    t.section("build the image (once: every later step reuses the build cache)");
    let started = Instant::now();
    let built = t.compose(&["build"]).await;
    if !built.ok() {
        println!("{}", indented_tail(&built.output, 30));
        t.die("docker compose build failed");
    }
    t.measured(format!("build: {} s", seconds_since(started)));
}

pub async fn no_env_runs_on_the_development_password(t: &mut StackTest) {
    t.section("no .env: the stack runs on the development password");
    let up = t.compose(&["up", "-d", "--wait"]).await;
    print!("{}", indented_tail(&up.output, 3));
    t.first_view_counts_one("the page counts").await;
    t.compose(&["down", "-v"]).await;
}

pub async fn configure_a_password_full_of_symbols(t: &mut StackTest) {
    t.section("configure: .env with a password full of symbols");
    t.doc_run("cp .env.example .env").await;
    set_env(t, &format!("POSTGRES_PASSWORD='{FIRST_PASSWORD}'"));
}

/// Puts `line` (NAME=value, as a user types it) in `.env` in place of NAME's line.
pub fn set_env(t: &StackTest, line: &str) {
    let path = t.stack.work.join(".env");
    let name = line.split_once('=').map_or(line, |(name, _)| name);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(&format!("{name}=")))
        .collect();
    kept.push(line);
    std::fs::write(&path, kept.join("\n") + "\n").expect("writing .env");
    println!("      .env: {line}");
}

pub async fn up_wait(t: &mut StackTest) {
    t.section("up --wait");
    let started = Instant::now();
    t.doc_run("docker compose up --build -d --wait").await;
    t.measured(format!(
        "up -> healthy (fresh volume, image already built): {} s",
        seconds_since(started)
    ));
    t.doc_run("docker compose ps").await;
    let one = t.web_replicas_are(1).await;
    t.check("one web replica, running and healthy", one);
    let images = t.doc_run("docker compose images").await.output;
    let image_of = |service: &str| image_of(&t.stack.project, service, &images);
    let web = image_of("web");
    let pulled = format!(
        "{} {} {}",
        image_of("cache"),
        image_of("db"),
        image_of("lb")
    );
    let project = t.stack.project.clone();
    t.check(
        format!("web runs the image built here, {project}-web (got {web})"),
        web == format!("{project}-web"),
    );
    t.check(
        format!("cache, db and lb run the pulled images redis, postgres, haproxy (got {pulled})"),
        pulled == "redis postgres haproxy",
    );
    for service in ["lb", "db", "cache"] {
        let healthy = t.count_healthy(service).await;
        t.check(format!("{service} running and healthy"), healthy == 1);
    }
    if !t.stack_is_up().await {
        let logs = t.compose(&["logs", "--tail", "30"]).await;
        eprintln!("{}", logs.output);
        t.die("the stack did not come up; the remaining cases need it");
    }
    let cache = t.running_ids("cache").await;
    let mounts = t
        .inspect(
            &cache,
            "{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}",
        )
        .await;
    t.check(
        format!(
            "cache keeps nothing on disk: no volume mounted ({})",
            if mounts.is_empty() { "none" } else { &mounts }
        ),
        !mounts.contains("volume:"),
    );
}

/// The repository `docker compose images` shows for a service's first container.
fn image_of(project: &str, service: &str, images: &str) -> String {
    let container = format!("{project}-{service}-1");
    images
        .lines()
        .find_map(|line| {
            let mut fields = line.split_whitespace();
            (fields.next() == Some(container.as_str())).then(|| fields.next())?
        })
        .unwrap_or_default()
        .to_owned()
}

pub async fn only_the_balancer_publishes_a_port(t: &mut StackTest) {
    t.section("only the balancer publishes a port, on loopback");
    let published = t.doc_run("docker compose port lb 8000").await.output;
    let published = published.trim();
    let port = t.stack.port;
    t.check(
        format!("lb publishes 127.0.0.1:{port} (got {published})"),
        published == format!("127.0.0.1:{port}"),
    );
    for service in ["web", "db", "cache"] {
        let ids = t.running_ids(service).await;
        let ports = if ids.is_empty() {
            String::new()
        } else {
            t.inspect(
                &ids,
                "{{range $p, $b := .NetworkSettings.Ports}}{{if $b}}{{$p}} {{end}}{{end}}",
            )
            .await
        };
        t.check(
            format!(
                "{service} publishes nothing{}",
                parenthesised("publishes ", &ports)
            ),
            ports.is_empty(),
        );
    }
}

pub async fn docker_inspect_shows_restarts_logs_user_and_grace(t: &mut StackTest) {
    t.section("what docker inspect shows: restarts, log rotation, web's user and grace period");
    for service in ["lb", "web", "db", "cache"] {
        let id = t.first_running(service).await;
        if id.is_empty() {
            t.fail(format!("{service} is not running"));
            continue;
        }
        let ids = [id];
        let policy = t.inspect(&ids, "{{.HostConfig.RestartPolicy.Name}}").await;
        t.check(
            format!("{service} restarts unless stopped (restart policy: {policy})"),
            policy == "unless-stopped",
        );
        let logs = t
            .inspect(
                &ids,
                r#"{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}"#,
            )
            .await;
        t.check(
            format!("{service} rotates its log ({logs})"),
            logs == "json-file 10m 3",
        );
    }
    let web = t.running_ids("web").await;
    if let Some(id) = web.into_iter().next() {
        let inspected = t
            .inspect(
                &[id],
                "user={{.Config.User}} caps={{.HostConfig.CapDrop}} stop={{.Config.StopTimeout}}",
            )
            .await;
        t.check(
            format!(
                "web runs as uid 65532 with every capability dropped and 15 s to stop ({inspected})"
            ),
            inspected.contains("user=65532")
                && inspected.contains("caps=[ALL]")
                && inspected.ends_with("stop=15"),
        );
    }
}

pub async fn the_balancers_root_is_read_only(t: &mut StackTest) {
    t.section("lb's root is read-only");
    // Checked by what it prints: some Compose builds exit 0 whatever the command did.
    let touched = t
        .doc_run_may_fail("docker compose exec lb touch /tmp/probe")
        .await;
    t.check(
        "touch is refused: Read-only file system",
        touched.output.contains("Read-only file system"),
    );
}

pub async fn counts_through_the_balancer(t: &mut StackTest) {
    t.section("counts through the balancer");
    let mut view = View::default();
    for expected in 1..=3 {
        view = t.view().await;
        let expected = expected.to_string();
        t.check(
            format!(
                "page {expected}: 200, visits {expected}, access total {expected} (got {}, {}, {})",
                view.code, view.visits, view.access
            ),
            view.code == 200 && view.visits == expected && view.access == expected,
        );
    }
    let hostnames = t.hostnames_of_web().await;
    t.check(
        format!(
            "the page names the replica that served it (served-by: {})",
            view.served
        ),
        !view.served.is_empty() && hostnames == [view.served.clone()],
    );
    let healthz = t.fetch("/healthz").await.0;
    t.check("/healthz answers 200", healthz == 200);
    let readyz = t.fetch("/readyz").await.0;
    t.check("/readyz answers 200", readyz == 200);
    t.doc_run("docker compose exec web /app/tally healthcheck")
        .await;
    let web = t.first_running("web").await;
    let healthcheck = t.docker(&["exec", &web, "/app/tally", "healthcheck"]).await;
    t.check("tally healthcheck exits 0 in web", healthcheck.ok());
}
