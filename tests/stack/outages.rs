//! A store that exits, stops or stalls: Docker restarts what exited, the page
//! degrades instead of failing, and no web replica is taken out.

use std::time::{Duration, Instant};

use tokio::time::sleep;

use crate::page::{View, number};
use crate::support::{StackTest, seconds_since, wait_until};

pub async fn redis_made_to_exit_is_started_again(t: &mut StackTest) {
    t.section("restart policy: Redis made to exit is started again by Docker");
    let before = t.view().await.access;
    let cache = t.first_running("cache").await;
    t.doc_run("docker compose exec cache redis-cli shutdown")
        .await;
    let restarted = wait_until(t, Duration::from_secs(15), async |t| {
        restarted_healthy(t, &cache).await
    })
    .await;
    t.check(
        "the same cache container is restarted and healthy within 15 s",
        restarted,
    );
    let ps = t.doc_run("docker compose ps cache").await.output;
    t.check("docker compose ps shows cache Up", ps.contains(" Up "));
    let counting = wait_until(t, Duration::from_secs(10), StackTest::counting_again).await;
    t.check("counting resumes within 10 s", counting);
    let view = t.last_view.clone();
    t.check(
        format!("visits start again from 1 (got {})", view.visits),
        view.visits == "1",
    );
    t.check(
        format!("the access log carried on ({before} -> {})", view.access),
        matches!((number(&before), number(&view.access)), (Some(b), Some(a)) if a > b),
    );
}

/// Docker restarted the container at least once, and it is healthy.
async fn restarted_healthy(t: &StackTest, id: &str) -> bool {
    let restarts = t.inspect(&[id.to_owned()], "{{.RestartCount}}").await;
    restarts.parse::<u32>().unwrap_or(0) >= 1 && t.health_of(id).await == "healthy"
}

pub async fn stopping_the_cache_degrades_the_page(t: &mut StackTest) {
    t.section("stop the cache: the page degrades, web stays healthy");
    stop_and_see_the_page_degrade(
        t,
        "cache",
        ("visits", |view| &view.visits),
        ("the access log", |view| &view.access),
    )
    .await;
    let readyz = t.fetch("/readyz").await.0;
    t.check("/readyz still answers 200", readyz == 200);
    web_stays_healthy(t).await;
    let view = t.view().await;
    t.check(
        format!("the page still answers 200 (got {})", view.code),
        view.code == 200,
    );
    t.doc_run("docker compose start cache").await;
    let counting = wait_until(t, Duration::from_secs(10), StackTest::counting_again).await;
    t.check(
        "counting resumes within 10 s of the cache being back",
        counting,
    );
    let view = &t.last_view;
    t.log(format!(
        "visits {}, access total {}",
        view.visits, view.access
    ));
}

/// A number the page shows, by name, and how to read it off a view.
type Shown = (&'static str, fn(&View) -> &String);

/// Stops `service` (a guide command): the next page answers 200 with the
/// store's number `unavailable`, and the other number still counts.
async fn stop_and_see_the_page_degrade(t: &mut StackTest, service: &str, lost: Shown, kept: Shown) {
    let before = kept.1(&t.view().await).clone();
    t.doc_run(&format!("docker compose stop {service}")).await;
    let view = t.view().await;
    let (lost_name, lost) = (lost.0, lost.1(&view));
    t.check(
        format!(
            "page 200 with {lost_name} unavailable (got {}, {lost_name} {lost})",
            view.code
        ),
        view.code == 200 && lost == "unavailable",
    );
    let (kept_name, kept) = (kept.0, kept.1(&view));
    t.check(
        format!("{kept_name} still counts ({before} -> {kept})"),
        one_more(&before, kept),
    );
}

/// `after` is one more than `before`, both numbers.
pub fn one_more(before: &str, after: &str) -> bool {
    matches!((number(before), number(after)), (Some(b), Some(a)) if a == b + 1)
}

/// Several healthcheck intervals (2 s), more than retries x interval: web is
/// still healthy and ready.
async fn web_stays_healthy(t: &mut StackTest) {
    sleep(Duration::from_secs(10)).await;
    let web = t.first_running("web").await;
    let health = t.health_of(&web).await;
    t.check(
        format!("web still healthy after 10 s (health: {health})"),
        health == "healthy",
    );
    let readyz = t.fetch("/readyz").await.0;
    t.check("/readyz still answers 200 after 10 s", readyz == 200);
}

pub async fn stopping_the_database_degrades_the_page(t: &mut StackTest) {
    t.section("stop the database: the page degrades, web stays healthy");
    stop_and_see_the_page_degrade(
        t,
        "db",
        ("access total", |view| &view.access),
        ("the counter", |view| &view.visits),
    )
    .await;
    web_stays_healthy(t).await;
    t.doc_run("docker compose start db").await;
    let logging = wait_until(t, Duration::from_secs(15), StackTest::logging_again).await;
    t.check(
        "the access log is used again within 15 s of the database being back",
        logging,
    );
    let view = &t.last_view;
    t.log(format!(
        "visits {}, access total {}",
        view.visits, view.access
    ));
}

pub async fn a_stalled_cache_takes_no_replica_out(t: &mut StackTest) {
    t.section("stall the cache: pages wait for the store timeout, no replica is taken out");
    t.doc_run("docker compose pause cache").await;
    let started = Instant::now();
    let view = t.view().await;
    let seconds = seconds_since(started);
    t.check(
        format!(
            "page 200 with visits unavailable, in {seconds} s (got {}, visits {})",
            view.code, view.visits
        ),
        view.code == 200 && view.visits == "unavailable" && started.elapsed().as_secs_f64() < 3.5,
    );
    // More than two of lb's readiness checks (one a second), each waiting on the stalled store.
    sleep(Duration::from_secs(6)).await;
    let view = t.view().await;
    t.check(
        format!(
            "still served through the balancer after 6 s (got {}, visits {})",
            view.code, view.visits
        ),
        view.code == 200,
    );
    let readyz = t.fetch("/readyz").await.0;
    t.check("/readyz still answers 200", readyz == 200);
    let web = t.first_running("web").await;
    let health = t.health_of(&web).await;
    t.check(
        format!("web still healthy (health: {health})"),
        health == "healthy",
    );
    t.doc_run("docker compose unpause cache").await;
    let counting = wait_until(t, Duration::from_secs(10), StackTest::counting_again).await;
    t.check(
        "counting resumes within 10 s of the cache answering again",
        counting,
    );
}
