//! A TCP proxy in front of a store, that a test switches to cut or stall it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::copy_bidirectional;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{Namespace, database_url};

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Pass,
    /// Keeps connections open and forwards nothing, like a hung server. The
    /// connections open when the stall began stay silent for good, like a
    /// connection through a network that lost it; new ones wait for the next mode.
    Stall,
    /// Closes every connection, like a server that went away.
    Cut,
}

/// A TCP proxy in front of a store, that a test switches between modes.
pub struct Proxy {
    pub port: u16,
    mode: watch::Sender<Mode>,
    opened: Arc<AtomicUsize>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let (mode, _) = watch::channel(Mode::Pass);
        let modes = mode.clone();
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&opened);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(relay(client, target, modes.subscribe(), counter));
            }
        });
        Self { port, mode, opened }
    }

    /// How many connections to the target the proxy has opened so far.
    pub fn connections_opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    /// A proxy in front of the shared PostgreSQL.
    pub async fn postgres() -> Self {
        Self::start(target_of(&database_url(), 5432)).await
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// A proxy in front of a server on loopback.
    pub async fn local(port: u16) -> Self {
        Self::start(SocketAddr::from(([127, 0, 0, 1], port))).await
    }

    /// `ns`'s database URL (on the shared PostgreSQL), through this proxy.
    pub fn database_url(&self, ns: &Namespace) -> String {
        let base = database_url();
        let target = target_of(&base, 5432);
        ns.database_url_via(&base.replacen(
            &format!("{}:{}", target.ip(), target.port()),
            &format!("127.0.0.1:{}", self.port),
            1,
        ))
    }

    /// A Redis URL through this proxy.
    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

fn target_of(url: &str, default_port: u16) -> SocketAddr {
    let config: tokio_postgres::Config = url.parse().expect("test database url");
    let port = config.get_ports().first().copied().unwrap_or(default_port);
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => format!("{host}:{port}")
            .parse()
            .expect("the test database url names an IP address"),
        _ => panic!("the test database url must name a TCP host"),
    }
}

async fn wait_for_mode(modes: &mut watch::Receiver<Mode>, wanted: impl Fn(Mode) -> bool) -> Mode {
    loop {
        let mode = *modes.borrow_and_update();
        if wanted(mode) {
            return mode;
        }
        if modes.changed().await.is_err() {
            return Mode::Cut;
        }
    }
}

async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    mut modes: watch::Receiver<Mode>,
    opened: Arc<AtomicUsize>,
) {
    if wait_for_mode(&mut modes, |mode| mode != Mode::Stall).await == Mode::Cut {
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    opened.fetch_add(1, Ordering::SeqCst);
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut upstream) => return,
        mode = wait_for_mode(&mut modes, |mode| mode != Mode::Pass) => {
            if mode == Mode::Cut {
                return;
            }
        }
    }
    // Stalled: hold both ends open and silent until the proxy cuts or goes away.
    wait_for_mode(&mut modes, |mode| mode == Mode::Cut).await;
}
