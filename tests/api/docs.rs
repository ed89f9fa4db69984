//! What the README and `docs/` show, tried for real: the commands they give, the log
//! they print, the links between them. A guide marked `<!-- commands run by: cargo
//! test --test NAME -->` has its commands run by that test (`--test stack`, in
//! tests/stack/, drives the container stack); this checks that every other
//! document's commands are run by something.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tokio::time::sleep;

use crate::helpers::{Binary, Namespace, PostgresServer, RedisServer, client, fetch_page};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every Markdown file a reader meets: the READMEs, the contributors' guides,
/// SECURITY and CHANGELOG, and `docs/`.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![repository().join("README.md")];
    for name in [
        "README.pt-BR.md",
        "CONTRIBUTING.md",
        "CONTRIBUTING.pt-BR.md",
        "SECURITY.md",
        "CHANGELOG.md",
    ] {
        let file = repository().join(name);
        if file.exists() {
            files.push(file);
        }
    }
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repository().join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The fenced block that follows `<!-- doc: NAME -->` in `file`.
fn block(file: &str, name: &str) -> String {
    let text = std::fs::read_to_string(repository().join(file)).expect("the document");
    let marker = format!("<!-- doc: {name} -->");
    let after = text
        .split_once(&marker)
        .unwrap_or_else(|| panic!("{file} has no {marker}"))
        .1;
    let body = after
        .split_once("```")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, rest)| rest)
        .expect("a fenced block after the marker");
    body.split_once("\n```")
        .map(|(block, _)| block)
        .expect("the block ends")
        .to_owned()
}

/// A log line with what changes from run to run (times, addresses, sizes,
/// durations, numbers, request ids) taken out. A request id is left out whole: a
/// store going down is noticed by a request or by the probe, whichever comes first.
fn shape(line: &str) -> String {
    let line: String = line
        .split(' ')
        .filter(|word| !word.starts_with("req="))
        .collect::<Vec<_>>()
        .join(" ");
    let mut shaped = String::new();
    let mut digits = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !digits {
                shaped.push('#');
            }
            digits = true;
        } else {
            digits = false;
            shaped.push(c);
        }
    }
    shaped
        .replace("#.#.#.#", "ADDR")
        .replace("#.#", "#")
        .replace(" as vm", " as HOST")
}

#[tokio::test]
async fn the_log_sample_shows_lines_tally_really_writes() {
    let sample = block("docs/operations.md", "log-sample");
    // The session the sample shows: two views, Redis stopped and started, a view,
    // a reset, SIGTERM.
    let ns = Namespace::create().await;
    let mut redis = RedisServer::start().await;
    let mut vars = Binary::vars(&ns);
    vars.push(("REDIS_URL", redis.url()));
    vars.push(("DRAIN_DELAY_SECS", "3".to_owned()));
    vars.push(("INSTANCE_NAME", "vm".to_owned()));
    let mut tally = Binary::start(&vars);
    assert!(
        tally.ready(Duration::from_secs(10)).await,
        "{}",
        tally.output()
    );
    let http = client();
    for _ in 0..2 {
        fetch_page(&http, &tally.url("/"), "docs").await;
    }
    redis.stop();
    // Past a probe, so the outage is met on a closed connection: the cause reads
    // "connection refused" (a view at the very instant Redis dies may read
    // "broken pipe" instead).
    sleep(Duration::from_millis(1500)).await;
    fetch_page(&http, &tally.url("/"), "docs").await;
    redis.start_again().await;
    sleep(Duration::from_millis(1500)).await;
    fetch_page(&http, &tally.url("/"), "docs").await;
    http.post(tally.url("/reset")).send().await.expect("reset");
    tally.terminate();
    tally.exit_within(Duration::from_secs(10)).await;
    let output = tally.output();

    let written: Vec<String> = output.lines().map(shape).collect();
    for line in sample.lines() {
        assert!(
            written.contains(&shape(line)),
            "the sample shows a line Tally does not write:\n{line}\nTally wrote:\n{output}"
        );
    }
}

#[tokio::test]
async fn the_database_setup_in_the_docs_lets_tally_start_with_its_defaults() {
    let postgres = PostgresServer::start().await;
    let setup = block("docs/operations.md", "create-database");

    let ran = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &setup])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", postgres.port.to_string())
        .output()
        .expect("bash runs");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );

    // The default DATABASE_URL, on the private server's port.
    let ns = Namespace::create().await;
    let mut vars = Binary::vars(&ns);
    vars.push((
        "DATABASE_URL",
        format!("postgres://tally:tally@127.0.0.1:{}/tally", postgres.port),
    ));
    let tally = Binary::start(&vars);
    assert!(
        tally.ready(Duration::from_secs(10)).await,
        "{}",
        tally.output()
    );
    assert_eq!(
        fetch_page(&client(), &tally.url("/"), "docs")
            .await
            .access_total(),
        1
    );
}

#[tokio::test]
async fn every_link_between_the_documents_leads_to_a_file() {
    for document in documents() {
        let text = std::fs::read_to_string(&document).expect("the document");
        let base = document.parent().expect("a folder");
        for target in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = target.split('#').next().unwrap_or(target);
            assert!(
                base.join(path).exists(),
                "{} links to {target}, which is not there",
                document.display()
            );
        }
    }
}

/// Where each command the documents give is run: by a test here (its block is
/// named), by the test that owns a guide giving the same command, by CI (a
/// line of `.ci/run`, as it stands there), or elsewhere for a reason given. A guide that carries `<!-- commands run by: cargo test
/// --test NAME -->` is left to that test: it runs each of the guide's commands
/// verbatim and fails if one was not.
#[tokio::test]
async fn every_command_in_the_documents_is_run_by_a_test() {
    let mut owned = Vec::new();
    let mut run_by_owners = Vec::new();
    for document in documents() {
        let text = std::fs::read_to_string(&document).expect("the document");
        let Some(test) = test_that_runs_the_commands_of(&text) else {
            continue;
        };
        assert!(
            is_a_test_target(&test),
            "{} says `cargo test --test {test}` runs its commands, and there is no such test",
            document.display()
        );
        run_by_owners.extend(commands(&text));
        owned.push(document);
    }
    assert!(
        !owned.is_empty(),
        "some guide names the test that runs its commands"
    );
    let run_here = block("docs/operations.md", "create-database");
    let ci = std::fs::read_to_string(repository().join(".ci/run")).expect(".ci/run");
    for document in documents().into_iter().filter(|d| !owned.contains(d)) {
        let text = std::fs::read_to_string(&document).expect("the document");
        for command in commands(&text) {
            let runs = run_here.contains(&command)
                || run_by_owners.contains(&command)
                || ci.lines().any(|line| line.trim() == command)
                || RUN_ELSEWHERE.iter().any(|(known, _)| *known == command);
            assert!(
                runs,
                "{} shows `{command}`, which no test runs",
                document.display()
            );
        }
    }
}

/// NAME of the marker `<!-- commands run by: cargo test --test NAME -->`, on a line of its own.
fn test_that_runs_the_commands_of(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let name = line
            .trim()
            .strip_prefix("<!-- commands run by: cargo test --test ")?
            .strip_suffix(" -->")?;
        (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_owned())
    })
}

/// Whether `cargo test --test NAME` names an integration test (`tests/NAME.rs` or
/// `tests/NAME/main.rs`).
fn is_a_test_target(name: &str) -> bool {
    let tests = repository().join("tests");
    tests.join(format!("{name}.rs")).is_file() || tests.join(name).join("main.rs").is_file()
}

/// Commands run by something other than the tests that own a guide, and by what.
const RUN_ELSEWHERE: &[(&str, &str)] = &[
    ("cargo test", "CI runs it (the README's test command)"),
    (
        "docker compose up --build",
        "the stack test runs it as the guides give it, detached: `docker compose up --build -d --wait`",
    ),
    (
        "cargo run --release",
        "builds and runs the binary the process tests run",
    ),
    (
        "sudo scripts/test-stores.sh",
        "the GitHub workflow runs it so; .ci/run, root already, without sudo",
    ),
    (
        "cargo test --test api reset_sets_the_counter_to_zero",
        "a part of the README's cargo test, which CI runs whole",
    ),
    (
        "cargo test --test api locale -- --nocapture",
        "a part of the README's cargo test, which CI runs whole",
    ),
    (
        "cargo run",
        "builds the dev-profile binary `cargo test` builds, which the process tests run",
    ),
    (
        "scripts/bench.sh",
        "the measurements in docs/performance.md come from it",
    ),
    (
        "scripts/profile.sh",
        "the measurements in docs/performance.md come from it",
    ),
    (
        "scripts/bench-prune.sh",
        "the measurements in docs/performance.md come from it",
    ),
];

/// The command lines of the `sh` blocks in `text` (comments and blank lines left out).
fn commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside && line.trim_start() == "```sh";
            continue;
        }
        let command = line.split(" # ").next().unwrap_or_default().trim();
        if inside && !command.is_empty() && !command.starts_with('#') {
            found.push(command.to_owned());
        }
    }
    found
}

#[test]
fn the_readmes_diagrams_are_the_sources_the_pictures_are_drawn_from() {
    for (readme, suffix) in [("README.md", ""), ("README.pt-BR.md", ".pt-BR")] {
        let text = std::fs::read_to_string(repository().join(readme)).expect("the README");
        for name in ["stack", "view"] {
            let file = format!("docs/diagrams/{name}{suffix}");
            let source = std::fs::read_to_string(repository().join(format!("{file}.mmd")))
                .expect("the diagram's source");
            assert!(
                text.contains(&format!("```mermaid\n{source}```")),
                "{readme}'s {name} diagram differs from {file}.mmd"
            );
            assert!(repository().join(format!("{file}.png")).exists());
        }
    }
}

#[test]
fn the_two_readmes_give_the_same_commands_and_the_same_routes() {
    let read = |name: &str| std::fs::read_to_string(repository().join(name)).expect(name);
    let (english, portuguese) = (read("README.md"), read("README.pt-BR.md"));
    assert_eq!(commands(&english), commands(&portuguese));
    let routes = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.starts_with("| `"))
            .filter_map(|line| line.split('|').nth(1).map(|cell| cell.trim().to_owned()))
            .collect()
    };
    assert_eq!(routes(&english), routes(&portuguese));
    assert!(english.contains("(README.pt-BR.md)") && portuguese.contains("(README.md)"));
}

#[test]
fn the_two_contributing_guides_give_the_same_commands() {
    let read = |name: &str| std::fs::read_to_string(repository().join(name)).expect(name);
    let (english, portuguese) = (read("CONTRIBUTING.md"), read("CONTRIBUTING.pt-BR.md"));
    assert!(!commands(&english).is_empty());
    assert_eq!(commands(&english), commands(&portuguese));
    assert!(
        english.contains("(CONTRIBUTING.pt-BR.md)") && portuguese.contains("(CONTRIBUTING.md)")
    );
}

#[test]
fn the_shape_of_a_log_line_keeps_its_words_and_drops_its_numbers() {
    assert_eq!(
        shape("[2026-11-23T19:18:21Z INFO  x] req=f1566ecc8e57 GET / 200 10.8ms view visits=1"),
        "[#-#-#T#:#:#Z INFO  x] GET / # #ms view visits=#"
    );
}

/// The test functions of the integration test whose module is `module`
/// (`tests/api/MODULE.rs`, `tests/stack/MODULE.rs`, ...), by name.
fn test_functions(module: &str) -> Vec<String> {
    let found = ["api", "stack", "swarm", "helm"]
        .iter()
        .map(|binary| {
            repository()
                .join("tests")
                .join(binary)
                .join(format!("{module}.rs"))
        })
        .find(|path| path.is_file());
    let Some(path) = found else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(path).expect("the test module");
    text.lines()
        .filter_map(|line| {
            let rest = line
                .trim_start()
                .strip_prefix("async fn ")
                .or_else(|| line.trim_start().strip_prefix("fn "))?;
            rest.split('(').next().map(str::to_owned)
        })
        .collect()
}

#[test]
fn every_test_the_promises_name_exists() {
    let text =
        std::fs::read_to_string(repository().join("docs/promises.md")).expect("docs/promises.md");
    let named: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|code| {
            code.contains("::")
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || "_:*".contains(c))
        })
        .collect();
    assert!(named.len() > 40, "the promises name their tests: {named:?}");
    for name in named {
        let (module, test) = name.split_once("::").expect("module::test");
        let tests = test_functions(module);
        let exists = match test.strip_suffix('*') {
            Some(prefix) => tests.iter().any(|t| t.starts_with(prefix)),
            None => tests.iter().any(|t| t == test),
        };
        assert!(
            exists,
            "docs/promises.md names `{name}`, and there is no such test"
        );
    }
}

/// In the guided tours, each link to a line (`[`count_view`](../src/usecases.rs#L55)`)
/// lands on a line that holds the name its text gives; both tours link the same lines.
#[test]
fn the_tours_line_anchors_point_at_what_they_name() {
    let mut anchors_of = Vec::new();
    for tour in ["docs/tour.pt-BR.md", "docs/tour.md"] {
        let text = std::fs::read_to_string(repository().join(tour)).expect("the tour");
        let mut anchors = Vec::new();
        for (before, after) in text.split("](").zip(text.split("](").skip(1)) {
            let Some(target) = after.split(')').next() else {
                continue;
            };
            let Some((path, line)) = target.split_once("#L") else {
                continue;
            };
            let name = before
                .rsplit('[')
                .next()
                .unwrap_or_default()
                .trim_matches('`');
            let line: usize = line
                .parse()
                .unwrap_or_else(|_| panic!("{tour}: {target} is not a line anchor"));
            let file = repository().join("docs").join(path);
            let lines: Vec<String> = std::fs::read_to_string(&file)
                .unwrap_or_else(|_| panic!("{tour} links to {path}, which is not there"))
                .lines()
                .map(str::to_owned)
                .collect();
            let word = name.rsplit("::").next().unwrap_or(name);
            let defines = |text: &String| {
                ["fn ", "struct ", "const ", "macro "]
                    .iter()
                    .any(|kind| text.contains(&format!("{kind}{word}")))
            };
            let now = lines.iter().position(defines).map(|at| at + 1);
            assert!(
                lines.get(line - 1).is_some_and(|text| text.contains(word)),
                "{tour}: `{name}` is not on line {line} of {path} (defined on line {now:?})"
            );
            anchors.push((path.to_owned(), line, word.to_owned()));
        }
        assert!(anchors.len() >= 15, "{tour} walks the code stop by stop");
        anchors.sort();
        anchors_of.push(anchors);
    }
    assert_eq!(
        anchors_of[0], anchors_of[1],
        "both tours link the same lines"
    );
}
