//! More replicas: every one serves and is found by name, Prometheus scrapes each,
//! and restarts and scaling under load lose no request and miscount no view.

use std::time::{Duration, Instant};

use tokio::time::sleep;

use crate::load::Load;
use crate::page::get;
use crate::support::{StackTest, distinct, seconds_since, sorted, wait_until};

pub async fn scaled_to_three_every_replica_serves(t: &mut StackTest) {
    t.section("scale out to 3: every replica serves");
    scale(
        t,
        "docker compose up -d --wait --scale web=3",
        "scale 1 -> 3, healthy",
    )
    .await;
    let three = t.web_replicas_are(3).await;
    t.check("exactly 3 web replicas, running and healthy", three);
    t.doc_run("docker compose ps web").await;
    let walked = wait_until(t, Duration::from_secs(10), async |t| t.walks_all(9).await).await;
    t.check("all 3 replicas get traffic within 10 s", walked);
    let reloads = t
        .doc_run(r#"for i in 1 2 3 4 5 6; do curl -s "http://127.0.0.1:${TALLY_PORT:-8000}/api/stats"; echo; done"#)
        .await
        .output;
    let walked = distinct(
        reloads
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|json| json["served_by"].as_str().map(String::from)),
    );
    let hostnames = t.hostnames_of_web().await;
    t.check(
        format!("six reloads walk all 3 replicas ({})", walked.join(" ")),
        walked == hostnames,
    );
    let hosts = t
        .doc_run("docker compose exec cache getent hosts web")
        .await
        .output;
    let addresses = sorted(hosts.lines().filter_map(|line| {
        let mut fields = line.split_whitespace();
        let address = fields.next()?;
        (fields.next() == Some("web")).then(|| address.to_owned())
    }));
    let replicas = t.web_addresses("").await;
    t.check(
        format!(
            "the name web has the 3 replicas' addresses ({})",
            addresses.join(" ")
        ),
        addresses.len() == 3 && addresses == replicas,
    );
}

/// Runs a guide's scaling command and measures it.
async fn scale(t: &mut StackTest, command: &str, what: &str) {
    let started = Instant::now();
    t.doc_run(command).await;
    t.measured(format!("{what}: {} s", seconds_since(started)));
}

pub async fn prometheus_finds_every_replica(t: &mut StackTest) {
    t.section("monitoring: Prometheus finds every replica through DNS");
    scale(
        t,
        "docker compose --profile monitoring up -d --wait --scale web=3",
        "monitoring profile up, healthy",
    )
    .await;
    let prometheus = t.count_healthy("prometheus").await;
    t.check("prometheus running and healthy", prometheus == 1);
    let three = t.web_replicas_are(3).await;
    t.check("still exactly 3 web replicas", three);
    let port = t.stack.prometheus_port;
    let published = t
        .stack
        .stdout(
            t.stack
                .compose(&["--profile", "monitoring", "port", "prometheus", "9090"]),
        )
        .await;
    t.check(
        format!("prometheus publishes 127.0.0.1:{port} only (got {published})"),
        published == format!("127.0.0.1:{port}"),
    );
    let ids = t.running_ids("prometheus").await;
    let inspected = t
        .inspect(
            &ids,
            "ro={{.HostConfig.ReadonlyRootfs}} caps={{.HostConfig.CapDrop}}",
        )
        .await;
    t.check(
        format!("prometheus: read-only root, every capability dropped ({inspected})"),
        inspected == "ro=true caps=[ALL]",
    );
    let mut up = Vec::new();
    let all_up = wait_until(t, Duration::from_secs(30), async |t| {
        up = targets_up(t).await;
        !up.is_empty() && up == t.web_addresses(":8000").await
    })
    .await;
    t.check(
        "Prometheus scrapes each of the 3 replicas, all up, within 30 s",
        all_up,
    );
    t.log(format!("targets up: {}", up.join(" ")));
    the_guides_queries_answer(t).await;
    t.doc_run("docker compose --profile monitoring down").await;
    let left = t.all_ids(None).await.len();
    t.check(
        format!("down with the profile leaves no container (found {left})"),
        left == 0,
    );
    let networks = t.project_objects("network").await;
    t.check("and no network", networks.is_empty());
    // Back to three replicas for the cases under load (the volume kept the log).
    t.compose(&["up", "-d", "--wait", "--scale", "web=3"]).await;
    let three = t.web_replicas_are(3).await;
    t.check("3 web replicas running and healthy again", three);
}

/// The targets Prometheus has up, as the guide's command shows them, sorted.
async fn targets_up(t: &mut StackTest) -> Vec<String> {
    let ran = t
        .doc_run(
            r#"curl -s "http://127.0.0.1:${PROMETHEUS_PORT:-9090}/api/v1/targets?state=active""#,
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&ran.output).unwrap_or_default();
    let up = json["data"]["activeTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|target| target["health"] == "up")
        .filter_map(|target| target["labels"]["instance"].as_str().map(String::from));
    distinct(up)
}

/// The guide's queries, run as its UI would run them, after a little traffic.
async fn the_guides_queries_answer(t: &mut StackTest) {
    for pause in [12, 6] {
        for _ in 0..30 {
            t.fetch("/").await;
        }
        sleep(Duration::from_secs(pause)).await;
    }
    let guide =
        std::fs::read_to_string(t.stack.work.join("docs/containers.md")).unwrap_or_default();
    let queries = promql_lines(&guide);
    t.check(
        format!("the guide gives three queries (found {})", queries.len()),
        queries.len() == 3,
    );
    let mut per_replica = Vec::new();
    for (n, query) in queries.iter().enumerate() {
        let answer = query_prometheus(t, query).await;
        let results = answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let series = results
            .iter()
            .filter(|result| {
                result["value"][1]
                    .as_str()
                    .and_then(|value| value.parse::<f64>().ok())
                    .is_some_and(f64::is_finite)
            })
            .count();
        t.check(
            format!("query answers with numbers ({series} series): {query}"),
            answer["status"] == "success" && series >= 1,
        );
        if n == 0 {
            per_replica = sorted(
                results
                    .iter()
                    .filter_map(|result| result["metric"]["instance"].as_str().map(String::from)),
            );
        }
    }
    let targets = t.web_addresses(":8000").await;
    t.check(
        format!(
            "views per second has one series per replica ({})",
            per_replica.join(" ")
        ),
        per_replica == targets,
    );
}

/// The lines of the guide's ```promql blocks.
fn promql_lines(guide: &str) -> Vec<String> {
    let mut inside = false;
    let mut queries = Vec::new();
    for line in guide.lines() {
        match line {
            "```promql" => inside = true,
            "```" => inside = false,
            _ if inside => queries.push(line.to_owned()),
            _ => {}
        }
    }
    queries
}

async fn query_prometheus(t: &StackTest, query: &str) -> serde_json::Value {
    let url = format!("http://127.0.0.1:{}/api/v1/query", t.stack.prometheus_port);
    let Ok(url) = reqwest::Url::parse_with_params(&url, [("query", query)]) else {
        return serde_json::Value::Null;
    };
    let (_, _, body) = get(&t.http, url.as_str(), None).await;
    serde_json::from_str(&body).unwrap_or_default()
}

pub async fn each_replica_stopped_and_started_under_load(t: &mut StackTest) {
    t.section("under load: each replica stopped and started in turn");
    let load = t.load_start("stop/start each replica").await;
    for id in t.running_ids("web").await {
        let name = t.inspect(std::slice::from_ref(&id), "{{.Name}}").await;
        let name = name.trim_start_matches('/');
        t.log(format!("docker stop {name} && docker start {name}"));
        t.docker(&["stop", &id]).await;
        t.docker(&["start", &id]).await;
        let healthy = wait_until(t, Duration::from_secs(30), async |t| {
            t.health_of(&id).await == "healthy"
        })
        .await;
        if !healthy {
            t.fail(format!("{name} not healthy 30 s after docker start"));
        }
        sleep(Duration::from_secs(2)).await;
    }
    t.load_stop(load).await;
}

pub async fn the_guides_rolling_restart_under_load(t: &mut StackTest) {
    t.section("under load: the guide's rolling restart");
    let load = t.load_start("rolling restart").await;
    let started = Instant::now();
    t.doc_run_within(
        r#"for id in $(docker compose ps -q web); do
  docker restart "$id"
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do sleep 1; done
  sleep 2
done"#,
        180,
    )
    .await;
    t.measured(format!(
        "rolling restart of 3 replicas: {} s",
        seconds_since(started)
    ));
    t.load_stop(load).await;
    let three = t.web_replicas_are(3).await;
    t.check(
        "3 web replicas running and healthy after the rolling restart",
        three,
    );
}

pub async fn scaled_3_5_1_under_load(t: &mut StackTest) {
    t.section("under load: scale 3 -> 5 -> 1");
    let mut load = t.load_start("scale 3 -> 5 -> 1").await;
    scale(
        t,
        "docker compose up -d --wait --scale web=5",
        "scale 3 -> 5, healthy",
    )
    .await;
    let five = t.web_replicas_are(5).await;
    t.check("exactly 5 web replicas, running and healthy", five);
    // From the clients' own record: every replica answered some of their pages
    // in the 10 s after the scale-up returned.
    served_by_the_running_replicas(t, &mut load, 10, |served| {
        format!(
            "the 2 new replicas get traffic within 10 s (served: {} of 5)",
            served.len()
        )
    })
    .await;
    scale(
        t,
        "docker compose up -d --wait --scale web=1",
        "scale 5 -> 1",
    )
    .await;
    let one = t.web_replicas_are(1).await;
    t.check("exactly 1 web replica, running and healthy", one);
    served_by_the_running_replicas(t, &mut load, 5, |served| {
        format!(
            "removed replicas get no traffic: every page since came from the one left ({})",
            served.join(" ")
        )
    })
    .await;
    t.load_stop(load).await;
}

/// The clients' pages of the next `seconds` came from exactly the running replicas.
async fn served_by_the_running_replicas(
    t: &mut StackTest,
    load: &mut Load,
    seconds: u64,
    what: impl Fn(&[String]) -> String,
) {
    load.mark();
    sleep(Duration::from_secs(seconds)).await;
    let served = load.served_since_mark();
    let hostnames = t.hostnames_of_web().await;
    t.check(what(&served), served == hostnames);
}
