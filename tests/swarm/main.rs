//! Tally's stack on Docker Swarm, run for real on the engine `docker` reaches:
//! docs/cluster.md followed command by command (deploy, scale 1 -> 3, a rolling
//! update under load, a killed task replaced, the swarm left), with the checks
//! a user cannot do by eye in between. Not part of the plain `cargo test`: CI
//! runs `cargo test --locked --test swarm -- --nocapture`.

mod guide;
mod load;
mod nodes;
mod swarm;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use crate::guide::{Guide, commands, read};
use crate::load::{Load, client, stats};
use crate::nodes::Nodes;
use crate::swarm::{
    STACK, SwarmGuard, clean_up_on_signals, containers, docker, healthy, wait_until,
};

const WEB: &str = "tally_web";
/// Clients reloading the page all through the rolling update.
const CLIENTS: usize = 4;

/// One case at a time: both start a whole stack, and the rolling update's
/// numbers mean little on cores another stack is busy with.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static CASES: Mutex<()> = Mutex::new(());
    CASES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// The replicas lb sends requests to, by the name each one's `/api/stats` gives.
fn replicas_answering(runtime: &Runtime, base: &str) -> BTreeSet<String> {
    let http = client();
    runtime.block_on(async {
        let mut names = BTreeSet::new();
        for _ in 0..30 {
            if let Ok((_, _, name)) = stats(&http, base).await {
                names.insert(name);
            }
        }
        names
    })
}

/// Waits until lb spreads requests over exactly `n` replicas.
fn wait_for_lb(runtime: &Runtime, base: &str, n: usize, limit: Duration) -> Duration {
    wait_until(
        &format!("lb spreading requests over {n} replicas"),
        limit,
        || replicas_answering(runtime, base).len() == n,
    )
}

/// Waits until `n` web tasks are running and healthy and lb spreads requests over
/// exactly those `n`.
fn wait_for_replicas(runtime: &Runtime, base: &str, n: usize, limit: Duration) -> Duration {
    wait_until(&format!("{n} healthy web tasks behind lb"), limit, || {
        containers(WEB).len() == n
            && healthy(WEB).len() == n
            && replicas_answering(runtime, base).len() == n
    })
}

#[test]
fn the_portuguese_guide_gives_the_same_commands_in_the_same_order() {
    let english = read("docs/cluster.md");
    let portuguese = read("docs/cluster.pt-BR.md");
    assert!(!commands(&english).is_empty());
    assert_eq!(commands(&english), commands(&portuguese));
    assert!(portuguese.contains(guide::MARKER));
}

#[test]
fn the_stack_deploys_scales_updates_without_a_failed_request_and_replaces_a_killed_task() {
    let _alone = one_at_a_time();
    clean_up_on_signals();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(CLIENTS)
        .enable_all()
        .build()
        .expect("a runtime");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut guide = Guide::english(&[("TALLY_PORT", port.to_string())]);
    let mut measured: Vec<String> = Vec::new();
    let started = Instant::now();

    let _swarm = SwarmGuard::new();
    guide.run("docker swarm init");
    let build = Instant::now();
    guide.run("docker compose build");
    measured.push(format!("image built in {:.1?}", build.elapsed()));
    guide.run("head -c");

    let deploy = Instant::now();
    guide.run("docker stack deploy");
    wait_for_replicas(&runtime, &base, 3, Duration::from_secs(180));
    measured.push(format!(
        "deployed, 3 web replicas behind lb, in {:.1?}",
        deploy.elapsed()
    ));
    let services = guide.run("docker stack services");
    for service in ["cache", "db", "lb", "web"] {
        assert!(
            services.contains(&format!("{STACK}_{service}")),
            "{services}"
        );
    }
    let answer = guide.run("curl");
    let json: serde_json::Value = serde_json::from_str(&answer).expect("JSON from /api/stats");
    assert_eq!(json["redis"], "up", "{json}");
    assert_eq!(json["postgres"], "up", "{json}");

    guide.run("docker service scale tally_web=1");
    wait_for_replicas(&runtime, &base, 1, Duration::from_secs(60));
    let scale = Instant::now();
    guide.run("docker service scale tally_web=3");
    wait_for_replicas(&runtime, &base, 3, Duration::from_secs(90));
    measured.push(format!("scaled web 1 -> 3 in {:.1?}", scale.elapsed()));

    // A rolling update under load: every view served, both numbers exact.
    let http = client();
    let before = runtime.block_on(stats(&http, &base)).expect("stats before");
    let old = containers(WEB);
    let load = Load::start(&runtime, &base, CLIENTS);
    sleep(Duration::from_secs(2));
    let update = Instant::now();
    guide.run("docker service update --force");
    let took = update.elapsed();
    sleep(Duration::from_secs(2));
    let counts = load.stop(&runtime);
    // Past the 2 s an instance may lag behind views other instances showed.
    sleep(Duration::from_secs(3));
    let after = runtime.block_on(stats(&http, &base)).expect("stats after");
    measured.push(format!(
        "rolling update of 3 replicas in {took:.1?} under {CLIENTS} clients: {} views served, {} failed",
        counts.served, counts.failed
    ));
    assert_eq!(
        counts.failed, 0,
        "views failed during the update: {:?}",
        counts.errors
    );
    assert!(counts.served > 0, "the clients were served nothing");
    assert_eq!(after.0 - before.0, counts.served, "the visit counter");
    assert_eq!(after.1 - before.1, counts.served, "the access log");
    let new = containers(WEB);
    assert_eq!(new.len(), 3, "{new:?}");
    assert!(
        new.iter().all(|id| !old.contains(id)),
        "every task replaced: {old:?} -> {new:?}"
    );
    let state = docker(&["service", "inspect", "-f", "{{.UpdateStatus.State}}", WEB]);
    assert_eq!(state.trim(), "completed");
    guide.run("docker service ps");

    // A killed task: Swarm starts another in its place.
    let before_kill = containers(WEB);
    let kill = Instant::now();
    guide.run("docker kill");
    let replaced = wait_until(
        "a new web task in place of the killed one",
        Duration::from_secs(60),
        || {
            let now = healthy(WEB);
            now.len() == 3 && now.iter().filter(|id| before_kill.contains(id)).count() == 2
        },
    );
    wait_for_replicas(&runtime, &base, 3, Duration::from_secs(30));
    measured.push(format!(
        "a killed web task replaced (healthy) in {replaced:.1?}, 3 serving again after {:.1?}",
        kill.elapsed()
    ));

    guide.run("docker stack rm");
    let label = format!("label=com.docker.stack.namespace={STACK}");
    wait_until(
        "the stack's containers gone",
        Duration::from_secs(60),
        || docker(&["ps", "-aq", "--filter", &label]).trim().is_empty(),
    );
    guide.run("docker volume rm");
    guide.run("docker secret rm");
    guide.run("docker swarm leave");

    measured.push(format!("the whole run in {:.1?}", started.elapsed()));
    for line in &measured {
        println!("measured: {line}");
    }
    let never = guide.never_ran();
    assert!(
        never.is_empty(),
        "docs/cluster.md gives commands this test never ran: {never:?}"
    );
}

#[test]
fn on_three_nodes_the_web_tasks_of_a_stopped_node_start_on_the_others() {
    let _alone = one_at_a_time();
    clean_up_on_signals();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    // The image the guide builds (from the cache when the other case built it).
    let compose = std::process::Command::new("docker")
        .args(["compose", "build", "web"])
        .current_dir(guide::repository())
        .status()
        .expect("docker compose runs");
    assert!(compose.success(), "docker compose build web");
    let nodes = Nodes::start(3);
    nodes.form_swarm();
    let load = Instant::now();
    nodes.load(&["tally-web", "postgres:18", "redis:8", "haproxy:3.2"]);
    let loaded = load.elapsed();
    nodes.copy_stack();
    let manager = nodes.manager().to_owned();
    docker(&[
        "exec",
        &manager,
        "sh",
        "-c",
        "head -c 18 /dev/urandom | base64 | docker secret create tally_db_password -",
    ]);
    let deploy = Instant::now();
    docker(&[
        "exec",
        "-e",
        "TALLY_PORT=8000",
        &manager,
        "docker",
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        "/tally/deploy/swarm/stack.yaml",
        STACK,
    ]);
    // lb's port is on the node that runs it.
    let mut base = String::new();
    wait_until(
        "3 web tasks behind lb on the nodes",
        Duration::from_secs(240),
        || {
            let lb = nodes.task_nodes("tally_lb");
            let Some(host) = lb.first() else { return false };
            let name = nodes
                .names
                .iter()
                .find(|n| n.starts_with(&format!("tally-swarm-{host}-")));
            base = format!("http://127.0.0.1:{}", nodes.port(name.expect("lb's node")));
            nodes.task_nodes(WEB).len() == 3 && replicas_answering(&runtime, &base).len() == 3
        },
    );
    let deployed = deploy.elapsed();
    let web_nodes = nodes.task_nodes(WEB);
    let spread: BTreeSet<&String> = web_nodes.iter().collect();
    assert!(
        spread.len() >= 2,
        "the web tasks spread over the nodes: {web_nodes:?}"
    );
    let db = nodes.task_nodes("tally_db");
    assert_eq!(db, ["node1"], "db runs on the manager");

    // A worker with web tasks and without lb stops, as a machine would.
    let lb_node = nodes.task_nodes("tally_lb")[0].clone();
    let victim = ["node2", "node3"]
        .into_iter()
        .find(|host| *host != lb_node && web_nodes.iter().any(|n| n == host))
        .expect("a worker with web tasks that does not run lb");
    let victim_container = format!("tally-swarm-{victim}-{}", std::process::id());
    let stop = Instant::now();
    docker(&["stop", &victim_container]);
    let rescheduled = wait_until(
        &format!("3 web tasks again, none on {victim}"),
        Duration::from_secs(120),
        || {
            let now = nodes.task_nodes(WEB);
            now.len() == 3 && now.iter().all(|n| n != victim)
        },
    );
    wait_for_lb(&runtime, &base, 3, Duration::from_secs(60));
    let serving = stop.elapsed();
    assert_eq!(
        nodes.task_nodes("tally_db"),
        ["node1"],
        "db stayed on the manager"
    );
    runtime
        .block_on(stats(&client(), &base))
        .expect("both stores answer after the node is gone");
    println!(
        "measured: 3 nodes: images loaded into them in {loaded:.1?}, deployed in {deployed:.1?} \
         (web on {web_nodes:?}); {victim} stopped: its web tasks running elsewhere after \
         {rescheduled:.1?}, 3 replicas serving through lb after {serving:.1?}; \
         the whole case in {:.1?}",
        started.elapsed()
    );
}
