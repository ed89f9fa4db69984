//! Redis: the visit counter (fast, in memory, gone when Redis restarts) and the
//! cached copy of the access total. Every command Tally sends there is in this
//! file, as redis-cli would type it: `INCR`, `SET`, `GET`, `EVAL`.
//!
//! How a command reaches Redis (a connection shared by every call on a thread,
//! replaced when it breaks) is [`super::redis_connections`]'s business; a first
//! reading may skip it.

use std::time::Duration;

use deadpool_redis::redis::cmd;

use super::redis_connections::SharedConnections;
use crate::config::Settings;
use crate::error::{Error, Result};

/// The visit counter's key, after the key prefix.
pub const VISITS: &str = "visits";

/// Redis, as Tally uses it. Calls are bounded by their caller
/// ([`crate::store_health::StoreHealth::call`]); see [`crate::stores`] for the
/// back-stops.
#[derive(Clone)]
pub struct Redis {
    connections: SharedConnections,
    /// Put before every key, so several Tallys can share one Redis.
    prefix: String,
    /// The visit counter's key: `tally:visits` with the default prefix.
    visits: String,
}

impl Redis {
    /// Connects lazily: this never waits for the server.
    pub fn new(settings: &Settings) -> Self {
        let prefix = settings.redis_key_prefix.clone();
        Self {
            connections: SharedConnections::new(settings),
            visits: format!("{prefix}{VISITS}"),
            prefix,
        }
    }

    /// Counts one visit: `INCR tally:visits` answers the counter after it (a key
    /// that does not exist yet counts from 0, so the first visit is 1).
    pub async fn count_visit(&self) -> Result<i64> {
        self.connections.run(cmd("INCR").arg(&self.visits)).await
    }

    /// `SET tally:visits 0`: the reset button.
    pub async fn reset_visits(&self) -> Result<()> {
        self.connections
            .run(cmd("SET").arg(&self.visits).arg(0))
            .await
    }

    /// The visit counter, without counting (0 before the first visit).
    pub async fn visits(&self) -> Result<i64> {
        let visits: Option<i64> = self.connections.run(cmd("GET").arg(&self.visits)).await?;
        Ok(visits.unwrap_or(0))
    }

    pub async fn ping(&self) -> Result<()> {
        let _: String = self.connections.run(&cmd("PING")).await?;
        Ok(())
    }

    /// The cached access total of the database epoch `epoch`, if any.
    pub async fn cached_total(&self, epoch: &str) -> Result<Option<i64>> {
        let key = self.key(&format!("access_total:{epoch}"));
        self.connections.run(cmd("GET").arg(key)).await
    }

    /// Raises the cached access total of `epoch` to `total`, to expire after `ttl`,
    /// unless it already holds at least that: totals only grow, so a fill carrying
    /// an older total never moves the cached one back past a raise carrying a newer
    /// one. (Sent whole with `EVAL`, once per committed batch, not per view; Redis
    /// keeps it compiled, by its hash.)
    pub async fn raise_cached_total(&self, epoch: &str, total: i64, ttl: Duration) -> Result<()> {
        const RAISE_TO: &str = "
            local current = tonumber(redis.call('GET', KEYS[1]))
            if current == nil or current < tonumber(ARGV[1]) then
                redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            end
            return 0";
        let key = self.key(&format!("access_total:{epoch}"));
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut raise = cmd("EVAL");
        raise.arg(RAISE_TO).arg(1).arg(key).arg(total).arg(ttl_ms);
        let _: i64 = self.connections.run(&raise).await?;
        Ok(())
    }

    /// `/cache`: writes a key of its own and reads it back; fails if the value differs.
    pub async fn write_and_read_back(&self) -> Result<()> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let key = self.key(&format!("cache_check:{token}"));
        let () = self
            .connections
            .run(cmd("SET").arg(&key).arg(&token).arg("EX").arg(10))
            .await?;
        let read: Option<String> = self.connections.run(cmd("GET").arg(&key)).await?;
        if read.as_deref() == Some(token.as_str()) {
            Ok(())
        } else {
            Err(Error::CacheMismatch(read))
        }
    }

    /// Connections checked out of the pool (the shared ones among them).
    pub fn connections_in_use(&self) -> usize {
        self.connections.in_use()
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}
