//! Stopping, as one small type handed to every part that needs to know.
//!
//! A stop is asked for by SIGTERM or Ctrl-C ([`Shutdown::on_signals`]), or by a test
//! ([`Shutdown::begin`]). From that moment `/readyz` answers 503 and answers close
//! their connections, while [`crate::startup::Application::run_until_stopped`] keeps
//! serving for the drain delay (so a load balancer takes the instance out), then stops
//! accepting connections and lets the requests in flight finish. A stop asked for
//! during start-up ends start-up instead.

use std::sync::Arc;

use tokio::sync::watch;

/// `Shutdown::default()` is one that only [`Shutdown::begin`] starts.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    requested: Arc<watch::Sender<bool>>,
}

impl Shutdown {
    /// A shutdown that SIGTERM or Ctrl-C starts. Needs a Tokio runtime.
    pub fn on_signals() -> Self {
        let shutdown = Self::default();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            let signal = signal().await;
            log::info!("{signal}: stopping");
            trigger.begin();
        });
        shutdown
    }

    pub fn begin(&self) {
        self.requested.send_replace(true);
    }

    pub fn is_requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Resolves once a stop has been asked for.
    pub async fn requested(&self) {
        let mut requested = self.requested.subscribe();
        // The sender lives in `self`, so this cannot fail.
        let _ = requested.wait_for(|requested| *requested).await;
    }
}

/// Waits for SIGTERM or Ctrl-C (SIGINT); answers which came.
async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut terminate), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            log::error!("cannot listen for SIGTERM and SIGINT; stop me with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
