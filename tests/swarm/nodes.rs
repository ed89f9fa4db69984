//! Several Swarm nodes on one machine: Docker engines in containers (the image
//! in tests/swarm/node), on a bridge network of their own, in a swarm of their
//! own (the engine that runs them stays out of it). [`Nodes`] removes the node
//! containers, their volumes and the network when dropped.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::guide::repository;
use crate::swarm::{cleaning, docker, wait_until};

pub const NODE_IMAGE: &str = "tally-swarm-node:test";
/// Node containers are named this, their number, then `-` and the test's PID.
const NODE_PREFIX: &str = "tally-swarm-node";

pub struct Nodes {
    /// Container names; the first is the manager.
    pub names: Vec<String>,
    network: String,
}

impl Nodes {
    /// `count` engines started and answering, each with its port 8000 published
    /// on a free loopback port of this machine.
    pub fn start(count: usize) -> Nodes {
        let context = repository().join("tests/swarm/node").display().to_string();
        docker(&["build", "-q", "-t", NODE_IMAGE, &context]);
        let tag = std::process::id();
        let network = network_of_this_run();
        docker(&["network", "create", &network]);
        let mut nodes = Nodes {
            names: Vec::new(),
            network,
        };
        for n in 1..=count {
            let name = format!("{NODE_PREFIX}{n}-{tag}");
            docker(&[
                "run",
                "-d",
                "--name",
                &name,
                "--hostname",
                &format!("node{n}"),
                "--network",
                &nodes.network,
                // Not --privileged: one capability it adds is refused here.
                "--cap-add",
                "SYS_ADMIN",
                "--cap-add",
                "NET_ADMIN",
                // The node's engine opens /proc/PID/ns of processes running as
                // other users (a healthcheck exec into postgres's container).
                "--cap-add",
                "SYS_PTRACE",
                "--security-opt",
                "seccomp=unconfined",
                "-v",
                "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                "--cgroupns",
                "host",
                "-v",
                "/var/lib/docker",
                "-p",
                "127.0.0.1::8000",
                NODE_IMAGE,
                // Its containers' cgroups apart from the outer engine's.
                &format!("--cgroup-parent=/{name}"),
            ]);
            nodes.names.push(name);
        }
        for name in &nodes.names {
            wait_until(
                &format!("the engine in {name}"),
                Duration::from_secs(60),
                || {
                    Command::new("docker")
                        .args(["exec", name, "docker", "info"])
                        .output()
                        .is_ok_and(|o| o.status.success())
                },
            );
        }
        nodes
    }

    /// `docker ARGS` on the engine in node `name`.
    pub fn on(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["exec", name, "docker"];
        all.extend_from_slice(args);
        docker(&all)
    }

    pub fn manager(&self) -> &str {
        &self.names[0]
    }

    fn address(&self, name: &str) -> String {
        let format = format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            self.network
        );
        docker(&["inspect", "-f", &format, name]).trim().to_owned()
    }

    /// The loopback port of this machine that node `name`'s port 8000 is on.
    pub fn port(&self, name: &str) -> u16 {
        let mapping = docker(&["port", name, "8000/tcp"]);
        let first = mapping.lines().next().expect("a published port");
        first
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .expect("a port number")
    }

    /// The first node inits the swarm, the others join it as workers.
    pub fn form_swarm(&self) {
        let address = self.address(self.manager());
        self.on(
            self.manager(),
            &["swarm", "init", "--advertise-addr", &address],
        );
        let token = self.on(self.manager(), &["swarm", "join-token", "-q", "worker"]);
        for worker in &self.names[1..] {
            self.on(
                worker,
                &[
                    "swarm",
                    "join",
                    "--token",
                    token.trim(),
                    &format!("{address}:2377"),
                ],
            );
        }
    }

    /// The images, saved once and loaded into every node (no registry here).
    pub fn load(&self, images: &[&str]) {
        for name in &self.names {
            let mut save = Command::new("docker")
                .arg("save")
                .args(images)
                .stdout(Stdio::piped())
                .spawn()
                .expect("docker save runs");
            let load = Command::new("docker")
                .args(["exec", "-i", name, "docker", "load", "-q"])
                .stdin(save.stdout.take().expect("its output"))
                .output()
                .expect("docker load runs");
            assert!(save.wait().expect("docker save ends").success());
            assert!(
                load.status.success(),
                "{}",
                String::from_utf8_lossy(&load.stderr)
            );
        }
    }

    /// The stack file and what it reads, copied into the manager under /tally.
    pub fn copy_stack(&self) {
        docker(&[
            "exec",
            self.manager(),
            "mkdir",
            "-p",
            "/tally/deploy",
            "/tally/lb",
        ]);
        let root = repository();
        let copies = [
            ("deploy/swarm", "/tally/deploy/"),
            ("lb/haproxy.cfg", "/tally/lb/haproxy.cfg"),
        ];
        for (from, to) in copies {
            let source = root.join(from).display().to_string();
            docker(&["cp", &source, &format!("{}:{to}", self.manager())]);
        }
    }

    /// The nodes each running task of `service` is on, by host name.
    pub fn task_nodes(&self, service: &str) -> Vec<String> {
        self.on(
            self.manager(),
            &[
                "service",
                "ps",
                service,
                "--filter",
                "desired-state=running",
                "--format",
                "{{.Node}} {{.CurrentState}}",
            ],
        )
        .lines()
        .filter(|line| line.contains("Running"))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
    }
}

fn network_of_this_run() -> String {
    format!("tally-swarm-nodes-{}", std::process::id())
}

/// Removes the node containers and the network this process made, whatever
/// [`Nodes`] got to (a signal's cleanup; the drop removes its own).
pub fn remove_nodes_of_this_run() {
    let suffix = format!("-{}", std::process::id());
    let listed = Command::new("docker")
        .args(["ps", "-a", "--filter", &format!("name={NODE_PREFIX}")])
        .args(["--format", "{{.Names}}"])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    for name in listed.lines().filter(|name| name.ends_with(&suffix)) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", name])
            .output();
    }
    let _ = Command::new("docker")
        .args(["network", "rm", &network_of_this_run()])
        .output();
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let _cleaning = cleaning();
        for name in &self.names {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", name])
                .output();
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &self.network])
            .output();
    }
}
