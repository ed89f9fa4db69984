//! A test's own corner of the stores: a PostgreSQL schema and a Redis key prefix,
//! removed (schema and keys) when the [`Namespace`] is dropped, so tests run in
//! parallel, see only their own data and leave nothing behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis;

/// The shared PostgreSQL the tests make their schemas in.
pub fn database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The shared Redis the tests make their key prefixes in.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A schema and a key prefix; clones share them, and the last one dropped removes them.
#[derive(Clone, Debug)]
pub struct Namespace {
    pub schema: String,
    pub prefix: String,
    /// The PostgreSQL the schema lives in.
    pub postgres_url: String,
    _owner: Arc<Owner>,
}

#[derive(Debug)]
struct Owner {
    schema: String,
    prefix: String,
    postgres_url: String,
}

impl Namespace {
    /// A namespace in the shared PostgreSQL and Redis.
    pub async fn create() -> Self {
        Self::on(&database_url()).await
    }

    /// A namespace whose schema is in the PostgreSQL at `url` (a private server, say).
    pub async fn on(url: &str) -> Self {
        let schema = format!("tally_test_{}", uuid::Uuid::new_v4().simple());
        connect(url)
            .await
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create the test schema");
        let prefix = format!("{schema}:");
        Self {
            _owner: Arc::new(Owner {
                schema: schema.clone(),
                prefix: prefix.clone(),
                postgres_url: url.to_owned(),
            }),
            schema,
            prefix,
            postgres_url: url.to_owned(),
        }
    }

    /// `base` with this namespace's schema on the search path.
    pub fn database_url_via(&self, base: &str) -> String {
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-csearch_path%3D{}", self.schema)
    }

    /// The namespace's database URL.
    pub fn database_url(&self) -> String {
        self.database_url_via(&self.postgres_url)
    }

    /// A client whose queries run in this namespace's schema.
    pub async fn postgres(&self) -> tokio_postgres::Client {
        connect(&self.database_url()).await
    }

    /// One number from `sql`, in this namespace.
    pub async fn number(&self, sql: &str) -> i64 {
        self.postgres()
            .await
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    /// Rows in this namespace's access log.
    pub async fn log_rows(&self) -> i64 {
        self.number("SELECT count(*) FROM access_log").await
    }

    /// The totals row's total.
    pub async fn stored_total(&self) -> i64 {
        self.number("SELECT total FROM access_totals WHERE id = 1")
            .await
    }

    /// How many rows of the access log each user agent has.
    pub async fn rows_per_agent(&self) -> HashMap<String, i64> {
        self.postgres()
            .await
            .query(
                "SELECT user_agent, count(*) FROM access_log GROUP BY user_agent",
                &[],
            )
            .await
            .expect("rows per agent")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// A Redis key of this namespace, read from the shared Redis.
    pub async fn redis_get(&self, key: &str) -> Option<String> {
        let mut connection = redis_connection(&redis_url()).await;
        redis::cmd("GET")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut connection)
            .await
            .expect("GET")
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to test postgres: {e}"));
    tokio::spawn(connection);
    client
}

pub async fn redis_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis")
}

impl Drop for Owner {
    /// Removes the schema and the keys. Drop cannot await, so this runs on a thread
    /// of its own with a runtime of its own; a store that is gone (a private server
    /// already stopped) is simply skipped.
    fn drop(&mut self) {
        let (schema, prefix, url) = (
            self.schema.clone(),
            self.prefix.clone(),
            self.postgres_url.clone(),
        );
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a cleanup runtime");
            runtime.block_on(async {
                let limit = Duration::from_secs(10);
                let _ = tokio::time::timeout(limit, drop_schema(&url, &schema)).await;
                let _ = tokio::time::timeout(limit, delete_keys(&redis_url(), &prefix)).await;
            });
        });
        let _ = cleanup.join();
    }
}

async fn drop_schema(url: &str, schema: &str) {
    let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
        return;
    };
    tokio::spawn(connection);
    let _ = client
        .batch_execute(&format!(
            "SET lock_timeout = '5s'; SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE"
        ))
        .await;
}

async fn delete_keys(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let mut cursor = 0u64;
    loop {
        let Ok((next, keys)): redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
        else {
            return;
        };
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut connection)
                .await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}
