//! The Helm chart's manifests, rendered by `helm template` and read back: what a
//! cluster would be given, checked without one. scripts/check-helm.sh runs this
//! (`cargo test --test helm`) with `HELM` pointing at its helm; not part of the
//! plain `cargo test`, which needs no helm.

use std::process::Command;

use serde_yaml_ng::Value;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/helm/tally");
const PASSWORD: &str = "s3cret-Pa$$word-never-in-env";

/// `helm template` with these `--set` values: its stdout, or its stderr as the error.
fn render(sets: &[&str]) -> Result<String, String> {
    let helm = std::env::var("HELM").unwrap_or_else(|_| "helm".to_owned());
    let mut command = Command::new(&helm);
    command.args(["template", "tally", CHART, "--namespace", "tally"]);
    for set in sets {
        command.args(["--set", set]);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{helm} runs (set HELM to its path): {e}"));
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).expect("UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The rendered documents, each a manifest.
fn manifests(sets: &[&str]) -> Vec<Value> {
    let text = render(sets).expect("helm template renders");
    text.split("\n---")
        .filter_map(|doc| serde_yaml_ng::from_str::<Value>(doc).ok())
        .filter(|doc| doc.get("kind").is_some())
        .collect()
}

fn find<'a>(manifests: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    manifests
        .iter()
        .find(|m| m["kind"].as_str() == Some(kind) && m["metadata"]["name"].as_str() == Some(name))
}

fn web(manifests: &[Value]) -> &Value {
    find(manifests, "Deployment", "tally-web").expect("the web Deployment")
}

/// Every pod template's spec, with the manifest's kind and name.
fn pod_specs(manifests: &[Value]) -> Vec<(String, &Value)> {
    manifests
        .iter()
        .filter(|m| m["spec"]["template"]["spec"].is_mapping())
        .map(|m| {
            let name = format!(
                "{} {}",
                m["kind"].as_str().unwrap_or("?"),
                m["metadata"]["name"].as_str().unwrap_or("?")
            );
            (name, &m["spec"]["template"]["spec"])
        })
        .collect()
}

fn containers(pod: &Value) -> Vec<&Value> {
    pod["containers"]
        .as_sequence()
        .expect("containers")
        .iter()
        .collect()
}

/// The value of environment variable `name` in `container`.
fn env<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|var| var["name"].as_str() == Some(name))
        .and_then(|var| var["value"].as_str())
}

fn seconds(container: &Value, name: &str, default: i64) -> i64 {
    env(container, name).map_or(default, |v| v.parse().expect("a number of seconds"))
}

#[test]
fn web_probes_liveness_on_healthz_and_readiness_on_readyz() {
    let all = manifests(&[]);
    let spec = &web(&all)["spec"]["template"]["spec"];
    let container = containers(spec)[0];
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"]["port"].as_str(),
        Some("http")
    );
}

#[test]
fn a_rolling_update_never_takes_a_ready_replica_away_first() {
    let all = manifests(&[]);
    let strategy = &web(&all)["spec"]["strategy"];
    assert_eq!(strategy["type"].as_str(), Some("RollingUpdate"));
    assert_eq!(
        strategy["rollingUpdate"]["maxUnavailable"].as_i64(),
        Some(0)
    );
    let pdb = find(&all, "PodDisruptionBudget", "tally-web").expect("a PodDisruptionBudget");
    assert_eq!(pdb["spec"]["selector"], web(&all)["spec"]["selector"]);
}

#[test]
fn the_grace_period_is_above_drain_plus_shutdown() {
    for sets in [
        &[][..],
        &[
            "settings.DRAIN_DELAY_SECS=10",
            "terminationGracePeriodSeconds=30",
        ][..],
    ] {
        let all = manifests(sets);
        let spec = &web(&all)["spec"]["template"]["spec"];
        let container = containers(spec)[0];
        let grace = spec["terminationGracePeriodSeconds"]
            .as_i64()
            .expect("a grace period");
        let budget = seconds(container, "DRAIN_DELAY_SECS", 3)
            + seconds(container, "SHUTDOWN_TIMEOUT_SECS", 5);
        assert!(
            grace > budget,
            "grace {grace} s, drain + shutdown {budget} s, with {sets:?}"
        );
    }
    let refused = render(&["settings.DRAIN_DELAY_SECS=10"])
        .expect_err("a grace period below drain + shutdown is refused");
    assert!(
        refused.contains("terminationGracePeriodSeconds"),
        "{refused}"
    );
}

#[test]
fn the_password_is_a_mounted_secret_file_and_in_no_environment() {
    let set = format!("database.password={PASSWORD}");
    let all = manifests(&[&set]);
    let rendered = render(&[&set]).expect("renders");
    let secret = find(&all, "Secret", "tally-database").expect("the Secret");
    let encoded = secret["data"]["password"].as_str().expect("data.password");
    assert!(
        !rendered.contains(PASSWORD),
        "the password is in the manifests in clear"
    );
    for (name, pod) in pod_specs(&all) {
        for container in containers(pod) {
            for var in container["env"].as_sequence().into_iter().flatten() {
                let value = serde_yaml_ng::to_string(var).expect("YAML");
                assert!(!value.contains(encoded), "{name}: {value}");
                let key = var["name"].as_str().unwrap_or_default();
                assert!(
                    !key.contains("PASSWORD") || key.ends_with("_FILE"),
                    "{name}: {key}"
                );
                assert!(
                    var.get("valueFrom").is_none(),
                    "{name}: {key} comes from a Secret into the environment"
                );
            }
        }
    }
    let spec = &web(&all)["spec"]["template"]["spec"];
    let container = containers(spec)[0];
    let file = env(container, "DATABASE_PASSWORD_FILE").expect("DATABASE_PASSWORD_FILE");
    let mount = container["volumeMounts"]
        .as_sequence()
        .expect("mounts")
        .iter()
        .find(|m| file.starts_with(m["mountPath"].as_str().unwrap_or("-")))
        .expect("the password file is on a mount");
    let volume = spec["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mount's volume");
    assert_eq!(
        volume["secret"]["secretName"].as_str(),
        Some("tally-database")
    );
    let url = env(container, "DATABASE_URL").expect("DATABASE_URL");
    assert_eq!(url, "postgres://tally@tally-postgresql:5432/tally");
}

#[test]
fn every_container_runs_non_root_on_a_read_only_root_without_capabilities() {
    let all = manifests(&[]);
    let pods = pod_specs(&all);
    assert_eq!(pods.len(), 3, "web, PostgreSQL and Redis");
    for (name, pod) in pods {
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"].as_bool(),
            Some(true),
            "{name}"
        );
        assert_eq!(
            pod["automountServiceAccountToken"].as_bool(),
            Some(false),
            "{name}"
        );
        for container in containers(pod) {
            let security = &container["securityContext"];
            assert_eq!(
                security["readOnlyRootFilesystem"].as_bool(),
                Some(true),
                "{name}"
            );
            assert_eq!(
                security["allowPrivilegeEscalation"].as_bool(),
                Some(false),
                "{name}"
            );
            assert_eq!(
                security["capabilities"]["drop"][0].as_str(),
                Some("ALL"),
                "{name}"
            );
            assert!(security["capabilities"].get("add").is_none(), "{name}");
            assert!(
                container["resources"]["limits"]["memory"].is_string(),
                "{name}"
            );
        }
    }
}

#[test]
fn external_stores_replace_the_charts_own_by_url() {
    let all = manifests(&[
        "postgresql.enabled=false",
        "redis.enabled=false",
        "externalDatabase.url=postgres://tally@db.example.internal:5432/tally",
        "externalRedis.url=redis://cache.example.internal:6379",
    ]);
    assert_eq!(pod_specs(&all).len(), 1, "only web runs");
    let container = containers(&web(&all)["spec"]["template"]["spec"])[0];
    assert_eq!(
        env(container, "DATABASE_URL"),
        Some("postgres://tally@db.example.internal:5432/tally")
    );
    assert_eq!(
        env(container, "REDIS_URL"),
        Some("redis://cache.example.internal:6379")
    );
    let missing = render(&["postgresql.enabled=false"]).expect_err("no database is refused");
    assert!(missing.contains("externalDatabase.url"), "{missing}");
}

#[test]
fn the_autoscaler_and_the_ingress_come_only_when_asked_for() {
    let plain = manifests(&[]);
    assert!(find(&plain, "HorizontalPodAutoscaler", "tally-web").is_none());
    assert!(find(&plain, "Ingress", "tally-web").is_none());
    let all = manifests(&["autoscaling.enabled=true", "ingress.enabled=true"]);
    let hpa = find(&all, "HorizontalPodAutoscaler", "tally-web").expect("the autoscaler");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"].as_str(),
        Some("tally-web")
    );
    // The autoscaler owns the replica count; the Deployment leaving it out keeps
    // an upgrade from resetting it.
    assert!(web(&all)["spec"].get("replicas").is_none());
    let ingress = find(&all, "Ingress", "tally-web").expect("the Ingress");
    let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    assert_eq!(backend["name"].as_str(), Some("tally-web"));
}
