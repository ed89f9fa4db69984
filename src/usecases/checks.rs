//! The stores asked on demand (`/db`, `/cache`), and what readiness reports of them.

use super::{Tally, Timed};

/// Each store's state as its health knows it (no store is asked).
pub struct Readiness {
    pub postgres_up: bool,
    pub redis_up: bool,
}

impl Tally {
    /// Asks PostgreSQL for `SELECT 1`.
    pub async fn check_postgres(&self) -> Timed<()> {
        self.postgres_health.call(self.postgres.ping()).await
    }

    /// Writes a test key to Redis and reads it back.
    pub async fn check_redis(&self) -> Timed<()> {
        self.redis_health.call(self.redis.check()).await
    }

    /// Each store's last known state, for `/readyz`: it costs no store call, so a
    /// slow store never slows the answer.
    pub fn readiness(&self) -> Readiness {
        Readiness {
            postgres_up: self.postgres_health.is_up(),
            redis_up: self.redis_health.is_up(),
        }
    }
}
