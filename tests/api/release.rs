//! One version and one minimum Rust, wherever the repository states them.
//! Cargo.toml is the source: the image's labels, the chart and the changelog
//! follow its version (`tally --version` prints it, checked in process.rs; the
//! release workflow adds that the tag must be it), and every "Rust 1.NN" a
//! reader is told is its `rust-version`.
//! Likewise the store and balancer images: Compose, the Swarm stack, the chart
//! and the swarm test name the same ones, so an update of one (Dependabot
//! proposes them for compose.yaml) fails here until the others follow.

use std::path::PathBuf;

use serde_yaml_ng::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const MSRV: &str = env!("CARGO_PKG_RUST_VERSION");

fn read(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(file: &str) -> Value {
    serde_yaml_ng::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The value of the Dockerfile's `LABEL key="value"`, wherever it stands.
fn label(dockerfile: &str, key: &str) -> Option<String> {
    let start = dockerfile.find(&format!("{key}=\""))? + key.len() + 2;
    let value = &dockerfile[start..];
    Some(value[..value.find('"')?].to_owned())
}

#[test]
fn the_images_labels_carry_cargo_tomls_version_and_description() {
    let dockerfile = read("Dockerfile");
    let label = |key: &str| {
        label(&dockerfile, &format!("org.opencontainers.image.{key}"))
            .unwrap_or_else(|| panic!("the Dockerfile has no label org.opencontainers.image.{key}"))
    };
    assert_eq!(label("version"), VERSION, "the image's version label");
    assert_eq!(label("title"), env!("CARGO_PKG_NAME"));
    assert_eq!(label("description"), env!("CARGO_PKG_DESCRIPTION"));
    assert_eq!(label("licenses"), env!("CARGO_PKG_LICENSE"));
}

#[test]
fn the_chart_and_its_default_image_are_cargo_tomls_version() {
    let chart = yaml("deploy/helm/tally/Chart.yaml");
    assert_eq!(chart["appVersion"].as_str(), Some(VERSION), "appVersion");
    assert_eq!(
        chart["version"].as_str(),
        Some(VERSION),
        "the chart's version"
    );
    let values = yaml("deploy/helm/tally/values.yaml");
    assert_eq!(values["image"]["tag"].as_str(), Some(VERSION), "image.tag");
    // The guides' `helm install ... --set image.tag=X`.
    for guide in ["docs/cluster.md", "docs/cluster.pt-BR.md"] {
        let text = read(guide);
        let tags: Vec<&str> = text
            .split("image.tag=")
            .skip(1)
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        assert!(!tags.is_empty(), "{guide} sets no image.tag");
        assert!(tags.iter().all(|tag| *tag == VERSION), "{guide}: {tags:?}");
    }
}

#[test]
fn the_changelog_has_a_section_for_cargo_tomls_version() {
    let heading = format!("## [{VERSION}] - ");
    assert!(
        read("CHANGELOG.md")
            .lines()
            .any(|line| line.starts_with(&heading)),
        "CHANGELOG.md has no line starting {heading:?}"
    );
}

/// Every `1.NN` that follows `marker` in `text`.
fn versions_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.match_indices(marker)
        .map(|(at, _)| {
            let rest = &text[at + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        })
        .filter(|version| !version.is_empty())
        .collect()
}

#[test]
fn every_minimum_rust_a_reader_is_told_is_cargo_tomls_rust_version() {
    for (file, marker) in [
        ("README.md", "Rust "),
        ("README.pt-BR.md", "Rust "),
        ("CONTRIBUTING.md", "Rust "),
        ("CONTRIBUTING.pt-BR.md", "Rust "),
        ("Dockerfile", "MSRV is "),
    ] {
        let text = read(file);
        let found = versions_after(&text, marker);
        assert!(!found.is_empty(), "{file} names no minimum Rust");
        assert!(
            found.iter().all(|version| *version == MSRV),
            "{file} says {found:?}, Cargo.toml's rust-version is {MSRV}"
        );
    }
}

/// The images compose.yaml's cache, db and lb run.
fn compose_images() -> Vec<String> {
    let compose = yaml("compose.yaml");
    ["cache", "db", "lb"]
        .iter()
        .map(|service| {
            compose["services"][*service]["image"]
                .as_str()
                .unwrap_or_else(|| panic!("compose.yaml: {service} has no image"))
                .to_owned()
        })
        .collect()
}

#[test]
fn compose_swarm_and_the_chart_run_the_same_store_and_balancer_images() {
    let images = compose_images();
    let stack = yaml("deploy/swarm/stack.yaml");
    for (service, image) in ["cache", "db", "lb"].iter().zip(&images) {
        assert_eq!(
            stack["services"][*service]["image"].as_str(),
            Some(image.as_str()),
            "deploy/swarm/stack.yaml's {service}"
        );
    }
    let values = yaml("deploy/helm/tally/values.yaml");
    let chart_image = |key: &str| {
        let image = &values[key]["image"];
        format!(
            "{}:{}",
            image["repository"].as_str().unwrap_or_default(),
            image["tag"].as_str().unwrap_or_default()
        )
    };
    assert_eq!(chart_image("redis"), images[0], "the chart's redis.image");
    assert_eq!(
        chart_image("postgresql"),
        images[1],
        "the chart's postgresql.image"
    );
    // The swarm test copies these into its nested nodes by name.
    let swarm_test = read("tests/swarm/main.rs");
    for image in &images {
        assert!(
            swarm_test.contains(&format!("\"{image}\"")),
            "tests/swarm/main.rs does not load {image} into its nodes"
        );
    }
}

#[test]
fn a_label_is_read_from_a_line_continued_label_instruction() {
    let dockerfile = "LABEL a.b=\"one\" \\\n      a.c=\"two words\"\n";
    assert_eq!(label(dockerfile, "a.c").as_deref(), Some("two words"));
    assert_eq!(label(dockerfile, "a.d"), None);
    assert_eq!(
        versions_after("Rust 1.93 or later. Rust 1.94.", "Rust "),
        ["1.93", "1.94"]
    );
}
