//! The container stack, run for real: builds the image, starts the stack with
//! `docker compose` under a project name and a free port of its own, and checks
//! what a user would see (HTTP answers through the balancer, `docker compose ps`,
//! `docker inspect`), case by case. It works on a copy of the repository, with a
//! `.env` of its own, so your `.env`, `compose.override.yaml` and running stacks
//! are never touched, and removes what it started (`down -v`), also on failure and
//! on SIGINT or SIGTERM (Ctrl-C stops the cases, cleans up, then fails the test).
//!
//! The guides that carry the marker `<!-- commands run by: cargo test --test
//! stack -->` show only commands this test runs verbatim ([`guides`]).
//!
//!     cargo test --locked --test stack -- --nocapture   # needs docker with compose 2.32+, curl, git
//!
//! Not part of the README's `cargo test` (`test = false` in Cargo.toml): it takes
//! minutes and a Docker engine. It prints the measured numbers (build, up ->
//! healthy, requests and failures under restarts and scaling, the rolling
//! restart's duration, a one-file rebuild, the editing loop under `docker
//! compose watch`); `--nocapture` shows them as it goes.

mod data;
mod guides;
mod lifecycle;
mod load;
mod logs;
mod outages;
mod page;
mod plain;
mod scaling;
mod secrets;
mod setup;
mod stack;
mod support;
mod watch;

use guides::Guides;
use stack::Stack;
use support::StackTest;

/// The cases share one stack, so they run in order, as a user would follow the
/// guides; a failed check is recorded with its case and the run goes on, so one
/// run shows every broken case.
#[tokio::test(flavor = "multi_thread")]
async fn the_stack_does_what_the_container_guides_say() {
    let stack = Stack::prepare();
    let guides = Guides::of(&stack.work);
    let mut t = StackTest::new(stack, guides);
    // Dropping the cases' future ends what they run (kill_on_drop); the panic
    // then drops the stack, whose Drop removes it.
    if let Some(signal) = tokio::select! {
        () = every_case(&mut t) => None,
        signal = support::interrupted() => Some(signal),
    } {
        panic!("stopped by {signal}; removing the stack");
    }
}

async fn every_case(t: &mut StackTest) {
    setup::build_the_image(t).await;
    setup::no_env_runs_on_the_development_password(t).await;
    setup::configure_a_password_full_of_symbols(t).await;
    setup::up_wait(t).await;
    setup::only_the_balancer_publishes_a_port(t).await;
    setup::docker_inspect_shows_restarts_logs_user_and_grace(t).await;
    setup::the_balancers_root_is_read_only(t).await;
    setup::counts_through_the_balancer(t).await;
    secrets::the_password_is_a_secret(t).await;
    outages::redis_made_to_exit_is_started_again(t).await;
    outages::stopping_the_cache_degrades_the_page(t).await;
    outages::stopping_the_database_degrades_the_page(t).await;
    outages::a_stalled_cache_takes_no_replica_out(t).await;
    logs::one_line_per_request_with_one_id(t).await;
    logs::metrics_are_not_reachable_through_the_balancer(t).await;
    lifecycle::the_access_log_survives_down_and_up(t).await;
    lifecycle::web_started_alone_brings_up_its_stores_first(t).await;
    lifecycle::web_stops_long_before_its_grace_period(t).await;
    secrets::change_the_password_to_spaces_and_quotes(t).await;
    lifecycle::down_v_removes_the_access_log(t).await;
    lifecycle::look_inside_both_stores(t).await;
    data::a_dump_restored_into_a_new_volume_goes_on_exactly(t).await;
    data::a_prune_keeps_the_total(t).await;
    lifecycle::start_over_in_one_line(t).await;
    scaling::scaled_to_three_every_replica_serves(t).await;
    logs::the_readmes_three_reloads_are_what_web_logs(t).await;
    scaling::prometheus_finds_every_replica(t).await;
    scaling::each_replica_stopped_and_started_under_load(t).await;
    scaling::the_guides_rolling_restart_under_load(t).await;
    scaling::scaled_3_5_1_under_load(t).await;
    plain::haproxy_checks_the_balancers_config(t).await;
    plain::opening_the_port_to_the_network(t).await;
    plain::the_same_stack_without_compose(t).await;
    plain::rebuild_after_editing_one_file(t).await;
    watch::watch_shows_each_edit_and_up_puts_the_release_build_back(t).await;
    watch::watch_on_compose_yaml_alone_rebuilds_the_release_image(t).await;

    t.section("every command of the guides was run");
    t.every_guide_command_was_run();
    t.finish();
}
