//! The Compose guide's editing loop: `docker compose watch` with compose.dev.yaml
//! shows a word changed in the Rust code, a line added to the stylesheet and an
//! edit of the balancer's config, each by itself; then a plain `up` puts the
//! release build back, and watch on compose.yaml alone rebuilds that. The times
//! are printed with the other measured numbers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::stack::Background;
use crate::support::{StackTest, indented_tail, seconds_since, wait_until};

/// The guide's command: compose.yaml with the development file merged over it.
const WATCH: &str = "docker compose -f compose.yaml -f compose.dev.yaml watch";

/// The English tagline, a text of the page a user would change: each edit puts a
/// new word after these.
const TAGLINE: &str = "A cache and a database, side by side";

/// The first start builds the development image, every dependency compiled
/// once more in the dev profile unless the engine keeps them from an earlier run.
const FIRST_START_SECS: u64 = 900;

pub async fn watch_shows_each_edit_and_up_puts_the_release_build_back(t: &mut StackTest) {
    t.section("docker compose watch: a word, a stylesheet line, the balancer's config");
    let started = Instant::now();
    let what = "watch builds the development image and starts the stack";
    let Some(mut watch) = start_watch(t, WATCH, FIRST_START_SECS, what).await else {
        return;
    };
    t.measured(format!(
        "docker compose watch, until the page answers (the dev build): {} s",
        seconds_since(started)
    ));
    let dev_image = format!("{}-web:dev", t.stack.project);
    web_runs(t, "web runs the development image", &dev_image).await;

    a_word_in_the_rust_code_shows_on_the_page(t, "the dev build").await;
    a_stylesheet_line_is_served(t, "with no build", 10).await;
    the_balancers_config_restarts_it(t).await;

    t.check(
        "Ctrl-C stops watching within 20 s",
        watch.interrupt(Duration::from_secs(20)).await,
    );
    let started = Instant::now();
    t.doc_run("docker compose up --build -d --wait").await;
    t.measured(format!(
        "up --build after watch, back to the release build: {} s",
        seconds_since(started)
    ));
    let release = format!("{}-web", t.stack.project);
    web_runs(t, "a plain up runs the release image again", &release).await;
    let one = t.web_replicas_are(1).await;
    t.check("one web replica, running and healthy", one);
}

async fn a_word_in_the_rust_code_shows_on_the_page(t: &mut StackTest, build: &str) {
    let Some(file) = file_holding(&t.stack.work.join("src"), TAGLINE) else {
        t.fail(format!("no file under src/ holds the tagline {TAGLINE:?}"));
        return;
    };
    let word = format!("watched{}", token());
    let replaced = format!("{TAGLINE}, {word}");
    let before = t.running_ids("web").await;
    let started = Instant::now();
    if !edit(&file, TAGLINE, &replaced) {
        t.fail(format!("cannot edit {}", file.display()));
        return;
    }
    let shown = wait_until(t, Duration::from_secs(180), async |t| {
        t.fetch("/").await.1.contains(&word)
    })
    .await;
    t.check(
        format!("the page shows the word changed in {}", relative(t, &file)),
        shown,
    );
    if shown {
        t.measured(format!(
            "a word changed in Rust code, under watch ({build}), until the page shows it: {} s",
            seconds_since(started)
        ));
    }
    let after = t.running_ids("web").await;
    t.check(
        "watch replaced the web container",
        !after.is_empty() && after != before,
    );
}

/// Plain `docker compose watch`, compose.yaml's own rules: an edit of the Rust code
/// builds the release image again and replaces web; so does one under static/,
/// reusing the compiled binary.
pub async fn watch_on_compose_yaml_alone_rebuilds_the_release_image(t: &mut StackTest) {
    t.section("docker compose watch on compose.yaml alone: the release build");
    let what = "watch follows compose.yaml's rules";
    let Some(mut watch) = start_watch(t, "docker compose watch", 120, what).await else {
        return;
    };
    a_word_in_the_rust_code_shows_on_the_page(t, "the release build").await;
    let before = t.running_ids("web").await;
    a_stylesheet_line_is_served(t, "after the release image is built again", 120).await;
    let after = t.running_ids("web").await;
    t.check(
        "watch replaced the web container",
        !after.is_empty() && after != before,
    );
    let release = format!("{}-web", t.stack.project);
    web_runs(t, "web runs the release image", &release).await;
    t.check(
        "Ctrl-C stops watching within 20 s",
        watch.interrupt(Duration::from_secs(20)).await,
    );
}

/// Starts the guide's watch `command` and waits up to `limit_secs` for it to
/// watch with the page answering; checks that as `what`. The running watch, or
/// `None` (its output's tail printed) when it did not get there.
async fn start_watch(
    t: &mut StackTest,
    command: &str,
    limit_secs: u64,
    what: &str,
) -> Option<Background> {
    let mut watch = t.doc_background(command)?;
    let watching = wait_until(t, Duration::from_secs(limit_secs), async |t| {
        watch.has_exited() || (watch.output().contains("Watch enabled") && t.view().await.counts())
    })
    .await
        && !watch.has_exited();
    if !t.check(what, watching) {
        print!("{}", indented_tail(&watch.output(), 30));
        return None;
    }
    Some(watch)
}

async fn a_stylesheet_line_is_served(t: &mut StackTest, how: &str, within_secs: u64) {
    let file = t.stack.work.join("static/style.css");
    let line = format!("/* stack test {} */", token());
    let mut text = std::fs::read_to_string(&file).expect("static/style.css");
    let started = Instant::now();
    text.push_str(&format!("{line}\n"));
    std::fs::write(&file, text).expect("editing static/style.css");
    let served = wait_until(t, Duration::from_secs(within_secs), async |t| {
        t.fetch("/static/style.css").await.1.contains(&line)
    })
    .await;
    t.check(
        format!("the stylesheet's new line is served {how}, within {within_secs} s"),
        served,
    );
    if served {
        t.measured(format!(
            "a line added to static/style.css, until it is served {how}: {:.2} s",
            started.elapsed().as_secs_f64()
        ));
    }
}

async fn the_balancers_config_restarts_it(t: &mut StackTest) {
    let lb = t.first_running("lb").await;
    let ids = [lb];
    let before = t.inspect(&ids, "{{.State.StartedAt}}").await;
    let file = t.stack.work.join("lb/haproxy.cfg");
    let started = Instant::now();
    let edited = edit(&file, "string \"ok\" if", "string \"ok, edited\" if");
    let answered = edited
        && wait_until(t, Duration::from_secs(30), async |t| {
            t.fetch("/lb-health").await.1 == "ok, edited"
        })
        .await;
    t.check("an edit of lb/haproxy.cfg is served within 30 s", answered);
    if answered {
        t.measured(format!(
            "an edit of lb/haproxy.cfg, until the balancer serves it: {} s",
            seconds_since(started)
        ));
    }
    let after = t.inspect(&ids, "{{.State.StartedAt}}").await;
    t.check(
        "watch restarted lb (a new start time)",
        !after.is_empty() && after != before,
    );
}

/// Checks that web's running containers were created from `image`.
async fn web_runs(t: &mut StackTest, what: &str, image: &str) {
    let ids = t.running_ids("web").await;
    let images = if ids.is_empty() {
        String::new()
    } else {
        t.inspect(&ids, "{{.Config.Image}}").await
    };
    t.check(
        format!("{what}, {image} (got {images})"),
        !images.is_empty() && images.lines().all(|line| line.trim() == image),
    );
}

/// Replaces `from` with `to` in `file`, as an editor saving it would. Whether
/// `from` was there.
fn edit(file: &Path, from: &str, to: &str) -> bool {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    if !text.contains(from) {
        return false;
    }
    std::fs::write(file, text.replacen(from, to, 1)).expect("saving the edit");
    true
}

/// The first file under `dir` that holds `text`.
fn file_holding(dir: &Path, text: &str) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    entries.into_iter().find_map(|path| {
        if path.is_dir() {
            file_holding(&path, text)
        } else {
            std::fs::read_to_string(&path)
                .is_ok_and(|content| content.contains(text))
                .then_some(path)
        }
    })
}

/// Eight hex digits, for a text no earlier run has put on the page.
fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

fn relative(t: &StackTest, file: &Path) -> String {
    file.strip_prefix(&t.stack.work)
        .unwrap_or(file)
        .display()
        .to_string()
}
