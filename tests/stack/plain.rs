//! The last cases: HAProxy checks its own config, the override that opens the
//! port, the same stack without Compose, and a rebuild after a one-line edit.

use std::time::{Duration, Instant};

use crate::support::{StackTest, seconds_since, wait_until};

pub async fn haproxy_checks_the_balancers_config(t: &mut StackTest) {
    t.section("the balancer's config, checked by HAProxy itself");
    t.doc_run("docker compose exec lb haproxy -c -f /usr/local/etc/haproxy/haproxy.cfg")
        .await;
}

pub async fn opening_the_port_to_the_network(t: &mut StackTest) {
    t.section("opening the port to the network (checked with docker compose config, not applied)");
    t.doc_run(
        r#"cat > compose.override.yaml <<'YAML'
services:
  lb:
    ports: !override
      - "${TALLY_PORT:-8000}:8000"
YAML"#,
    )
    .await;
    let config = t.doc_run("docker compose config").await.output;
    let port = t.stack.port;
    let published = [
        format!("published: {port}"),
        format!("published: \"{port}\""),
    ];
    t.check(
        format!("lb is published on port {port} of every interface"),
        config
            .lines()
            .any(|line| published.iter().any(|p| line.trim_start() == p.as_str()))
            && !config.contains("host_ip: 127.0.0.1"),
    );
    let _ = std::fs::remove_file(t.stack.work.join("compose.override.yaml"));
}

pub async fn the_same_stack_without_compose(t: &mut StackTest) {
    t.section("down, then the same stack without Compose");
    t.doc_run("docker compose down").await;
    t.stack.plain_stack_starts().await;
    t.doc_run("docker build -t tally .").await;
    t.doc_run("install -d -m 700 secrets").await;
    t.doc_run(r"head -c 24 /dev/urandom | base64 | tr -d '\n' > secrets/db_password")
        .await;
    t.doc_run("chmod 444 secrets/db_password").await;
    // The guide's plain docker commands, in its order: network, volume, the three runs.
    for command in t.guides.commands() {
        if command == "docker network create tally"
            || command == "docker volume create tally-pgdata"
            || command.starts_with("docker run -d --name tally-")
        {
            t.doc_run(&command).await;
        }
    }
    let healthy = wait_until(t, Duration::from_secs(60), async |t| {
        t.health_of("tally-web").await == "healthy"
    })
    .await;
    t.check("tally-web healthy within 60 s", healthy);
    t.first_view_counts_one("page 200, visits 1, access total 1")
        .await;
    let containers = ["tally-web".to_owned(), "tally-db".to_owned()];
    let env = t
        .inspect(&containers, "{{range .Config.Env}}{{println .}}{{end}}")
        .await;
    let password =
        std::fs::read_to_string(t.stack.work.join("secrets/db_password")).unwrap_or_default();
    t.check(
        "the password is in neither container's environment",
        !env.is_empty() && !password.is_empty() && !env.contains(&password),
    );
    t.doc_run("docker ps --filter name=tally-").await;
    t.doc_follow("docker logs -f tally-web").await;
    t.doc_run("docker rm -f tally-web tally-cache tally-db")
        .await;
    t.doc_run("docker network rm tally").await;
    t.doc_run("docker volume rm tally-pgdata").await;
}

pub async fn rebuild_after_editing_one_file(t: &mut StackTest) {
    t.section("rebuild after editing one .rs file");
    let main = t.stack.work.join("src/main.rs");
    let mut text = std::fs::read_to_string(&main).expect("src/main.rs");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    text.push_str(&format!(
        "// stack test: a one-line edit, {} at {stamp}\n",
        t.stack.project
    ));
    std::fs::write(&main, text).expect("editing src/main.rs");
    let started = Instant::now();
    let built = t.compose(&["build", "web"]).await;
    if !built.ok() {
        t.fail("docker compose build web failed after a one-line edit");
    }
    t.measured(format!(
        "rebuild after a one-line .rs edit: {} s",
        seconds_since(started)
    ));
}
