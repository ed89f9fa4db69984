//! The guide's commands, run verbatim: docs/cluster.md is the script the test
//! follows, so a command the guide gives that the test never ran fails the test,
//! and so does a command the test looks for that the guide no longer gives.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

/// What marks a guide whose commands this test runs (tests/api/docs.rs leaves
/// such guides to their owner).
pub const MARKER: &str = "<!-- commands run by: cargo test --test swarm -->";

pub fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The command lines of the ```sh blocks in `text`, in order (comments and blank
/// lines left out, as tests/api/docs.rs reads them).
pub fn commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            inside = !inside && trimmed == "```sh";
            continue;
        }
        let command = line.split(" # ").next().unwrap_or_default().trim();
        if inside && !command.is_empty() && !command.starts_with('#') {
            found.push(command.to_owned());
        }
    }
    found
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(repository().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// docs/cluster.md's commands, each run at most once by [`Guide::run`].
pub struct Guide {
    commands: Vec<String>,
    ran: BTreeSet<String>,
    env: Vec<(String, String)>,
}

impl Guide {
    pub fn english(env: &[(&str, String)]) -> Guide {
        let text = read("docs/cluster.md");
        assert!(text.contains(MARKER), "docs/cluster.md carries {MARKER}");
        Guide {
            commands: commands(&text),
            ran: BTreeSet::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    /// The guide's command that starts with `start`: there must be exactly one.
    pub fn command(&self, start: &str) -> String {
        let found: Vec<&String> = self
            .commands
            .iter()
            .filter(|c| c.starts_with(start))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "docs/cluster.md gives one command starting `{start}`: {found:?}"
        );
        found[0].clone()
    }

    /// Runs the guide's command that starts with `start`, verbatim, from the
    /// repository's root; fails the test when it fails.
    pub fn run(&mut self, start: &str) -> String {
        let command = self.command(start);
        let output = self.shell(&command);
        assert!(
            output.status.success(),
            "`{command}` failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        self.ran.insert(command);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn shell(&self, command: &str) -> Output {
        println!("$ {command}");
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", command])
            .current_dir(repository())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap_or_else(|e| panic!("bash runs: {e}"))
    }

    /// The guide's commands this run never ran.
    pub fn never_ran(&self) -> Vec<&String> {
        self.commands
            .iter()
            .filter(|c| !self.ran.contains(*c))
            .collect()
    }
}
