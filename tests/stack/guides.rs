//! The container guides show only commands this test runs. A guide says so with
//! the marker [`MARKER`] near its top; each command of its ```sh blocks is run
//! verbatim through [`StackTest::doc_run`], which first finds it there, and the
//! last case fails for a command never run. A Portuguese guide (NAME.pt-BR.md)
//! must give exactly the commands of its English twin (NAME.md), in the same order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::stack::{Background, Ran};
use crate::support::{StackTest, indented_tail, seconds_since};

/// The line that names this test as the one that runs a guide's commands.
pub const MARKER: &str = "<!-- commands run by: cargo test --test stack -->";

/// How long a guide command may run (a first build) unless the case says less.
const COMMAND_LIMIT_SECS: u64 = 900;

pub struct Guides {
    /// Each guide (relative to the repository) and its commands, in order.
    files: Vec<(PathBuf, Vec<String>)>,
    ran: HashSet<String>,
}

impl Guides {
    /// The guides of `repository` (the READMEs and `docs/`) that carry the marker.
    pub fn of(repository: &Path) -> Guides {
        let mut files = Vec::new();
        for path in markdown_files(repository) {
            let text = std::fs::read_to_string(repository.join(&path)).expect("a guide");
            if !text.lines().any(|line| line.trim() == MARKER) {
                continue;
            }
            let commands = guide_commands(&text)
                .unwrap_or_else(|e| panic!("cannot read the commands of {}: {e}", path.display()));
            assert!(
                !commands.is_empty(),
                "{} has no commands in sh blocks",
                path.display()
            );
            files.push((path, commands));
        }
        assert!(!files.is_empty(), "no guide carries {MARKER}");
        let guides = Guides {
            files,
            ran: HashSet::new(),
        };
        guides.translations_give_their_twins_commands();
        guides
    }

    /// A translation gives its English twin's commands, in the same order: only
    /// the prose and the comments differ.
    fn translations_give_their_twins_commands(&self) {
        for (path, translated) in &self.files {
            let name = path.to_string_lossy();
            let Some(stem) = name.strip_suffix(".pt-BR.md") else {
                continue;
            };
            let twin = format!("{stem}.md");
            let english = self
                .files
                .iter()
                .find(|(other, _)| other.to_string_lossy() == twin)
                .map(|(_, commands)| commands)
                .unwrap_or_else(|| {
                    panic!("{name} is a translation of {twin}, which is not a guide")
                });
            if english == translated {
                continue;
            }
            let n = english
                .iter()
                .zip(translated)
                .take_while(|(a, b)| a == b)
                .count();
            let none = "(none)".to_owned();
            panic!(
                "{name} does not give the commands of {twin} in the same order: command {} is\n      {}\n    there, and in {twin}\n      {}",
                n + 1,
                translated.get(n).unwrap_or(&none),
                english.get(n).unwrap_or(&none)
            );
        }
    }

    /// Every guide command, each once, in the guides' order.
    pub fn commands(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.files
            .iter()
            .flat_map(|(_, commands)| commands)
            .filter(|command| seen.insert(command.as_str()))
            .cloned()
            .collect()
    }

    fn contains(&self, command: &str) -> bool {
        self.files
            .iter()
            .any(|(_, commands)| commands.iter().any(|c| c == command))
    }

    fn names(&self) -> String {
        self.files
            .iter()
            .map(|(path, _)| path.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The READMEs and the Markdown files of `docs/`, relative to `repository`, sorted.
fn markdown_files(repository: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "README.pt-BR.md"]
        .into_iter()
        .map(PathBuf::from)
        .filter(|path| repository.join(path).exists())
        .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repository.join("docs"))
        .expect("docs/")
        .filter_map(|entry| entry.ok())
        .map(|entry| PathBuf::from("docs").join(entry.file_name()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Every command of the guide's ```sh blocks: comment lines are skipped, and
/// lines are joined until they parse as complete shell (a loop, a heredoc, a
/// line continued with a backslash). The block's own indentation (inside a list
/// item) is dropped; indentation within a command is kept.
pub fn guide_commands(text: &str) -> Result<Vec<String>, String> {
    let mut commands = Vec::new();
    let mut block_indent: Option<&str> = None;
    let mut command = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let Some(indent) = block_indent else {
            if trimmed == "```sh" {
                block_indent = Some(&line[..line.len() - line.trim_start().len()]);
            }
            continue;
        };
        if trimmed == "```" {
            if !command.is_empty() {
                return Err(format!("an sh block ends inside a command: {command}"));
            }
            block_indent = None;
            continue;
        }
        let line = line.strip_prefix(indent).unwrap_or(line);
        if command.is_empty() {
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
        } else {
            command.push('\n');
        }
        command.push_str(line);
        if !command.ends_with('\\') && parses_as_complete_shell(&command) {
            commands.push(std::mem::take(&mut command));
        }
    }
    match block_indent {
        Some(_) => Err("an sh block is never closed".to_owned()),
        None => Ok(commands),
    }
}

/// bash parses it without complaint (an open heredoc only warns).
fn parses_as_complete_shell(command: &str) -> bool {
    Command::new("bash")
        .args(["-n", "-c", command])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.is_empty() && out.stderr.is_empty())
}

impl StackTest {
    /// Runs a command of a guide as a user would, in the copy, with this run's
    /// project and port, and shows its output. Fails the case if it is not in a
    /// guide or exits non-zero.
    pub async fn doc_run(&mut self, command: &str) -> Ran {
        self.doc_run_with(command, COMMAND_LIMIT_SECS, false).await
    }

    /// A guide command the guide shows refused: the caller checks its output.
    pub async fn doc_run_may_fail(&mut self, command: &str) -> Ran {
        self.doc_run_with(command, COMMAND_LIMIT_SECS, true).await
    }

    /// A guide command that must end within `seconds`.
    pub async fn doc_run_within(&mut self, command: &str, seconds: u64) -> Ran {
        self.doc_run_with(command, seconds, false).await
    }

    async fn doc_run_with(&mut self, command: &str, seconds: u64, may_fail: bool) -> Ran {
        if !self.in_guide(command) {
            return Ran {
                status: 1,
                output: String::new(),
            };
        }
        println!("    $ {}", command.replace('\n', "\n      "));
        let started = Instant::now();
        let ran = self.run_limited(command, seconds).await;
        print!("{}", indented_tail(&ran.output, 25));
        println!("      (exit {}, {} s)", ran.status, seconds_since(started));
        if !ran.ok() && !may_fail {
            self.fail(format!("exit {}: {command}", ran.status));
        }
        ran
    }

    /// A guide command that runs until stopped (`docker compose watch`): started
    /// and left running; the caller checks what it does and stops it.
    pub fn doc_background(&mut self, command: &str) -> Option<Background> {
        if !self.in_guide(command) {
            return None;
        }
        println!("    $ {command}   (left running)");
        Some(
            self.stack
                .spawn(self.stack.command("bash", &["-c", command])),
        )
    }

    /// A guide command that follows output until interrupted (`logs -f`): runs it
    /// for a few seconds.
    pub async fn doc_follow(&mut self, command: &str) {
        if !self.in_guide(command) {
            return;
        }
        println!("    $ {command}   (for 3 s)");
        let ran = self.run_limited(command, 3).await;
        print!("{}", indented_tail(&ran.output, 10));
        if ran.status != 124 && !ran.ok() {
            self.fail(format!("exit {}: {command}", ran.status));
        }
    }

    /// The command is in a guide, verbatim: marks it run, or fails the case.
    fn in_guide(&mut self, command: &str) -> bool {
        if self.guides.contains(command) {
            self.guides.ran.insert(command.to_owned());
            return true;
        }
        let names = self.guides.names();
        self.fail(format!("not in any guide ({names}): {command}"));
        false
    }

    /// Through `timeout`, so a command stuck after `seconds` is stopped (exit 124).
    async fn run_limited(&self, command: &str, seconds: u64) -> Ran {
        let limit = seconds.to_string();
        let run = self
            .stack
            .command("timeout", &[&limit, "bash", "-c", command]);
        self.run(run).await
    }

    /// The last case: every command of every guide was run.
    pub fn every_guide_command_was_run(&mut self) {
        let files = self.guides.files.clone();
        for (path, commands) in files {
            let never: Vec<&String> = commands
                .iter()
                .filter(|command| !self.guides.ran.contains(*command))
                .collect();
            for command in &never {
                self.fail(format!("never run ({}): {command}", path.display()));
            }
            if never.is_empty() {
                self.check(
                    format!("all {} commands of {}", commands.len(), path.display()),
                    true,
                );
            }
        }
    }
}

#[test]
fn commands_are_joined_until_they_parse_and_comments_are_skipped() {
    let text = "```sh\n# a comment\ndocker compose ps\nfor i in 1 2; do\n  echo $i\ndone\n```\n\n  ```sh\n  docker compose \\\n    logs\n  ```\n```text\nnot a command\n```\n";
    assert_eq!(
        guide_commands(text).expect("the commands"),
        vec![
            "docker compose ps".to_owned(),
            "for i in 1 2; do\n  echo $i\ndone".to_owned(),
            "docker compose \\\n  logs".to_owned(),
        ]
    );
    assert!(guide_commands("```sh\nfor i in 1; do\n```\n").is_err());
}
