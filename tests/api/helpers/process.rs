//! The `tally` binary as an operator meets it: a child process with the
//! environment it is given, its log in a file the test can read at any time.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::{Namespace, client, eventually, free_port, redis_url};

/// A running (or exited) `tally` process.
pub struct Binary {
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Binary {
    /// The binary with only `vars` in its environment (and `STATIC_DIR`, since it
    /// runs where no `.env` lies, away from the repository).
    pub fn command(vars: &[(&str, String)]) -> Command {
        let static_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tally"));
        command
            .env_clear()
            .current_dir(std::env::temp_dir())
            .env("STATIC_DIR", static_dir)
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
        command
    }

    /// Settings that find both stores, in `ns`, on a free port.
    pub fn vars(ns: &Namespace) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", ns.database_url()),
            ("REDIS_URL", redis_url()),
            ("REDIS_KEY_PREFIX", ns.prefix.clone()),
            ("HOST", "127.0.0.1".to_owned()),
            ("PORT", free_port().to_string()),
            ("DRAIN_DELAY_SECS", "0".to_owned()),
        ]
    }

    /// Starts the binary with `vars` (later pairs win over earlier ones).
    pub fn start(vars: &[(&str, String)]) -> Self {
        Self::start_with(&[], vars)
    }

    /// Starts the binary with the arguments `args` (a subcommand) and `vars`.
    pub fn start_with(args: &[&str], vars: &[(&str, String)]) -> Self {
        let log = std::env::temp_dir().join(format!("tally-log-{}", uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Self::command(vars)
            .args(args)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("tally starts");
        let port = vars
            .iter()
            .rev()
            .find(|(k, _)| *k == "PORT")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(8000);
        Self { port, child, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&self, limit: Duration) -> bool {
        let http = client();
        let url = self.url("/readyz");
        eventually(limit, async || {
            http.get(&url).send().await.is_ok_and(|r| r.status() == 200)
        })
        .await
        .is_some()
    }

    /// Everything the process has written so far, stdout and stderr.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
