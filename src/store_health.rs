//! Whether each store is working, and the one way Tally calls it.
//!
//! Every call to a store goes through its [`StoreHealth::call`]: bounded by the
//! store timeout (or an earlier deadline), timed, and its outcome reported here.
//! This is the one place that notices a store going down and coming back, says so
//! in the log (once each way, not once per request), feeds the store's metrics
//! (state, call latency, errors by reason) and answers "up or down?" for `/readyz`
//! and `/api/stats`. A background probe, started with the [`StoreHealth`] that owns
//! it and stopped when it is dropped, asks the store every [`PROBE_EVERY`], so the
//! state stays current (and a dead connection is noticed) while nobody visits.
//!
//! A bug in Tally ([`Reason::is_bug`]) is no store's outcome: it changes no state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

use crate::error::{Error, Reason, Result};
use crate::metrics::StoreMetrics;

/// How often the probe asks its store.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// How long the same error from a store goes unrepeated in the log.
const REPEAT_ERROR_AFTER: Duration = Duration::from_secs(60);

/// A store's answer and how long it took to come.
pub struct Timed<T> {
    pub result: Result<T>,
    pub elapsed: Duration,
}

impl<T> Timed<T> {
    /// The answer, or in a few words why there is none.
    pub fn outcome(&self) -> Result<&T, Reason> {
        self.result.as_ref().map_err(Error::reason)
    }
}

/// One store's health, the limit on its calls, and the probe that keeps it current.
pub struct StoreHealth {
    health: Arc<Health>,
    probe: JoinHandle<()>,
}

/// What the store's calls and its probe have found, shared by both.
struct Health {
    store: &'static str,
    timeout: Duration,
    metrics: StoreMetrics,
    up: AtomicBool,
    /// The last "answered with an error" logged and when, so a store that keeps
    /// answering with the same error is logged once a minute, not once a request.
    last_error: Mutex<Option<(String, Instant)>>,
}

impl StoreHealth {
    /// Starts watching `store` (taken to be up: start-up has just reached it), each
    /// call bounded by `timeout`, with `probe` called every [`PROBE_EVERY`].
    pub fn watch<F>(
        store: &'static str,
        timeout: Duration,
        metrics: StoreMetrics,
        probe: impl Fn() -> F + Send + 'static,
    ) -> Self
    where
        F: Future<Output = Result<()>> + Send,
    {
        metrics.state(true);
        let health = Arc::new(Health {
            store,
            timeout,
            metrics,
            up: AtomicBool::new(true),
            last_error: Mutex::default(),
        });
        let watched = Arc::clone(&health);
        let probe = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(PROBE_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                watched.call(watched.deadline(), probe()).await;
            }
        });
        Self { health, probe }
    }

    /// When a call to the store starting now must have answered.
    pub fn deadline(&self) -> Instant {
        self.health.deadline()
    }

    /// Calls the store within the store timeout; reports the outcome.
    pub async fn call<T>(&self, call: impl Future<Output = Result<T>>) -> Timed<T> {
        self.health.call(self.deadline(), call).await
    }

    /// Calls the store by `deadline`; reports the outcome.
    pub async fn call_by<T>(
        &self,
        deadline: Instant,
        call: impl Future<Output = Result<T>>,
    ) -> Timed<T> {
        self.health.call(deadline, call).await
    }

    pub fn is_up(&self) -> bool {
        self.health.up.load(Ordering::SeqCst)
    }
}

impl Drop for StoreHealth {
    fn drop(&mut self) {
        self.probe.abort();
    }
}

impl Health {
    fn deadline(&self) -> Instant {
        Instant::now() + self.timeout
    }

    async fn call<T>(&self, deadline: Instant, call: impl Future<Output = Result<T>>) -> Timed<T> {
        let started = Instant::now();
        let result = timeout_at(deadline, call)
            .await
            .unwrap_or(Err(Error::Timeout));
        let elapsed = started.elapsed();
        self.observe(result.as_ref().err(), elapsed);
        Timed { result, elapsed }
    }

    fn observe(&self, error: Option<&Error>, took: Duration) {
        let Some(error) = error else {
            self.metrics.call(None, took);
            self.now_up();
            return;
        };
        let reason = error.reason();
        if reason.is_bug() {
            return;
        }
        self.metrics.call(Some(reason), took);
        let store = self.store;
        let full = error.chain();
        // The chain starts with the store's name, which the line already gives.
        let chain = full
            .strip_prefix(store)
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&full)
            .to_owned();
        if reason.is_outage() {
            if self.up.swap(false, Ordering::SeqCst) {
                self.metrics.state(false);
                log::warn!("{store}: down: {chain}");
            } else {
                log::debug!("{store}: still down: {chain}");
            }
            return;
        }
        // It answered, so it is up, but with an error worth an operator's eyes.
        self.now_up();
        let mut last = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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
            self.metrics.state(true);
            log::info!("{}: up again", self.store);
        }
    }
}
