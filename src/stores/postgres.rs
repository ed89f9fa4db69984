//! PostgreSQL: the durable access log. Every query Tally runs there is in this file.
//!
//! A page view's row goes in with [`append`], which is where the Flask exercise
//! runs its `INSERT` and then `SELECT COUNT(*)`. Counting the log makes every view
//! slower as the log grows, so Tally keeps the count in a one-row table,
//! `access_totals`, and raises it in the statement that inserts the rows: the
//! total after a view is read, never counted. [`append`] takes the rows of every
//! view waiting at that moment (the group-commit writer,
//! [`crate::access_total::writer`], gathers them) and [`commit`] ends their
//! transaction.
//!
//! Below them: the pools, the reads, the schema, and the repair of the total.
//! Calls are bounded by their caller; see [`crate::stores`] for the back-stops.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use super::{Guarded, guarded, release};
use crate::access_log::{Access, NewAccess};
use crate::config::Settings;
use crate::error::{Error, Result};

/// Inserts a batch of rows and raises the total by their number. It returns no row
/// when the totals row is missing; the caller then rolls the batch back.
const APPEND: &str = "
    WITH inserted AS (
        INSERT INTO access_log (path, user_agent)
        SELECT * FROM unnest($1::text[], $2::text[])
        RETURNING 1
    )
    UPDATE access_totals SET total = total + (SELECT count(*) FROM inserted)
    WHERE id = 1
    RETURNING total, epoch::text";

/// The newest accesses, newest first (in the writer's transaction, its own rows too).
const RECENT: &str = "SELECT accessed_at, user_agent FROM access_log ORDER BY id DESC LIMIT $1";

/// The access total, and which epoch of this database it counts (see the migration
/// `0002_access_total_epoch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    pub total: i64,
    pub epoch: String,
}

/// What one batch wrote, before its COMMIT.
pub struct Appended {
    pub total: Total,
    pub recent: Vec<Access>,
}

/// Opens a transaction on `client` that appends `accesses` and raises the total,
/// and reads the newest `recent_limit` accesses; it does not commit (see
/// [`commit`]). Pipelined: one round trip. On [`Error::MissingTotal`] the
/// transaction has been rolled back; on any other error it is left open, and the
/// caller closes the connection.
pub async fn append(
    client: &Object,
    accesses: impl Iterator<Item = &NewAccess>,
    recent_limit: i64,
) -> Result<Appended> {
    let append = client.prepare_cached(APPEND).await?;
    let recent = client.prepare_cached(RECENT).await?;
    let (paths, agents): (Vec<&str>, Vec<&str>) = accesses
        .map(|access| (access.path.as_str(), access.user_agent.as_str()))
        .unzip();
    let append_params: [&(dyn ToSql + Sync); 2] = [&paths, &agents];
    let recent_params: [&(dyn ToSql + Sync); 1] = [&recent_limit];
    // All three go out at once; their answers are read in the order they were sent,
    // so an error is the statement's own, not "current transaction is aborted" from
    // the one after it.
    let (begun, raised, newest) = tokio::join!(
        client.batch_execute("BEGIN"),
        client.query(&append, &append_params),
        client.query(&recent, &recent_params),
    );
    begun?;
    let (raised, newest) = (raised?, newest?);
    let Some(row) = raised.first() else {
        client.batch_execute("ROLLBACK").await?;
        return Err(Error::MissingTotal);
    };
    let total = Total {
        total: row.try_get(0)?,
        epoch: row.try_get(1)?,
    };
    let recent = newest
        .iter()
        .map(|row| {
            Ok(Access {
                at: row.try_get(0)?,
                user_agent: row.try_get(1)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Appended { total, recent })
}

/// Commits the transaction [`append`] opened: the rows and the raised total become
/// visible together.
pub async fn commit(client: &Object) -> Result<()> {
    Ok(client.batch_execute("COMMIT").await?)
}

// ---- Below: the pools, the reads, the schema, the repair of the total ----

/// The migrations, applied in order at start-up; each runs once per database.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_access_log",
        include_str!("../../migrations/0001_access_log.sql"),
    ),
    (
        "0002_access_total_epoch",
        include_str!("../../migrations/0002_access_total_epoch.sql"),
    ),
    (
        "0003_access_log_pruned",
        include_str!("../../migrations/0003_access_log_pruned.sql"),
    ),
];

const TOTAL: &str = "SELECT total, epoch::text FROM access_totals WHERE id = 1";

/// The totals row was wrong and has been set from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// The total the row held, or `None` when there was no row.
    pub was: Option<i64>,
    /// What the log holds, which the total now says: its rows and the rows pruned.
    pub log: Logged,
}

/// The views the log accounts for: the rows in it, and the rows pruned from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged {
    pub rows: i64,
    pub pruned: i64,
}

impl Logged {
    pub fn views(self) -> i64 {
        self.rows + self.pruned
    }
}

#[derive(Clone)]
pub struct Postgres {
    readers: Pool,
    /// The access log writer's own connection, so that it never waits for the
    /// readers' pool and the readers never wait for it.
    writer: Pool,
}

impl Postgres {
    /// Builds the pools. Connections are opened lazily, so this never waits for the server.
    pub fn new(settings: &Settings) -> Self {
        let timeout = settings.store_timeout;
        let millis = timeout.as_millis();
        let mut config = settings.postgres();
        let options = format!(
            "{} -c statement_timeout={millis} -c lock_timeout={millis} \
             -c idle_in_transaction_session_timeout={}",
            config.get_options().unwrap_or_default(),
            millis * 5,
        );
        config
            .options(options.trim_start())
            .connect_timeout(timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        // `pg_stat_activity` shows which instance holds which connection, and what for.
        let instance = settings.instance_name();
        let pool = |size, role: &str| {
            let mut config = config.clone();
            config.application_name(format!("{role} {instance}"));
            let manager = Manager::from_config(
                config,
                NoTls,
                ManagerConfig {
                    // `Fast` would hand out a connection to a server that has stalled.
                    recycling_method: RecyclingMethod::Verified,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(timeout))
                .create_timeout(Some(timeout))
                .recycle_timeout(Some(timeout))
                .build()
                .expect("a pool with a runtime always builds")
        };
        Self {
            readers: pool(settings.pg_pool_size, "tally"),
            writer: pool(1, "tally-writer"),
        }
    }

    /// Connections checked out of the readers' pool and of the writer's.
    pub fn connections_in_use(&self) -> (usize, usize) {
        let in_use = |pool: &Pool| {
            let status = pool.status();
            status.size.saturating_sub(status.available)
        };
        (in_use(&self.readers), in_use(&self.writer))
    }

    /// The writer's connection: closed, and its statement cancelled, if the call
    /// using it is cut short. (Checkouts are boxed: the pool's connect future is
    /// large, and every future awaiting it inline would carry and copy it.)
    pub async fn writer_connection(&self) -> Result<Guarded<Object>> {
        Ok(guarded(Box::pin(self.writer.get()).await?))
    }

    /// Runs `call` on a reader connection; a connection whose call is cut short is
    /// closed rather than reused.
    pub async fn on_reader<T>(
        &self,
        call: impl AsyncFnOnce(&mut Object) -> Result<T>,
    ) -> Result<T> {
        let mut connection = guarded(Box::pin(self.readers.get()).await?);
        let value = call(&mut connection).await?;
        release(connection);
        Ok(value)
    }

    pub async fn ping(&self) -> Result<()> {
        self.on_reader(async |client| {
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }

    /// The committed access total, read from the totals row (never `COUNT(*)`).
    pub async fn total(&self) -> Result<Total> {
        self.on_reader(async |client| {
            let statement = client.prepare_cached(TOTAL).await?;
            let row = client
                .query_opt(&statement, &[])
                .await?
                .ok_or(Error::MissingTotal)?;
            Ok(Total {
                total: row.try_get(0)?,
                epoch: row.try_get(1)?,
            })
        })
        .await
    }

    /// Checks the totals row against the log and rebuilds it if it is missing or
    /// wrong. Takes as long as counting the log takes: for start-up, not requests.
    pub async fn recount_total(&self) -> Result<Option<Rebuilt>> {
        self.on_reader(async |connection| {
            // One statement, one snapshot: writers raise the total in the transaction
            // that inserts the rows, so the two agree unless something else changed them.
            connection
                .batch_execute("BEGIN; SET LOCAL statement_timeout = 0")
                .await?;
            let (log, total) = log_and_total(connection).await?;
            connection.batch_execute("COMMIT").await?;
            if total == Some(log.views()) {
                return Ok(None);
            }
            rebuild_total(connection).await
        })
        .await
    }

    /// Brings the schema up to date. Several instances may start at once: an
    /// advisory lock (per schema) lets one apply the migrations while the others wait.
    pub async fn migrate(&self) -> Result<Vec<&'static str>> {
        self.on_reader(async |client| {
            let transaction = client.transaction().await?;
            // `client_min_messages`: else every start after the first logs
            // PostgreSQL's NOTICE that the table already exists.
            transaction
                .batch_execute(
                    "SET LOCAL statement_timeout = 0;
                     SET LOCAL lock_timeout = 0;
                     SET LOCAL client_min_messages = warning;
                     SELECT pg_advisory_xact_lock(hashtext('tally.migrations.' || current_schema())::bigint);
                     CREATE TABLE IF NOT EXISTS schema_migrations (
                         version    text PRIMARY KEY,
                         applied_at timestamptz NOT NULL DEFAULT now()
                     )",
                )
                .await?;
            let applied = transaction
                .query("SELECT version FROM schema_migrations", &[])
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<Vec<String>, _>>()?;
            let mut newly_applied = Vec::new();
            for &(version, sql) in MIGRATIONS {
                if applied.iter().any(|done| done == version) {
                    continue;
                }
                transaction.batch_execute(sql).await?;
                transaction
                    .execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)",
                        &[&version],
                    )
                    .await?;
                newly_applied.push(version);
            }
            transaction.commit().await?;
            Ok(newly_applied)
        })
        .await
    }
}

/// Sets the totals row from the log when it is missing or disagrees with it, and
/// starts a new epoch. Writers wait meanwhile (the table is locked while the log is
/// counted), so no view is counted twice or lost.
async fn rebuild_total(client: &Object) -> Result<Option<Rebuilt>> {
    client
        .batch_execute(
            "BEGIN;
             SET LOCAL statement_timeout = 0;
             LOCK TABLE access_totals IN SHARE ROW EXCLUSIVE MODE",
        )
        .await?;
    let (log, was) = log_and_total(client).await?;
    if was == Some(log.views()) {
        client.batch_execute("COMMIT").await?;
        return Ok(None);
    }
    client
        .execute(
            "INSERT INTO access_totals (id, total) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET total = EXCLUDED.total, epoch = gen_random_uuid()",
            &[&log.views()],
        )
        .await?;
    client.batch_execute("COMMIT").await?;
    Ok(Some(Rebuilt { was, log }))
}

/// What the log accounts for, and the totals row's total (`None`: no row), in one
/// snapshot.
async fn log_and_total(client: &Object) -> Result<(Logged, Option<i64>)> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM access_log),
                    (SELECT total FROM access_totals WHERE id = 1),
                    coalesce((SELECT rows FROM access_log_pruned WHERE id = 1), 0)",
            &[],
        )
        .await?;
    let log = Logged {
        rows: row.try_get(0)?,
        pruned: row.try_get(2)?,
    };
    Ok((log, row.try_get(1)?))
}

/// Deletes the oldest rows of the log past the row `$1` that were logged before `$2`,
/// `$3` at most, stopping at the first row logged at or after `$2`; the trigger of
/// migration 0003 counts them in `access_log_pruned` in the same transaction. Rows
/// another prune holds are skipped, not waited for. Answers how many went, the last
/// row's id, and whether older rows may remain.
const PRUNE: &str = "
    WITH oldest AS (
        SELECT id, accessed_at FROM access_log WHERE id > $1
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
    ), first_young AS (
        SELECT coalesce(min(id), 9223372036854775807) AS id FROM oldest WHERE accessed_at >= $2
    ), gone AS (
        DELETE FROM access_log
        WHERE id IN (SELECT id FROM oldest WHERE id < (SELECT id FROM first_young))
        RETURNING id
    )
    SELECT count(*), coalesce(max(id), $1),
           (SELECT count(*) FROM oldest) = $3 AND NOT EXISTS (SELECT FROM oldest WHERE accessed_at >= $2)
    FROM gone";

/// How many rows [`PRUNE`] would delete, all batches together.
const PRUNABLE: &str = "
    SELECT count(*) FROM access_log
    WHERE id < coalesce((SELECT min(id) FROM access_log WHERE accessed_at >= $1), 9223372036854775807)";

/// One batch of a prune.
pub struct PrunedBatch {
    pub rows: i64,
    /// The id the next batch starts after.
    pub last_id: i64,
    /// Whether rows older than the cutoff may remain past this batch.
    pub more: bool,
}

/// The moment `age` ago, by the database's clock: rows logged before it are old.
pub async fn cutoff(client: &Object, age: Duration) -> Result<OffsetDateTime> {
    let row = client
        .query_one(
            "SELECT now() - make_interval(secs => $1)",
            &[&age.as_secs_f64()],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Deletes one batch of rows logged before `cutoff`, oldest first, past the row
/// `after`, in one transaction of its own.
pub async fn prune_batch(
    client: &Object,
    after: i64,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<PrunedBatch> {
    let row = client.query_one(PRUNE, &[&after, &cutoff, &limit]).await?;
    Ok(PrunedBatch {
        rows: row.try_get(0)?,
        last_id: row.try_get(1)?,
        more: row.try_get(2)?,
    })
}

/// How many rows a prune at `cutoff` would delete.
pub async fn prunable(client: &Object, cutoff: OffsetDateTime) -> Result<i64> {
    Ok(client.query_one(PRUNABLE, &[&cutoff]).await?.try_get(0)?)
}

/// Takes the lock that lets one scheduled prune run at a time (per schema), if no
/// one holds it; `false` if someone does. It is let go of with [`let_go_pruning`], or
/// when the connection closes.
pub async fn lock_pruning(client: &Object) -> Result<bool> {
    let row = client
        .query_one(
            "SELECT pg_try_advisory_lock(hashtext('tally.prune.' || current_schema())::bigint)",
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}

pub async fn let_go_pruning(client: &Object) -> Result<()> {
    client
        .execute(
            "SELECT pg_advisory_unlock(hashtext('tally.prune.' || current_schema())::bigint)",
            &[],
        )
        .await?;
    Ok(())
}

/// Every migration in [`MIGRATIONS`], in order (a test checks they match `migrations/`).
pub fn migration_versions() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|(version, _)| *version).collect()
}
