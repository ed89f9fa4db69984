//! The container files against the contract's "Containers" section, read
//! statically: no Docker engine runs where these tests run. Each test reads
//! `compose.yaml`, the `Dockerfile`, `.dockerignore` or `.env.example` from the
//! repository and fails on what an operator would send back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_yaml_ng::Value;
use tally::config::Settings;

// ---- compose.yaml: the services ----------------------------------------------

#[test]
fn compose_runs_web_db_and_cache_and_nothing_else() {
    let compose = compose();
    assert_eq!(compose.get("name").and_then(Value::as_str), Some("tally"));
    let names: BTreeSet<&str> = services(&compose).keys().copied().collect();
    assert_eq!(names, BTreeSet::from(["cache", "db", "web"]));
}

#[test]
fn web_is_built_from_the_dockerfile_and_the_stores_run_pinned_images() {
    let compose = compose();
    let web = service(&compose, "web");
    let context = match web.get("build") {
        Some(Value::String(context)) => context.as_str(),
        Some(build) => build.get("context").and_then(Value::as_str).unwrap_or(""),
        None => panic!("web has no build"),
    };
    assert_eq!(context, ".", "web must be built from the repository root");
    assert!(
        web.get("image").is_none(),
        "a bare image name could be pulled from a registry"
    );
    for (name, image) in [("db", "postgres"), ("cache", "redis")] {
        let (repo, major) = image_major(service(&compose, name));
        assert_eq!(repo, image, "{name}");
        assert!(major > 0, "{name} must pin a major version");
    }
}

#[test]
fn every_service_restarts_unless_stopped() {
    let compose = compose();
    for (name, service) in services(&compose) {
        assert_eq!(
            service.get("restart").and_then(Value::as_str),
            Some("unless-stopped"),
            "{name}"
        );
    }
}

#[test]
fn every_service_has_a_healthcheck() {
    let compose = compose();
    for (name, service) in services(&compose) {
        let check = healthcheck_test(service);
        assert!(
            matches!(check.first().map(String::as_str), Some("CMD" | "CMD-SHELL")),
            "{name}: healthcheck test {check:?}"
        );
        assert!(
            service
                .get("healthcheck")
                .and_then(|h| h.get("disable"))
                .is_none(),
            "{name}"
        );
    }
}

#[test]
fn the_db_healthcheck_asks_postgres_over_tcp_as_its_own_user() {
    let compose = compose();
    let db = service(&compose, "db");
    let check = healthcheck_test(db);
    assert_eq!(check[..2], ["CMD", "pg_isready"], "{check:?}");
    assert_eq!(flag(&check, "-h"), Some("127.0.0.1"), "{check:?}");
    let env = environment(db, &no_env_file());
    assert_eq!(
        flag(&check, "-U"),
        env.get("POSTGRES_USER").map(String::as_str)
    );
    assert_eq!(
        flag(&check, "-d"),
        env.get("POSTGRES_DB").map(String::as_str)
    );
}

#[test]
fn the_cache_healthcheck_waits_for_pong() {
    let compose = compose();
    let check = healthcheck_test(service(&compose, "cache"));
    assert_eq!(check[0], "CMD-SHELL", "a pipe needs a shell: {check:?}");
    let script = check[1..].join(" ");
    assert!(script.contains("redis-cli ping"), "{script}");
    assert!(script.contains("grep -q PONG"), "{script}");
}

#[test]
fn the_web_healthcheck_runs_tally_healthcheck() {
    let compose = compose();
    let check = healthcheck_test(service(&compose, "web"));
    let entrypoint = dockerfile().final_stage().exec_form("ENTRYPOINT");
    assert_eq!(check, ["CMD", entrypoint[0].as_str(), "healthcheck"]);
}

#[test]
fn web_waits_for_healthy_db_and_cache() {
    let compose = compose();
    let depends_on = service(&compose, "web")
        .get("depends_on")
        .and_then(Value::as_mapping)
        .expect("web.depends_on must be a mapping with conditions");
    let names: BTreeSet<&str> = depends_on.keys().filter_map(Value::as_str).collect();
    assert_eq!(names, BTreeSet::from(["cache", "db"]));
    for (name, dependency) in depends_on {
        let name = name.as_str().unwrap_or_default();
        assert_eq!(
            dependency.get("condition").and_then(Value::as_str),
            Some("service_healthy"),
            "{name}"
        );
        assert_eq!(
            dependency.get("restart").and_then(Value::as_bool),
            Some(true),
            "{name}"
        );
    }
}

#[test]
fn only_web_publishes_a_port_and_on_loopback() {
    let compose = compose();
    for (name, service) in services(&compose) {
        assert!(
            service.get("network_mode").is_none(),
            "{name} must stay on the compose network"
        );
        if name != "web" {
            assert!(service.get("ports").is_none(), "{name} publishes a port");
        }
    }
    let ports = service(&compose, "web")
        .get("ports")
        .and_then(Value::as_sequence)
        .expect("web publishes its port");
    let published: Vec<String> = ports
        .iter()
        .map(|port| interpolate(port.as_str().expect("short port syntax"), &no_env_file()))
        .collect();
    assert_eq!(published, ["127.0.0.1:8000:8000"]);
    assert_eq!(dockerfile().final_stage().args("EXPOSE"), ["8000"]);
}

#[test]
fn the_published_port_comes_from_tally_port() {
    let compose = compose();
    let port = service(&compose, "web")["ports"][0]
        .as_str()
        .expect("short port syntax")
        .to_owned();
    let env_file = BTreeMap::from([("TALLY_PORT".to_owned(), "9090".to_owned())]);
    assert_eq!(interpolate(&port, &env_file), "127.0.0.1:9090:8000");
}

#[test]
fn postgres_keeps_its_data_in_a_named_volume() {
    let compose = compose();
    let db = service(&compose, "db");
    let (_, major) = image_major(db);
    let data_path = if major >= 18 {
        "/var/lib/postgresql"
    } else {
        "/var/lib/postgresql/data"
    };
    let mounts: Vec<&str> = db
        .get("volumes")
        .and_then(Value::as_sequence)
        .expect("db has volumes")
        .iter()
        .map(|mount| mount.as_str().expect("short volume syntax"))
        .collect();
    let (source, target) = mounts
        .iter()
        .find_map(|mount| mount.split_once(':'))
        .expect("db mounts a volume");
    assert_eq!(
        target, data_path,
        "postgres:{major} keeps its data elsewhere"
    );
    assert!(
        !source.starts_with(['.', '/', '~', '$']),
        "{source} is a bind mount, not a named volume"
    );
    let declared = compose
        .get("volumes")
        .and_then(Value::as_mapping)
        .expect("top-level volumes");
    assert!(
        declared.contains_key(source),
        "{source} is not under volumes:"
    );
}

#[test]
fn the_cache_keeps_nothing_on_disk() {
    let compose = compose();
    let cache = service(&compose, "cache");
    assert!(
        cache.get("volumes").is_none(),
        "the counter is meant to be ephemeral"
    );
    let command = strings(cache.get("command").expect("cache has a command"));
    assert_eq!(flag(&command, "--save"), Some(""), "{command:?}");
    assert_eq!(flag(&command, "--appendonly"), Some("no"), "{command:?}");
}

#[test]
fn the_services_share_one_private_network() {
    let compose = compose();
    let declared = compose
        .get("networks")
        .and_then(Value::as_mapping)
        .expect("top-level networks");
    for (name, service) in services(&compose) {
        let networks = strings(service.get("networks").expect("networks"));
        assert_eq!(networks.len(), 1, "{name}: {networks:?}");
        let network = declared
            .get(networks[0].as_str())
            .unwrap_or_else(|| panic!("{name}: {} is not declared", networks[0]));
        assert!(
            network.get("external").is_none(),
            "{} must be the stack's own",
            networks[0]
        );
    }
    let first = |name| strings(&service(&compose, name)["networks"]);
    assert_eq!(first("web"), first("db"));
    assert_eq!(first("web"), first("cache"));
}

#[test]
fn web_reaches_the_stores_by_service_name_without_an_env_file() {
    let compose = compose();
    let settings = web_settings(&compose, &no_env_file());
    assert_eq!(settings.database_addr(), "db:5432");
    assert_eq!(settings.redis_addr(), "cache:6379");
    assert_eq!(settings.port, 8000);
    assert_eq!(settings.host, "0.0.0.0");
    let db = environment(service(&compose, "db"), &no_env_file());
    assert_eq!(
        settings.database.get_user(),
        db.get("POSTGRES_USER").map(String::as_str)
    );
    assert_eq!(
        settings.database.get_dbname(),
        db.get("POSTGRES_DB").map(String::as_str)
    );
}

#[test]
fn the_postgres_password_from_env_reaches_both_db_and_web() {
    let compose = compose();
    let env_file = BTreeMap::from([("POSTGRES_PASSWORD".to_owned(), "0c9e8d1f2b7a".to_owned())]);
    let settings = web_settings(&compose, &env_file);
    assert_eq!(settings.database.get_password(), Some(&b"0c9e8d1f2b7a"[..]));
    let db = environment(service(&compose, "db"), &env_file);
    assert_eq!(db["POSTGRES_PASSWORD"], "0c9e8d1f2b7a");
}

#[test]
fn compose_needs_no_env_file() {
    let compose = compose();
    for reference in interpolations(&compose) {
        assert!(
            reference.default.is_some(),
            "${{{}}} has no default, so compose needs a .env",
            reference.name
        );
    }
}

#[test]
fn web_stops_within_its_grace_period() {
    let compose = compose();
    let web = service(&compose, "web");
    let grace = duration(
        web.get("stop_grace_period")
            .and_then(Value::as_str)
            .expect("web sets stop_grace_period"),
    );
    let shutdown = web_settings(&compose, &no_env_file()).shutdown_timeout;
    assert!(
        grace > shutdown,
        "stop_grace_period {grace:?} must exceed the shutdown timeout {shutdown:?}"
    );
}

#[test]
fn every_service_rotates_its_logs() {
    let compose = compose();
    for (name, service) in services(&compose) {
        let logging = service.get("logging").expect("logging");
        assert_eq!(logging["driver"].as_str(), Some("json-file"), "{name}");
        let options = &logging["options"];
        assert!(options["max-size"].as_str().is_some(), "{name}: max-size");
        assert!(options["max-file"].as_str().is_some(), "{name}: max-file");
    }
}

// ---- Dockerfile ---------------------------------------------------------------

#[test]
fn the_image_is_built_in_stages_on_a_rust_at_or_above_the_msrv() {
    let dockerfile = dockerfile();
    assert!(
        dockerfile.stages.len() >= 2,
        "a builder and a runtime stage"
    );
    let builder = &dockerfile.stages[0];
    let image = builder.args("FROM")[0].clone();
    let version = image
        .strip_prefix("rust:")
        .and_then(|tag| tag.strip_suffix("-slim-bookworm"))
        .unwrap_or_else(|| panic!("{image} is not rust:<version>-slim-bookworm"));
    let msrv = cargo_toml_value("rust-version");
    assert!(
        version_parts(version) >= version_parts(&msrv),
        "{image} is below the MSRV {msrv}"
    );
    assert!(
        version.split('.').count() >= 2,
        "{image} must pin a version"
    );
}

#[test]
fn the_dependencies_are_built_before_the_sources_are_copied() {
    let builder = &dockerfile().stages[0];
    let position =
        |wanted: &dyn Fn(&Instruction) -> bool| builder.instructions.iter().position(wanted);
    let manifests = position(&|i| i.is("COPY") && i.rest.starts_with("Cargo.toml Cargo.lock"))
        .expect("COPY Cargo.toml Cargo.lock");
    let sources = position(&|i| i.is("COPY") && i.rest.starts_with("src ")).expect("COPY src");
    let builds: Vec<usize> = builder
        .instructions
        .iter()
        .enumerate()
        .filter(|(_, i)| i.is("RUN") && i.rest.contains("cargo build --release --locked"))
        .map(|(at, _)| at)
        .collect();
    assert!(
        builds.iter().any(|&at| manifests < at && at < sources),
        "no dependency build between the manifests and the sources"
    );
    assert!(
        builds.iter().any(|&at| at > sources),
        "no build of the real sources"
    );
    for needed in ["templates", "migrations"] {
        let copied = position(&|i| i.is("COPY") && i.rest.starts_with(&format!("{needed} ")));
        assert!(
            copied.is_some_and(|at| at < *builds.last().unwrap_or(&0)),
            "{needed}/ is compiled in and must be copied before the build"
        );
    }
}

#[test]
fn the_runtime_holds_only_the_binary_and_static_files() {
    let dockerfile = dockerfile();
    let runtime = dockerfile.final_stage();
    let image = &runtime.args("FROM")[0];
    assert!(
        image == "debian:bookworm-slim" || image == "gcr.io/distroless/cc-debian12:nonroot",
        "{image}"
    );
    let copies: Vec<&Instruction> = runtime
        .instructions
        .iter()
        .filter(|i| i.is("COPY"))
        .collect();
    assert_eq!(copies.len(), 2, "{copies:?}");
    let builder_name = dockerfile.stages[0]
        .args("FROM")
        .get(2)
        .cloned()
        .unwrap_or_default();
    let binary = copies[0].words();
    assert_eq!(binary[0], format!("--from={builder_name}"));
    assert!(binary[1].ends_with("/target/release/tally"), "{binary:?}");
    let entrypoint = runtime.exec_form("ENTRYPOINT");
    assert_eq!(
        binary[2], entrypoint[0],
        "ENTRYPOINT runs the copied binary"
    );
    let statics = copies[1].words();
    assert_eq!(statics[0], "static");
    // The binary finds its static files where STATIC_DIR (or its default) points.
    let workdir = runtime.args("WORKDIR").first().cloned().unwrap_or_default();
    let static_dir = runtime
        .env("STATIC_DIR")
        .unwrap_or_else(|| format!("{workdir}/{}", default_of("STATIC_DIR")));
    assert_eq!(statics[1].trim_end_matches('/'), static_dir);
}

#[test]
fn the_image_runs_as_a_numeric_non_root_user() {
    let user = dockerfile()
        .final_stage()
        .args("USER")
        .first()
        .cloned()
        .expect("the final stage sets USER");
    for id in user.split(':') {
        let id: u32 = id
            .parse()
            .unwrap_or_else(|_| panic!("USER {user} is not numeric"));
        assert_ne!(id, 0, "USER {user} is root");
    }
}

#[test]
fn the_image_starts_tally_in_exec_form_and_checks_its_health() {
    let dockerfile = dockerfile();
    let runtime = dockerfile.final_stage();
    let entrypoint = runtime.exec_form("ENTRYPOINT");
    assert_eq!(entrypoint.len(), 1, "{entrypoint:?}");
    let healthcheck = runtime
        .instructions
        .iter()
        .find(|i| i.is("HEALTHCHECK"))
        .expect("HEALTHCHECK");
    let command = healthcheck
        .rest
        .split_once("CMD ")
        .expect("HEALTHCHECK CMD")
        .1;
    let command: Vec<String> = serde_json::from_str(command).expect("exec-form HEALTHCHECK");
    assert_eq!(command, [entrypoint[0].as_str(), "healthcheck"]);
}

// ---- .dockerignore, .gitignore -------------------------------------------------

#[test]
fn the_build_context_leaves_out_build_output_history_and_secrets() {
    let lines: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.trim_start_matches("**/").trim_matches('/').to_owned())
        .collect();
    let last_include = lines.iter().rposition(|line| line.starts_with('!'));
    for excluded in ["target", ".git", ".env"] {
        let at = lines
            .iter()
            .position(|line| line == excluded)
            .unwrap_or_else(|| panic!(".dockerignore does not exclude {excluded}"));
        assert!(
            last_include.is_none_or(|include| at > include),
            "a later ! line could let {excluded} back in"
        );
    }
    // With an allowlist (`*`), everything the Dockerfile copies must be let in.
    if lines.iter().any(|line| line == "*") {
        for instruction in dockerfile().stages.iter().flat_map(|s| &s.instructions) {
            let words = instruction.words();
            if !instruction.is("COPY") || words[0].starts_with("--") {
                continue;
            }
            for source in &words[..words.len() - 1] {
                assert!(
                    lines.contains(&format!("!{source}")),
                    ".dockerignore keeps out {source}, which the Dockerfile copies"
                );
            }
        }
    }
    assert!(
        read(".gitignore").lines().any(|line| line.trim() == ".env"),
        ".env must never be committed"
    );
}

// ---- .env.example ---------------------------------------------------------------

#[test]
fn env_example_lists_every_variable_the_binary_reads_with_its_default() {
    let example = env_example();
    for (name, default) in Settings::DEFAULTS {
        let entry = example
            .iter()
            .find(|entry| entry.name == *name)
            .unwrap_or_else(|| panic!(".env.example does not list {name}"));
        assert_eq!(entry.value, *default, "{name}");
    }
}

#[test]
fn env_example_names_only_what_the_binary_or_compose_reads() {
    let listed: BTreeSet<String> = env_example().into_iter().map(|entry| entry.name).collect();
    let mut read_somewhere: BTreeSet<String> = Settings::DEFAULTS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    read_somewhere.extend(interpolations(&compose()).into_iter().map(|r| r.name));
    assert_eq!(listed, read_somewhere);
}

#[test]
fn env_example_matches_the_compose_defaults() {
    let example: BTreeMap<String, String> = env_example()
        .into_iter()
        .map(|entry| (entry.name, entry.value))
        .collect();
    for reference in interpolations(&compose()) {
        match reference.default.as_deref() {
            // Empty: the binary's own default applies, checked above.
            None | Some("") => {}
            Some(default) => assert_eq!(example[&reference.name], default, "{}", reference.name),
        }
    }
}

#[test]
fn every_env_example_variable_has_a_comment_and_appears_once() {
    let text = read(".env.example");
    let lines: Vec<&str> = text.lines().collect();
    let mut seen = BTreeSet::new();
    for (at, line) in lines.iter().enumerate() {
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        if line.starts_with('#') {
            continue;
        }
        assert!(seen.insert(name), "{name} is listed twice");
        let above = at.checked_sub(1).map(|at| lines[at]).unwrap_or_default();
        assert!(
            above.starts_with("# ") && above.len() > 4,
            "{name} has no one-line comment above it"
        );
    }
}

// ---- helpers ----------------------------------------------------------------------

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compose() -> Value {
    serde_yaml_ng::from_str(&read("compose.yaml")).expect("compose.yaml is YAML")
}

fn services(compose: &Value) -> BTreeMap<&str, &Value> {
    compose
        .get("services")
        .and_then(Value::as_mapping)
        .expect("services")
        .iter()
        .map(|(name, service)| (name.as_str().expect("service name"), service))
        .collect()
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("no service {name}"))
}

/// `postgres:18` -> ("postgres", 18); 0 when the tag names no major version.
fn image_major(service: &Value) -> (String, u32) {
    let image = service.get("image").and_then(Value::as_str).expect("image");
    let (repo, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let major = tag
        .split(['.', '-'])
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    (repo.to_owned(), major)
}

/// A string or a list of strings, as compose allows for `command`, `networks`, ...
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Sequence(items) => items.iter().map(scalar).collect(),
        Value::Mapping(map) => map.keys().map(scalar).collect(),
        other => panic!("expected a string or a list, got {other:?}"),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

fn healthcheck_test(service: &Value) -> Vec<String> {
    let test = service
        .get("healthcheck")
        .and_then(|check| check.get("test"))
        .expect("healthcheck.test");
    strings(test)
}

/// The word after `name` in an argument list.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let at = args.iter().position(|arg| arg == name)?;
    args.get(at + 1).map(String::as_str)
}

/// A service's environment with compose's interpolation applied against `env_file`.
fn environment(service: &Value, env_file: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let Some(environment) = service.get("environment") else {
        return BTreeMap::new();
    };
    let pairs: Vec<(String, String)> = match environment {
        Value::Mapping(map) => map.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
        Value::Sequence(items) => items
            .iter()
            .map(|item| {
                let item = scalar(item);
                let (name, value) = item.split_once('=').unwrap_or((&item, ""));
                (name.to_owned(), value.to_owned())
            })
            .collect(),
        other => panic!("environment: {other:?}"),
    };
    pairs
        .into_iter()
        .map(|(name, value)| (name, interpolate(&value, env_file)))
        .collect()
}

/// The settings web would start with, given the contents of a `.env`.
fn web_settings(compose: &Value, env_file: &BTreeMap<String, String>) -> Settings {
    let env = environment(service(compose, "web"), env_file);
    for name in env.keys() {
        assert!(
            Settings::DEFAULTS.iter().any(|(known, _)| known == name),
            "web sets {name}, which tally does not read"
        );
    }
    Settings::from_lookup(|name| env.get(name).cloned())
        .unwrap_or_else(|e| panic!("web's environment does not parse: {e}"))
}

fn no_env_file() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn default_of(name: &str) -> &'static str {
    Settings::DEFAULTS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, default)| *default)
        .unwrap_or_else(|| panic!("{name} is not a setting"))
}

/// One `${NAME...}` or `$NAME` in compose.yaml, with its `:-`/`-` default if any.
#[derive(Debug)]
struct Reference {
    name: String,
    default: Option<String>,
    start: usize,
    end: usize,
}

/// Every variable reference in one string, skipping `$$` (a literal dollar).
fn references(text: &str) -> Vec<Reference> {
    let bytes = text.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'$' {
            at += 1;
            continue;
        }
        match bytes.get(at + 1) {
            Some(b'$') => at += 2,
            Some(b'{') => {
                let close = text[at..].find('}').expect("unclosed ${") + at;
                let inner = &text[at + 2..close];
                let name_len = inner.bytes().take_while(|&b| is_name(b)).count();
                let operator = &inner[name_len..];
                let default = operator
                    .strip_prefix(":-")
                    .or_else(|| operator.strip_prefix('-'))
                    .map(str::to_owned);
                found.push(Reference {
                    name: inner[..name_len].to_owned(),
                    default,
                    start: at,
                    end: close + 1,
                });
                at = close + 1;
            }
            Some(&b) if is_name(b) => {
                let name_len = bytes[at + 1..].iter().take_while(|&&b| is_name(b)).count();
                found.push(Reference {
                    name: text[at + 1..at + 1 + name_len].to_owned(),
                    default: None,
                    start: at,
                    end: at + 1 + name_len,
                });
                at += 1 + name_len;
            }
            _ => at += 1,
        }
    }
    found
}

/// Every variable compose.yaml interpolates, from its values (not its comments).
fn interpolations(compose: &Value) -> Vec<Reference> {
    fn walk(value: &Value, found: &mut Vec<Reference>) {
        match value {
            Value::String(text) => found.extend(references(text)),
            Value::Sequence(items) => items.iter().for_each(|item| walk(item, found)),
            Value::Mapping(map) => map.iter().for_each(|(key, item)| {
                walk(key, found);
                walk(item, found);
            }),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(compose, &mut found);
    found
}

/// What compose makes of `text` when `.env` holds `env_file` (and nothing is exported).
fn interpolate(text: &str, env_file: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut done = 0;
    for reference in references(text) {
        out.push_str(&text[done..reference.start]);
        let value = env_file
            .get(&reference.name)
            .filter(|value| !value.is_empty())
            .cloned()
            .or(reference.default)
            .unwrap_or_default();
        out.push_str(&value);
        done = reference.end;
    }
    out.push_str(&text[done..]);
    out.replace("$$", "$")
}

/// A compose duration such as `15s`, `1m30s` or `500ms`.
fn duration(text: &str) -> Duration {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount: u64 = rest[..digits]
            .parse()
            .unwrap_or_else(|_| panic!("duration {text}"));
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        total += match &rest[..unit_len] {
            "ms" => Duration::from_millis(amount),
            "s" => Duration::from_secs(amount),
            "m" => Duration::from_secs(amount * 60),
            "h" => Duration::from_secs(amount * 3600),
            unit => panic!("duration {text}: unit {unit:?}"),
        };
        rest = &rest[unit_len..];
    }
    total
}

fn cargo_toml_value(key: &str) -> String {
    read("Cargo.toml")
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once('=')?;
            (name.trim() == key).then(|| value.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| panic!("Cargo.toml has no {key}"))
}

fn version_parts(version: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = version
        .split('.')
        .map(|p| p.parse().expect("version"))
        .collect();
    parts.resize(3, 0);
    parts
}

/// One `NAME=value` of `.env.example`.
struct EnvEntry {
    name: String,
    value: String,
}

fn env_example() -> Vec<EnvEntry> {
    read(".env.example")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!(".env.example: {line:?} is not NAME=value"));
            EnvEntry {
                name: name.trim().to_owned(),
                value: value.trim().to_owned(),
            }
        })
        .collect()
}

/// A Dockerfile, split into stages of instructions.
struct Dockerfile {
    stages: Vec<Stage>,
}

struct Stage {
    instructions: Vec<Instruction>,
}

#[derive(Debug)]
struct Instruction {
    keyword: String,
    rest: String,
}

impl Instruction {
    fn is(&self, keyword: &str) -> bool {
        self.keyword == keyword
    }

    fn words(&self) -> Vec<String> {
        self.rest.split_whitespace().map(str::to_owned).collect()
    }
}

impl Dockerfile {
    fn final_stage(&self) -> &Stage {
        self.stages.last().expect("the Dockerfile has a FROM")
    }
}

impl Stage {
    /// The words of the last `keyword` instruction in this stage.
    fn args(&self, keyword: &str) -> Vec<String> {
        self.instructions
            .iter()
            .rfind(|i| i.is(keyword))
            .map(Instruction::words)
            .unwrap_or_default()
    }

    /// The JSON array of an exec-form instruction; fails on shell form.
    fn exec_form(&self, keyword: &str) -> Vec<String> {
        let instruction = self
            .instructions
            .iter()
            .rfind(|i| i.is(keyword))
            .unwrap_or_else(|| panic!("no {keyword}"));
        serde_json::from_str(&instruction.rest)
            .unwrap_or_else(|_| panic!("{keyword} {} is not exec form", instruction.rest))
    }

    fn env(&self, name: &str) -> Option<String> {
        self.instructions
            .iter()
            .filter(|i| i.is("ENV"))
            .flat_map(Instruction::words)
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                (key == name).then(|| value.to_owned())
            })
            .next_back()
    }
}

fn dockerfile() -> Dockerfile {
    let text = read("Dockerfile");
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => {
                current.push_str(start);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical.into_iter().filter(|line| !line.trim().is_empty()) {
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            rest: rest.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        if instruction.is("FROM") {
            stages.push(Stage {
                instructions: Vec::new(),
            });
        }
        stages
            .last_mut()
            .expect("the Dockerfile starts with FROM")
            .instructions
            .push(instruction);
    }
    Dockerfile { stages }
}
