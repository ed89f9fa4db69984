//! Whether each store is working: the one place that notices a store going down and
//! coming back, says so in the log (once each way, not once per request), and
//! answers "up or down?" for `/readyz` and `/api/stats`.
//!
//! Every call to a store reports its outcome here ([`StoreHealth::observe`]), which
//! also feeds the store's metrics (state, call latency, errors by kind). A
//! background probe, started with the [`StoreHealth`] that owns it and stopped when
//! it is dropped, asks the store every [`PROBE_EVERY`], so the state stays current
//! (and a dead connection is noticed) while nobody visits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// How often the probe asks its store.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// How long the same error from a store goes unrepeated in the log.
const REPEAT_ERROR_AFTER: Duration = Duration::from_secs(60);

/// One store's health, and the probe that keeps it current.
pub struct StoreHealth {
    state: Arc<State>,
    probe: JoinHandle<()>,
}

struct State {
    store: &'static str,
    metrics: Metrics,
    up: AtomicBool,
    /// The last "answered with an error" logged and when, so a store that keeps
    /// answering with the same error is logged once a minute, not once a request.
    last_error: Mutex<Option<(String, Instant)>>,
}

impl StoreHealth {
    /// Starts watching `store` (taken to be up: start-up has just reached it) with
    /// `probe`, one call of it every [`PROBE_EVERY`].
    pub fn watch(
        store: &'static str,
        metrics: Metrics,
        probe: impl Fn() -> BoxFuture<'static, Result<()>> + Send + 'static,
    ) -> Self {
        metrics.store_state(store, true);
        let state = Arc::new(State {
            store,
            metrics,
            up: AtomicBool::new(true),
            last_error: Mutex::default(),
        });
        let watched = Arc::clone(&state);
        let probe = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(PROBE_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let started = Instant::now();
                let outcome = probe().await;
                watched.observe(outcome.as_ref().err(), started.elapsed());
            }
        });
        Self { state, probe }
    }

    /// Notes the outcome of a call to the store, and how long it took.
    pub fn observe<T>(&self, outcome: &Result<T>, took: Duration) {
        self.state.observe(outcome.as_ref().err(), took);
    }

    pub fn is_up(&self) -> bool {
        self.state.up.load(Ordering::SeqCst)
    }
}

impl Drop for StoreHealth {
    fn drop(&mut self) {
        self.probe.abort();
    }
}

impl State {
    fn observe(&self, error: Option<&Error>, took: Duration) {
        let store = self.store;
        self.metrics
            .store_call(store, error.map(Error::reason), took);
        let Some(error) = error else {
            self.now_up();
            return;
        };
        let full = error.chain();
        // The chain starts with the store's name, which the line already gives.
        let chain = full
            .strip_prefix(store)
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&full)
            .to_owned();
        if error.is_outage() {
            if self.up.swap(false, Ordering::SeqCst) {
                self.metrics.store_state(store, false);
                log::warn!("{store}: down: {chain}");
            } else {
                log::debug!("{store}: still down: {chain}");
            }
            return;
        }
        // It answered, so it is up, but with an error worth an operator's eyes.
        self.now_up();
        let mut last = self.last_error();
        match last.as_ref() {
            Some((logged, at)) if *logged == chain && at.elapsed() < REPEAT_ERROR_AFTER => {
                log::debug!("{store}: answered with an error again: {chain}");
            }
            _ => {
                log::warn!("{store}: answered with an error: {chain}");
                *last = Some((chain, Instant::now()));
            }
        }
    }

    fn now_up(&self) {
        if !self.up.swap(true, Ordering::SeqCst) {
            self.metrics.store_state(self.store, true);
            log::info!("{}: up again", self.store);
        }
    }

    fn last_error(&self) -> std::sync::MutexGuard<'_, Option<(String, Instant)>> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
