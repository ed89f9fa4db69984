//! Page views appended to the access log with group commit.
//!
//! One writer task takes every view waiting at that moment (up to `BATCH_MAX`),
//! inserts their rows and raises the running total in one statement, and answers
//! each view with its own exact total once the statement has committed. A view
//! alone goes out at once; under load, views share commits instead of queueing
//! behind each other for the totals row.

use std::sync::{Arc, OnceLock};

use deadpool_postgres::Object;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

use super::Guarded;
use super::postgres::{Access, Postgres, recent};
use crate::error::{Error, Result};

/// Inserts a batch of rows and raises the total by their number, in one implicit transaction.
const INSERT_BATCH: &str = "
    WITH inserted AS (
        INSERT INTO access_log (path, user_agent)
        SELECT * FROM unnest($1::text[], $2::text[])
        RETURNING 1
    )
    UPDATE access_totals SET total = total + (SELECT count(*) FROM inserted)
    WHERE id = 1
    RETURNING total";

/// The longest path or user agent kept, in characters.
const MAX_FIELD_CHARS: usize = 512;

/// One page view to append.
#[derive(Debug, Clone)]
pub struct NewAccess {
    path: String,
    user_agent: String,
}

impl NewAccess {
    /// Keeps at most 512 characters of each field, and no NUL (PostgreSQL text refuses
    /// it, which would fail every other view in the same batch).
    pub fn new(path: &str, user_agent: &str) -> Self {
        let clean = |text: &str| -> String {
            text.chars()
                .take(MAX_FIELD_CHARS)
                .map(|c| {
                    if c == '\0' {
                        char::REPLACEMENT_CHARACTER
                    } else {
                        c
                    }
                })
                .collect()
        };
        Self {
            path: clean(path),
            user_agent: clean(user_agent),
        }
    }
}

/// A view's row is committed: the total after it, and the newest accesses.
#[derive(Clone)]
pub struct Recorded {
    pub total: i64,
    pub recent: Arc<[Access]>,
    /// What the views committed together share.
    pub batch: Arc<Batch>,
}

/// Work to do once per committed batch rather than once per view.
pub type AfterCommit = Shared<BoxFuture<'static, ()>>;

/// The views committed in one statement.
pub struct Batch {
    /// The access total after the whole batch.
    pub total: i64,
    /// How many views the batch wrote.
    pub views: usize,
    /// Started by the first view that needs it; the others wait on the same one.
    pub after_commit: OnceLock<AfterCommit>,
}

struct Pending {
    access: NewAccess,
    reply: oneshot::Sender<Result<Recorded>>,
}

/// The handle views use to reach the writer task.
#[derive(Clone)]
pub struct AccessLog {
    queue: mpsc::Sender<Pending>,
}

impl AccessLog {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(postgres: Postgres, batch_max: usize, recent_limit: i64) -> Self {
        let (queue, inbox) = mpsc::channel(batch_max * 4);
        tokio::spawn(write_batches(postgres, inbox, batch_max, recent_limit));
        Self { queue }
    }

    /// Appends one access and answers once its row is committed. A caller that
    /// stops waiting before its batch is taken is left out of it.
    pub async fn record(&self, access: NewAccess) -> Result<Recorded> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { access, reply })
            .await
            .map_err(|_| Error::WriterStopped)?;
        answer.await.map_err(|_| Error::WriterStopped)?
    }
}

async fn write_batches(
    postgres: Postgres,
    mut inbox: mpsc::Receiver<Pending>,
    batch_max: usize,
    recent_limit: i64,
) {
    let mut writer = Writer {
        postgres,
        connection: None,
        recent_limit,
    };
    let mut batch = Vec::with_capacity(batch_max);
    while inbox.recv_many(&mut batch, batch_max).await > 0 {
        batch.retain(|pending| !pending.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let limit = writer.postgres.timeout();
        let written = timeout(limit, writer.write(&batch))
            .await
            .unwrap_or(Err(Error::Timeout));
        match written {
            Ok((total, recent)) => {
                let shared = Arc::new(Batch {
                    total,
                    views: batch.len(),
                    after_commit: OnceLock::new(),
                });
                let first = total - batch.len() as i64 + 1;
                for (offset, pending) in batch.drain(..).enumerate() {
                    let recorded = Recorded {
                        total: first + offset as i64,
                        recent: Arc::clone(&recent),
                        batch: Arc::clone(&shared),
                    };
                    let _ = pending.reply.send(Ok(recorded));
                }
            }
            Err(error) => {
                log::debug!(
                    "postgres: {} page view(s) not logged: {}",
                    batch.len(),
                    error.chain()
                );
                let reason = error.reason();
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Err(Error::BatchFailed(reason)));
                }
            }
        }
    }
}

/// The writer task's side: it keeps one connection from batch to batch, so a
/// batch costs one round trip, not a checkout and a verification as well.
struct Writer {
    postgres: Postgres,
    /// Dropped (closed) when a batch fails or times out; a new one is taken next time.
    connection: Option<Guarded<Object>>,
    recent_limit: i64,
}

impl Writer {
    /// Writes one batch and reads the newest accesses, pipelined on one connection.
    async fn write(&mut self, batch: &[Pending]) -> Result<(i64, Arc<[Access]>)> {
        let client = match self.connection.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.postgres.writer_connection().await?,
        };
        let (paths, agents): (Vec<&str>, Vec<&str>) = batch
            .iter()
            .map(|pending| {
                (
                    pending.access.path.as_str(),
                    pending.access.user_agent.as_str(),
                )
            })
            .unzip();
        let (total, newest) = tokio::try_join!(
            insert(&client, &paths, &agents),
            recent(&client, self.recent_limit)
        )?;
        self.connection = Some(client);
        Ok((total, newest.into()))
    }
}

async fn insert(client: &Object, paths: &[&str], agents: &[&str]) -> Result<i64> {
    let statement = client.prepare_cached(INSERT_BATCH).await?;
    Ok(client
        .query_one(&statement, &[&paths, &agents])
        .await?
        .get(0))
}
