//! The metrics report: everything [`crate::metrics`] holds, with the pools'
//! connections in use read at the moment of asking.

use super::Tally;

impl Tally {
    /// The metrics in Prometheus's text format.
    pub fn report(&self) -> String {
        let (readers, writer) = self.postgres.connections_in_use();
        self.metrics.pool_in_use("postgres_readers", readers);
        self.metrics.pool_in_use("postgres_writer", writer);
        self.metrics
            .pool_in_use("redis", self.redis.connections_in_use());
        self.metrics.render()
    }
}
