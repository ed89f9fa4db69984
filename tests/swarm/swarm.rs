//! The engine in swarm mode, and what the test asks it: running tasks, their
//! containers. [`SwarmGuard`] leaves the swarm when the test ends, however it ends.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const STACK: &str = "tally";

/// `docker ARGS`: its stdout, or a panic with its stderr.
pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker runs: {e}"));
    assert!(
        output.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `docker ARGS`, whether it works or not, never a panic (cleaning up): its stdout.
fn docker_quietly(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// The IDs of the running containers of `service` (e.g. `tally_web`).
pub fn containers(service: &str) -> Vec<String> {
    docker(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
    ])
    .lines()
    .map(str::to_owned)
    .collect()
}

/// Running tasks whose container is healthy, as Swarm counts a task started.
pub fn healthy(service: &str) -> Vec<String> {
    containers(service)
        .into_iter()
        .filter(|id| docker(&["inspect", "-f", "{{.State.Health.Status}}", id]).trim() == "healthy")
        .collect()
}

/// Polls `check` every half second until it holds, for `limit` at the most.
pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        sleep(Duration::from_millis(500));
    }
    start.elapsed()
}

/// The swarm this test made on the engine: on drop the stack, its volume and
/// secret are removed and the engine leaves the swarm.
pub struct SwarmGuard;

impl SwarmGuard {
    /// Refuses to run on an engine that is in a swarm already: that swarm is
    /// someone else's, and this test would leave it.
    pub fn new() -> SwarmGuard {
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        assert_eq!(
            state.trim(),
            "inactive",
            "the engine is in a swarm already; this test makes and leaves its own"
        );
        SwarmGuard
    }
}

impl Drop for SwarmGuard {
    fn drop(&mut self) {
        println!("cleaning up: stack {STACK}, its volume and secret, the swarm");
        docker_quietly(&["stack", "rm", STACK]);
        let label = format!("label=com.docker.stack.namespace={STACK}");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60)
            && !docker_quietly(&["ps", "-aq", "--filter", &label])
                .trim()
                .is_empty()
        {
            sleep(Duration::from_millis(500));
        }
        docker_quietly(&["volume", "rm", &format!("{STACK}_pgdata")]);
        docker_quietly(&["secret", "rm", "tally_db_password"]);
        docker_quietly(&["swarm", "leave", "--force"]);
    }
}
