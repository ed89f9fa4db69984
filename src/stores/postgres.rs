//! PostgreSQL: the durable access log. The pool, start-up readiness, the schema,
//! and the read queries (writes go through [`super::access_log`]).

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::time::Instant;
use tokio_postgres::NoTls;

use super::{Guarded, StartupError, wait_for, within};
use crate::config::Settings;
use crate::error::Result;

/// The migrations, applied in order at start-up; each runs once per database.
const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_access_log",
    include_str!("../../migrations/0001_access_log.sql"),
)];

/// One access as the recent list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// RFC 3339, in UTC, for `<time datetime>`.
    pub at: String,
    /// The same time as people read it.
    pub at_text: String,
    pub user_agent: String,
}

/// The access log's connection pool, with every call bounded by the store timeout.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    /// The access log writer's own connection, so that it never waits for the
    /// readers' pool and the readers never wait for it.
    writer: Pool,
    timeout: Duration,
    addr: String,
}

impl Postgres {
    /// Builds the pools. Connections are opened lazily, so this never waits for the server.
    pub fn new(settings: &Settings) -> Self {
        let timeout = settings.store_timeout;
        let mut config = settings.database.clone();
        config
            .connect_timeout(timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("tally");
        let pool = |size| {
            let manager = Manager::from_config(
                config.clone(),
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
            pool: pool(settings.pg_pool_size),
            writer: pool(1),
            timeout,
            addr: settings.database_addr(),
        }
    }

    /// `host:port`, safe to log.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A connection that is closed if the call using it is cut short. (The
    /// checkouts are boxed for the reason [`within`] gives.)
    pub async fn connection(&self) -> Result<Guarded<Object>> {
        Ok(Guarded::new(Box::pin(self.pool.get()).await?))
    }

    /// The writer's connection, closed like [`Postgres::connection`]'s if cut short.
    pub async fn writer_connection(&self) -> Result<Guarded<Object>> {
        Ok(Guarded::new(Box::pin(self.writer.get()).await?))
    }

    /// Waits until PostgreSQL answers a query, as start-up does.
    pub async fn wait_until_ready(&self, budget: Duration) -> Result<(), StartupError> {
        wait_for("postgres", &self.addr, budget, async || {
            self.ping().await.map(drop)
        })
        .await
    }

    /// Runs `call` on a pooled connection within the store timeout.
    async fn within<T>(&self, call: impl AsyncFnOnce(&mut Object) -> Result<T>) -> Result<T> {
        within(
            self.timeout,
            Box::pin(async { Ok(self.pool.get().await?) }),
            call,
        )
        .await
    }

    /// Asks for `SELECT 1`; answers how long the round trip took.
    pub async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        self.within(async |client| {
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await?;
        Ok(started.elapsed())
    }

    /// The number of rows in the access log, read from the running total (never `COUNT(*)`).
    pub async fn access_total(&self) -> Result<i64> {
        self.within(async |client| {
            let statement = client
                .prepare_cached("SELECT total FROM access_totals WHERE id = 1")
                .await?;
            Ok(client.query_one(&statement, &[]).await?.get(0))
        })
        .await
    }

    /// The newest `limit` accesses, newest first.
    pub async fn recent(&self, limit: i64) -> Result<Vec<Access>> {
        self.within(async |client| recent(client, limit).await)
            .await
    }

    /// Brings the schema up to date. Several instances may start at once: an
    /// advisory lock (per schema) lets one apply the migrations while the others wait.
    pub async fn migrate(&self) -> Result<Vec<&'static str>> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtext('tally.migrations.' || current_schema())::bigint)",
                &[],
            )
            .await?;
        // Without this, every start after the first logs PostgreSQL's NOTICE
        // that the table already exists.
        transaction
            .batch_execute("SET LOCAL client_min_messages = warning")
            .await?;
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    text PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await?;
        let applied: Vec<String> = transaction
            .query("SELECT version FROM schema_migrations", &[])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
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
        client.release();
        Ok(newly_applied)
    }
}

/// The newest `limit` accesses on `client`, newest first.
pub async fn recent(client: &Object, limit: i64) -> Result<Vec<Access>> {
    let statement = client
        .prepare_cached(
            "SELECT to_char(accessed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    to_char(accessed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'),
                    user_agent
             FROM access_log ORDER BY id DESC LIMIT $1",
        )
        .await?;
    let rows = client.query(&statement, &[&limit]).await?;
    Ok(rows
        .iter()
        .map(|row| Access {
            at: row.get(0),
            at_text: row.get(1),
            user_agent: row.get(2),
        })
        .collect())
}

/// Every migration file in `migrations/` is listed in [`MIGRATIONS`], in order.
pub fn migration_versions() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|(version, _)| *version).collect()
}
