//! Test fixtures, one file per concern. Every test makes its own corner of the
//! shared stores ([`Namespace`]) and it is removed when the test ends.

mod app;
mod namespace;
mod process;
mod proxy;
mod servers;

use std::net::TcpListener;
use std::time::Duration;

use tokio::time::{Instant, sleep};

pub use app::{TestApp, element_text, fetch_page};
pub use namespace::{Namespace, database_url, redis_connection, redis_url};
pub use process::Binary;
pub use proxy::{Mode, Proxy};
pub use servers::{PostgresServer, RedisServer};

/// Polls `check` until it holds or `limit` passes; answers how long it took.
pub async fn eventually<F: AsyncFnMut() -> bool>(
    limit: Duration,
    mut check: F,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A free TCP port on loopback (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A client that shows redirects instead of following them.
///
/// It lets go of an idle connection well before actix closes it (5 s of
/// keep-alive): one reused just as the server closes it fails the request
/// with `IncompleteMessage`, a race in the client, not an answer of Tally's.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("http client")
}

/// How long a cached access total lives, and a little more.
pub fn cache_ttl() -> Duration {
    tally::access_total::cache::TTL + Duration::from_millis(100)
}
