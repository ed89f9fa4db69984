//! The stack under test: a copy of the repository with a project name and ports
//! of its own, commands run in it with only this run's settings, and the
//! cleanup when [`Stack`] is dropped (also on a panic).

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::wait_until;

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

    /// Starts `command` and leaves it running (`docker compose watch`), its
    /// stdout and stderr in one stream, kept in a file beside the copy.
    pub fn spawn(&self, mut command: Command) -> Background {
        let output = self.scratch.join(format!("out.{}", random()));
        let file = File::create(&output).expect("an output file");
        let child = command
            .stdout(file.try_clone().expect("the output file"))
            .stderr(file)
            .process_group(0)
            .spawn()
            .expect("the command starts");
        Background { child, output }
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
        // What `down --rmi local` leaves: images tagged in a compose file
        // (compose.dev.yaml's development image).
        let label = format!("label=com.docker.compose.project={}", self.project);
        if let Ok(listed) = self
            .command("docker", &["image", "ls", "-q", "--filter", &label])
            .output()
        {
            let ids = String::from_utf8_lossy(&listed.stdout).into_owned();
            let mut rm = vec!["image", "rm", "-f"];
            rm.extend(ids.split_whitespace());
            if rm.len() > 3 {
                let _ = self.command("docker", &rm).output();
            }
        }
        if self.plain_started {
            self.remove_plain_stack();
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// A command left running in a process group of its own (a Compose plugin may
/// be a wrapper that starts the real binary), so that a signal reaches all of
/// it, as Ctrl-C in a terminal would. Dropping it kills the group.
pub struct Background {
    child: Child,
    output: PathBuf,
}

impl Background {
    /// What it has printed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.output).unwrap_or_default()).replace('\r', "")
    }

    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Ctrl-C: SIGINT to the group, then up to `limit` for it to end. Whether it did.
    pub async fn interrupt(&mut self, limit: Duration) -> bool {
        self.signal(libc::SIGINT);
        wait_until(self, limit, async |watch| watch.has_exited()).await
    }

    fn signal(&self, signal: libc::c_int) {
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: kill(2) with a negative pid signals the process group spawn() created.
        unsafe { libc::kill(group, signal) };
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.output);
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
