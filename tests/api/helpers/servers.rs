//! Private store servers a test may stop, kill and start again, on free ports:
//! never the shared ones.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deadpool_redis::redis;
use tokio::time::{Instant, sleep};

use super::{eventually, free_port};

/// A private `redis-server` this test may stop and start again.
pub struct RedisServer {
    pub port: u16,
    password: Option<String>,
    /// Where it keeps its snapshot, when it keeps one.
    dir: Option<PathBuf>,
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
            dir: None,
            child: None,
        }
    }

    /// A server that keeps a snapshot (written by `SAVE` only) in a directory of
    /// its own, and loads it when started again, as a Redis restored from a backup.
    pub async fn with_snapshots() -> Self {
        let dir =
            std::env::temp_dir().join(format!("tally_redis_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("snapshot directory");
        let mut server = Self::on_port(free_port(), None);
        server.dir = Some(dir);
        server.start_again().await;
        server
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => {
                let encoded: String = password
                    .bytes()
                    .map(|b| match b {
                        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect();
                format!("redis://:{encoded}@127.0.0.1:{}", self.port)
            }
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Starts the server (empty: it keeps nothing on disk) and waits until it answers.
    pub async fn start_again(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]);
        if let Some(dir) = &self.dir {
            command.arg("--dir").arg(dir);
        }
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
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
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
        let dir = std::env::temp_dir().join(format!("tally_pg_{}", uuid::Uuid::new_v4().simple()));
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
