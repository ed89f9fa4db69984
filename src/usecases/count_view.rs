//! A page view: one visit counted in Redis and one row appended to the access log,
//! at once, each on its own clock, so a store that is down or slow costs only its
//! own number, never the other one or the page.

use futures_util::future::join;

use super::{Tally, Timed};
use crate::access_log::NewAccess;
use crate::access_total::Recorded;

/// What one page view did in each store.
pub struct View {
    /// The visit counter after this view.
    pub visits: Timed<i64>,
    /// This view's row: the access total after it, and the newest accesses.
    pub access: Timed<Recorded>,
}

impl Tally {
    /// Counts one view of `path` by `user_agent` in both stores, within the store timeout.
    pub async fn count_view(&self, path: &str, user_agent: &str) -> View {
        let deadline = self.postgres_health.deadline();
        let access = NewAccess::new(path, user_agent);
        let (visits, access) = join(
            self.redis_health.call(self.redis.count_visit()),
            self.postgres_health
                .call_by(deadline, self.access_total.record(access, deadline)),
        )
        .await;
        self.metrics.view();
        View { visits, access }
    }
}
