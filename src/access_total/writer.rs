//! The group-commit writer: how a view's row reaches [`postgres::append`].
//!
//! For the story, a view hands its row to [`Writer::append`] and gets back the access
//! total right after it, once committed. The simple way, a transaction per view,
//! makes views queue behind each other for the one totals row, each waiting for its
//! own commit to reach the disk. Instead one task takes every view waiting at that
//! moment (up to `BATCH_MAX`) and commits them in one transaction, then answers each
//! with its own exact total: a view alone goes out at once, and under load views
//! share commits. Page views then outrun PostgreSQL's own single-row inserts on the
//! same server (1.43 x pgbench's rate, docs/performance.md). After each commit it
//! raises the cached copy of the total ([`super::cache`]), and answers the views once
//! that is done or [`RAISE_WAIT`] has passed.
//!
//! The writer keeps one connection of its own from batch to batch. A batch has until
//! the earliest deadline among its views: past it, the transaction is cancelled on
//! the server and rolled back, never left to commit later. A connection that broke
//! before COMMIT was sent (a restart, `pg_terminate_backend`, a failover) is replaced
//! and the batch tried once more, since nothing of it was written. The task never
//! ends while the process lives: a panic (a bug) fails its batch, logged and
//! answered as a bug, and the writer carries on.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Object;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout_at};

use super::cache::Cache;
use super::repair::repair;
use crate::access_log::{Access, NewAccess};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::stores::Guarded;
use crate::stores::postgres::{self, Postgres, Total};

/// How long the views of a committed batch wait for the cached total's raise (it
/// takes well under a millisecond when Redis is well).
const RAISE_WAIT: Duration = Duration::from_millis(100);

/// A view's row is committed: the total after it, and the newest accesses.
#[derive(Clone)]
pub struct Recorded {
    /// The access total right after this view.
    pub total: i64,
    /// The total after the whole batch this view was committed in.
    pub batch_total: i64,
    /// How many views that batch held.
    pub batch_size: usize,
    pub recent: Arc<[Access]>,
}

struct Pending {
    access: NewAccess,
    deadline: Instant,
    reply: oneshot::Sender<Result<Recorded>>,
}

/// The handle views use to reach the writer task.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Pending>,
}

impl Writer {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(
        postgres: Postgres,
        cache: Arc<Cache>,
        batch_max: usize,
        recent_limit: i64,
        metrics: Metrics,
    ) -> Self {
        let (queue, inbox) = mpsc::channel(batch_max * 4);
        let task = Task {
            postgres,
            cache,
            connection: None,
            recent_limit,
            metrics,
        };
        tokio::spawn(task.run(inbox, batch_max));
        Self { queue }
    }

    /// Appends one access to the log and answers the total after it, once its row is
    /// committed and the cached copy raised (unless Redis is too slow to wait for),
    /// or fails by `deadline`. A caller that stops waiting before its batch is taken
    /// is left out.
    pub async fn append(&self, access: NewAccess, deadline: Instant) -> Result<Recorded> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            access,
            deadline,
            reply,
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| Error::WriterGone)?;
        answer.await.map_err(|_| Error::WriterGone)?
    }
}

/// What a committed batch gives its views.
struct Written {
    total: Total,
    recent: Arc<[Access]>,
    committed_at: Instant,
}

/// The writer task's side.
struct Task {
    postgres: Postgres,
    cache: Arc<Cache>,
    /// Kept from batch to batch; dropped (closed, its statement cancelled) when a
    /// batch fails or runs out of time.
    connection: Option<Guarded<Object>>,
    recent_limit: i64,
    /// Batch sizes, commit times, the queue's depth.
    metrics: Metrics,
}

impl Task {
    async fn run(mut self, mut inbox: mpsc::Receiver<Pending>, batch_max: usize) {
        let mut batch = Vec::with_capacity(batch_max);
        while inbox.recv_many(&mut batch, batch_max).await > 0 {
            self.metrics.queue_depth(inbox.len());
            batch.retain(|pending| !pending.reply.is_closed());
            let Some(deadline) = batch.iter().map(|pending| pending.deadline).min() else {
                continue;
            };
            let started = Instant::now();
            let written = AssertUnwindSafe(timeout_at(deadline, self.write(&batch, deadline)))
                .catch_unwind()
                .await;
            match written {
                Ok(Ok(Ok(written))) => {
                    self.metrics.batch(batch.len(), started.elapsed());
                    self.answer(&mut batch, written, deadline);
                }
                Ok(Ok(Err(error))) => fail(&mut batch, error),
                Ok(Err(_elapsed)) => fail(&mut batch, Error::Timeout),
                Err(panic) => {
                    let message = panic_message(panic.as_ref()).to_owned();
                    log::error!(
                        "bug: the access log writer panicked ({message}); its batch failed, it carries on"
                    );
                    self.connection = None;
                    fail(&mut batch, Error::WriterPanicked(message));
                }
            }
        }
    }

    /// Writes one batch: on the kept connection, or a fresh one in its place.
    async fn write(&mut self, batch: &[Pending], deadline: Instant) -> Result<Written> {
        let accesses = || batch.iter().map(|pending| &pending.access);
        let mut tries = 0;
        loop {
            tries += 1;
            let connection = match self.connection.take() {
                Some(connection) if !connection.is_closed() => connection,
                dead => {
                    // Dropped first: it holds the writer pool's only slot.
                    drop(dead);
                    self.postgres.writer_connection().await?
                }
            };
            match postgres::append(&connection, accesses(), self.recent_limit).await {
                Ok(appended) => {
                    if Instant::now() >= deadline {
                        // Too late for the views: closing the connection rolls it back.
                        return Err(Error::Timeout);
                    }
                    postgres::commit(&connection).await?;
                    self.connection = Some(connection);
                    return Ok(Written {
                        total: appended.total,
                        recent: appended.recent.into(),
                        committed_at: Instant::now(),
                    });
                }
                Err(Error::MissingTotal) if tries == 1 => {
                    self.connection = Some(connection);
                    repair(&self.postgres).await?;
                }
                Err(error) if tries == 1 && error.is_broken_connection() => {
                    log::info!(
                        "postgres: the writer's connection broke ({}); writing the batch on a new one",
                        error.chain()
                    );
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Starts the raise of the cached total, then answers every view with its own
    /// total once the raise is done, or after [`RAISE_WAIT`] (or the batch's
    /// deadline), whichever comes first: the raise may carry on, but a slow Redis
    /// never holds up the views. In a task of its own, so the next batch need not wait.
    fn answer(&self, batch: &mut Vec<Pending>, written: Written, deadline: Instant) {
        // Noted before any view of the batch is answered, so this instance never
        // serves a cached copy below what it has shown.
        self.cache.raise_watermark(&written.total);
        let (cache, total) = (Arc::clone(&self.cache), written.total.clone());
        let raise = tokio::spawn(async move {
            if let Err(error) = cache.raise(&total, written.committed_at).await {
                log::debug!("redis: cached access total not raised: {}", error.chain());
            }
        });
        let views = std::mem::replace(batch, Vec::with_capacity(batch.capacity()));
        tokio::spawn(async move {
            let _ = timeout_at(deadline.min(written.committed_at + RAISE_WAIT), raise).await;
            let size = views.len();
            let first = written.total.total - size as i64 + 1;
            for (offset, pending) in views.into_iter().enumerate() {
                let _ = pending.reply.send(Ok(Recorded {
                    total: first + offset as i64,
                    batch_total: written.total.total,
                    batch_size: size,
                    recent: Arc::clone(&written.recent),
                }));
            }
        });
    }
}

fn fail(batch: &mut Vec<Pending>, error: Error) {
    let error = Arc::new(error);
    for pending in batch.drain(..) {
        let _ = pending.reply.send(Err(Error::Batch(Arc::clone(&error))));
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}
