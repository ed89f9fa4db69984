//! What Tally measures, in Prometheus's terms, served at `/metrics` on the main port:
//! requests by route and status with their latency, views counted, each store's
//! state, call latency and errors by kind, the access log writer's batches, queue
//! and commits, the cache's hits and misses, and the pools' connections in use.
//!
//! Each instance has a registry of its own ([`Metrics`]), handed to whatever
//! records into it when that is built; Prometheus scrapes every replica, and sums.

use std::time::Duration;

use actix_web::http::StatusCode;
use prometheus::{
    Encoder, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Registry,
    TextEncoder, register_histogram_vec_with_registry, register_histogram_with_registry,
    register_int_counter_vec_with_registry, register_int_counter_with_registry,
    register_int_gauge_vec_with_registry, register_int_gauge_with_registry,
};

use crate::error::Reason;

/// Latency buckets, in seconds: from a fast cache call to the store timeout and beyond.
const LATENCY: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0,
];

/// Batch size buckets, in views per transaction.
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Every metric of one instance. Clones share it.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    views: IntCounter,
    store_up: IntGaugeVec,
    store_calls: HistogramVec,
    store_errors: IntCounterVec,
    batch_size: Histogram,
    commit_seconds: Histogram,
    queue_depth: IntGauge,
    cache: IntCounterVec,
    pool_in_use: IntGaugeVec,
}

impl Default for Metrics {
    fn default() -> Self {
        const ONCE: &str = "each metric is valid and registered once";
        let registry = Registry::new();
        let r = &registry;
        Self {
            requests: register_histogram_vec_with_registry!(
                "tally_http_request_duration_seconds",
                "HTTP requests answered, by route pattern and status, and how long each took.",
                &["route", "status"],
                LATENCY.to_vec(),
                r
            )
            .expect(ONCE),
            views: register_int_counter_with_registry!("tally_views_total", "Page views served.", r)
                .expect(ONCE),
            store_up: register_int_gauge_vec_with_registry!(
                "tally_store_up",
                "Whether the store answers (1) or not (0), as its health last found it.",
                &["store"],
                r
            )
            .expect(ONCE),
            store_calls: register_histogram_vec_with_registry!(
                "tally_store_call_duration_seconds",
                "Calls to a store, by store and outcome (ok or error), and how long each took.",
                &["store", "outcome"],
                LATENCY.to_vec(),
                r
            )
            .expect(ONCE),
            store_errors: register_int_counter_vec_with_registry!(
                "tally_store_errors_total",
                "Failed calls to a store, by store and kind (timed_out, connection_refused, ...).",
                &["store", "kind"],
                r
            )
            .expect(ONCE),
            batch_size: register_histogram_with_registry!(
                "tally_writer_batch_size",
                "Page views written to PostgreSQL in one transaction.",
                BATCH.to_vec(),
                r
            )
            .expect(ONCE),
            commit_seconds: register_histogram_with_registry!(
                "tally_writer_commit_duration_seconds",
                "How long the writer took for one batch, from BEGIN to a committed COMMIT.",
                LATENCY.to_vec(),
                r
            )
            .expect(ONCE),
            queue_depth: register_int_gauge_with_registry!(
                "tally_writer_queue_depth",
                "Page views waiting for the writer when it last took a batch.",
                r
            )
            .expect(ONCE),
            cache: register_int_counter_vec_with_registry!(
                "tally_stats_cache_total",
                "Reads of the access total by /api/stats, by outcome: hit (Redis) or miss (PostgreSQL).",
                &["outcome"],
                r
            )
            .expect(ONCE),
            pool_in_use: register_int_gauge_vec_with_registry!(
                "tally_pool_connections_in_use",
                "Connections checked out of each pool.",
                &["pool"],
                r
            )
            .expect(ONCE),
            registry,
        }
    }
}

impl Metrics {
    /// One answered request: its route (not its path: the label stays bounded), its
    /// status and how long it took.
    pub fn request(&self, route: &str, status: StatusCode, took: Duration) {
        self.requests
            .with_label_values(&[route, status.as_str()])
            .observe(took.as_secs_f64());
    }

    pub fn view(&self) {
        self.views.inc();
    }

    /// The metrics of one store's calls, resolved once for it.
    pub fn store(&self, store: &'static str) -> StoreMetrics {
        StoreMetrics {
            store,
            up: self.store_up.with_label_values(&[store]),
            ok: self.store_calls.with_label_values(&[store, "ok"]),
            failed: self.store_calls.with_label_values(&[store, "error"]),
            errors: self.store_errors.clone(),
        }
    }

    /// One committed batch of `size` views that took `took`.
    pub fn batch(&self, size: usize, took: Duration) {
        self.batch_size.observe(size as f64);
        self.commit_seconds.observe(took.as_secs_f64());
    }

    pub fn queue_depth(&self, waiting: usize) {
        self.queue_depth
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    pub fn cache(&self, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.cache.with_label_values(&[outcome]).inc();
    }

    pub fn pool_in_use(&self, pool: &str, in_use: usize) {
        self.pool_in_use
            .with_label_values(&[pool])
            .set(i64::try_from(in_use).unwrap_or(i64::MAX));
    }

    /// Everything, in Prometheus's text format.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("metrics always encode");
        String::from_utf8(text).expect("the text format is UTF-8")
    }
}

/// One store's state, call latency and errors.
#[derive(Clone)]
pub struct StoreMetrics {
    store: &'static str,
    up: IntGauge,
    ok: Histogram,
    failed: Histogram,
    errors: IntCounterVec,
}

impl StoreMetrics {
    /// One call: how long it took and, if it failed, why.
    pub fn call(&self, failure: Option<Reason>, took: Duration) {
        match failure {
            None => self.ok.observe(took.as_secs_f64()),
            Some(reason) => {
                self.failed.observe(took.as_secs_f64());
                // The English words joined by `_`: "connection_refused".
                let kind = reason.as_str().replace(' ', "_");
                self.errors.with_label_values(&[self.store, &kind]).inc();
            }
        }
    }

    pub fn state(&self, up: bool) {
        self.up.set(up.into());
    }
}
