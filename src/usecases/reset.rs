//! The reset: the visit counter back to zero. The access log is never reset.

use super::Tally;
use crate::error::Result;

impl Tally {
    /// Sets the Redis visit counter to zero.
    pub async fn reset(&self) -> Result<()> {
        self.redis_health
            .call(self.redis.reset_visits())
            .await
            .result?;
        log::info!("visit counter reset");
        Ok(())
    }
}
