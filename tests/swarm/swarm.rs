//! The engine in swarm mode, and what the test asks it: running tasks, their
//! containers. [`SwarmGuard`] leaves the swarm when the test ends, however it ends
//! (on SIGINT or SIGTERM too: [`clean_up_on_signals`]).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
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

/// Whether a [`SwarmGuard`] holds the engine's swarm, for a signal's cleanup.
static SWARM_HELD: AtomicBool = AtomicBool::new(false);

/// Held by whoever is cleaning up (a guard's drop, a signal's handler), so a
/// signal's cleanup and a panic's never run over each other.
pub fn cleaning() -> MutexGuard<'static, ()> {
    static CLEANING: Mutex<()> = Mutex::new(());
    CLEANING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// From the first call on, SIGINT (Ctrl-C) or SIGTERM removes what the running
/// case made (the engine's swarm while a guard holds it, this run's nodes) and
/// ends the process, which the signal would otherwise kill with them left behind.
pub fn clean_up_on_signals() {
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the signals");
        let (mut terminate, mut interrupt) = {
            let _entered = runtime.enter();
            let listen = |kind| signal(kind).expect("a signal handler");
            (
                listen(SignalKind::terminate()),
                listen(SignalKind::interrupt()),
            )
        };
        std::thread::spawn(move || {
            let name = runtime.block_on(async {
                tokio::select! {
                    _ = terminate.recv() => "SIGTERM",
                    _ = interrupt.recv() => "SIGINT",
                }
            });
            println!("{name}: stopping");
            let _cleaning = cleaning();
            if SWARM_HELD.load(Ordering::SeqCst) {
                leave_swarm();
            }
            crate::nodes::remove_nodes_of_this_run();
            std::process::exit(130);
        });
    });
}

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
        SWARM_HELD.store(true, Ordering::SeqCst);
        SwarmGuard
    }
}

impl Drop for SwarmGuard {
    fn drop(&mut self) {
        let _cleaning = cleaning();
        leave_swarm();
        SWARM_HELD.store(false, Ordering::SeqCst);
    }
}

fn leave_swarm() {
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
