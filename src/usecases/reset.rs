//! The reset: the visit counter back to zero. The access log is never reset.

use super::{Tally, timed};
use crate::error::Result;

impl Tally {
    /// Sets the Redis visit counter to zero.
    pub async fn reset(&self) -> Result<()> {
        let reset = timed(self.redis.reset_visits()).await;
        self.redis_health.observe(&reset.result, reset.elapsed);
        reset.result?;
        log::info!("visit counter reset");
        Ok(())
    }
}
