//! Starting, running and stopping Tally. [`Application::build`] is the only way to
//! start an instance: `main` and every test call it, so they cannot drift. It owns
//! start-up whole: waiting for each store with backoff, the schema, the access
//! total's check, the writer and the stores' health, then listening. Every route is
//! in [`configure`]; what wraps them is in [`crate::middleware`].

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_files::{Files, NamedFile};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, FromRequest, Handler, HttpServer, Resource, Responder, guard, web};
use futures_util::future::join;
use tokio::time::{Instant, sleep, timeout};

use crate::access_total::cache::Cache;
use crate::access_total::prune::Schedule;
use crate::access_total::repair::repair;
use crate::access_total::writer::Writer;
use crate::config::Settings;
use crate::error::Result;
use crate::metrics::Metrics;
use crate::middleware;
use crate::page::recent::RecentLists;
use crate::routes;
use crate::shutdown::Shutdown;
use crate::store_health::StoreHealth;
use crate::stores::postgres::Postgres;
use crate::stores::redis::Redis;
use crate::usecases::{RECENT_LIMIT, Tally};

/// How long a client has to send its request head before it gets a 408.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an instance did not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("giving up: {store} at {addr} refused us: {cause}")]
    Refused {
        store: &'static str,
        addr: String,
        cause: String,
    },
    #[error("giving up: {store} at {addr} did not answer within {budget:?}: {cause}")]
    GaveUp {
        store: &'static str,
        addr: String,
        budget: Duration,
        cause: String,
    },
    #[error("giving up: postgres: schema not brought up to date: {0}")]
    Schema(String),
    #[error("giving up: postgres: the access total could not be checked: {0}")]
    Total(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    /// A stop was asked for before start-up finished.
    #[error("stopped during start-up")]
    Stopped,
}

/// A started instance: stores ready, schema current, listening.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    shutdown: Shutdown,
    drain_delay: Duration,
    shutdown_timeout: Duration,
}

impl Application {
    /// Waits for the stores, brings the schema up to date, checks the access total,
    /// and starts listening. A stop asked for meanwhile ends start-up with
    /// [`BuildError::Stopped`].
    pub async fn build(settings: &Settings, shutdown: Shutdown) -> Result<Self, BuildError> {
        log::info!(
            "starting: postgres at {}, redis at {}, start-up budget {:?}",
            settings.database_addr(),
            settings.redis_addr(),
            settings.startup_budget
        );
        let metrics = Metrics::default();
        let tally = tokio::select! {
            tally = start(settings, metrics.clone()) => tally?,
            () = shutdown.requested() => return Err(BuildError::Stopped),
        };
        let listen_error = |source| BuildError::Listen {
            addr: format!("{}:{}", settings.host, settings.port),
            source,
        };
        let listener = settings
            .listen_addrs()
            .and_then(|addrs| TcpListener::bind(&addrs[..]))
            .map_err(listen_error)?;
        let addr = listener.local_addr().map_err(listen_error)?;
        let instance = tally.instance().to_owned();
        let server = serve(
            listener,
            tally,
            metrics,
            shutdown.clone(),
            &settings.static_dir,
            settings.shutdown_timeout,
        )
        .map_err(listen_error)?;
        log::info!("listening on http://{addr} as {instance}");
        Ok(Self {
            server,
            addr,
            shutdown,
            drain_delay: settings.drain_delay,
            shutdown_timeout: settings.shutdown_timeout,
        })
    }

    /// The address the instance listens on (its port is the real one when `PORT` is 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until a stop is asked for, then drains: `/readyz` answers 503 at once
    /// and the instance keeps serving for the drain delay; then it stops accepting
    /// connections and gives requests in flight the shutdown timeout to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let mut server = tokio::spawn(self.server);
        tokio::select! {
            ended = &mut server => return ended?,
            () = self.shutdown.requested() => {}
        }
        log::info!(
            "draining: /readyz answers 503; serving {:?} more so a load balancer takes this instance out",
            self.drain_delay
        );
        tokio::select! {
            ended = &mut server => return ended?,
            () = tokio::time::sleep(self.drain_delay) => {}
        }
        log::info!(
            "closing: no new connections; requests in flight get up to {:?} to finish",
            self.shutdown_timeout
        );
        handle.stop(true).await;
        server.await??;
        log::info!("stopped");
        Ok(())
    }
}

/// Waits for both stores (each with backoff, within the start-up budget), brings
/// the schema up to date, checks the access total against the log, and starts the
/// access log writer and the stores' health probes.
async fn start(settings: &Settings, metrics: Metrics) -> Result<Tally, BuildError> {
    let postgres = Postgres::new(settings);
    let redis = Redis::new(settings);
    let (postgres_ready, redis_ready) = join(
        wait_for("postgres", settings.database_addr(), settings, async || {
            postgres.ping().await
        }),
        wait_for("redis", settings.redis_addr(), settings, async || {
            redis.ping().await
        }),
    )
    .await;
    postgres_ready.and(redis_ready)?;
    let applied = postgres
        .migrate()
        .await
        .map_err(|e| BuildError::Schema(e.chain()))?;
    log::info!(
        "schema up to date ({} migration(s) applied now)",
        applied.len()
    );
    repair(&postgres)
        .await
        .map_err(|e| BuildError::Total(e.chain()))?;
    let cache = Arc::new(Cache::new(redis.clone()));
    let writer = Writer::start(
        postgres.clone(),
        Arc::clone(&cache),
        settings.batch_max,
        RECENT_LIMIT,
        metrics.clone(),
    );
    let timeout = settings.store_timeout;
    let postgres_health = StoreHealth::watch("postgres", timeout, metrics.store("postgres"), {
        let postgres = postgres.clone();
        move || {
            let postgres = postgres.clone();
            async move { postgres.ping().await }
        }
    });
    let redis_health = StoreHealth::watch("redis", timeout, metrics.store("redis"), {
        let redis = redis.clone();
        move || {
            let redis = redis.clone();
            async move { redis.ping().await }
        }
    });
    let pruning = (settings.prune_older_than).map(|age| Schedule::start(postgres.clone(), age));
    Ok(Tally {
        postgres,
        redis,
        writer,
        cache,
        postgres_health,
        redis_health,
        metrics,
        instance: settings.instance_name(),
        _pruning: pruning,
    })
}

/// Tries `attempt` with exponential backoff (250 ms doubling to 5 s) until it
/// succeeds, fails for good, or the start-up budget is spent; each try has the
/// store timeout. Each failed try logs one line.
async fn wait_for(
    store: &'static str,
    addr: String,
    settings: &Settings,
    attempt: impl AsyncFn() -> Result<()>,
) -> Result<(), BuildError> {
    let budget = settings.startup_budget;
    let deadline = Instant::now() + budget;
    let mut delay = Duration::from_millis(250);
    let mut number = 0;
    loop {
        number += 1;
        let tried = timeout(settings.store_timeout, attempt())
            .await
            .unwrap_or(Err(crate::error::Error::Timeout));
        let error = match tried {
            Ok(()) => {
                log::info!("{store} ready at {addr} (attempt {number})");
                return Ok(());
            }
            Err(error) => error,
        };
        let cause = error.chain();
        if error.is_permanent() {
            return Err(BuildError::Refused { store, addr, cause });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(BuildError::GaveUp {
                store,
                addr,
                budget,
                cause,
            });
        }
        log::warn!("{store} not ready at {addr} (attempt {number}): {cause}");
        sleep(delay.min(left)).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// The HTTP server on `listener`, not yet awaited.
fn serve(
    listener: TcpListener,
    tally: Tally,
    metrics: Metrics,
    shutdown: Shutdown,
    static_dir: &Path,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    let tally = web::Data::new(tally);
    let metrics = web::Data::new(metrics);
    let shutdown = web::Data::new(shutdown);
    let recent_lists = web::Data::new(RecentLists::default());
    let static_dir = static_dir.to_path_buf();
    let server = HttpServer::new(move || {
        let static_dir = static_dir.clone();
        App::new()
            .app_data(tally.clone())
            .app_data(metrics.clone())
            .app_data(shutdown.clone())
            .app_data(recent_lists.clone())
            .wrap(from_fn(middleware::guard))
            .wrap(from_fn(middleware::trace))
            .configure(move |cfg| configure(cfg, &static_dir))
    })
    .listen(listener)?
    // Signals are Tally's own (see `Shutdown`), so it can drain before stopping.
    .disable_signals()
    .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
    .shutdown_timeout(shutdown_timeout.as_secs())
    .run();
    Ok(server)
}

/// Every route Tally answers. Each resource is named by its path, which the
/// metrics label requests with.
pub fn configure(cfg: &mut web::ServiceConfig, static_dir: &Path) {
    let favicon = static_dir.join("favicon.svg");
    cfg.service(
        web::resource("/")
            .name("/")
            .route(web::get().to(routes::index))
            .default_service(web::to(routes::method_not_allowed("GET"))),
    )
    .service(
        web::resource("/reset")
            .name("/reset")
            .route(web::post().to(routes::reset))
            .default_service(web::to(routes::method_not_allowed("POST"))),
    )
    .service(read_only("/api/stats", routes::stats))
    .service(read_only("/db", routes::db))
    .service(read_only("/cache", routes::cache))
    .service(read_only("/healthz", routes::healthz))
    .service(read_only("/readyz", routes::readyz))
    .service(read_only("/metrics", routes::metrics))
    .service(
        read_only("/favicon.ico", move || {
            let favicon = favicon.clone();
            async move { NamedFile::open(favicon) }
        })
        .wrap(revalidated()),
    )
    .service(
        web::scope("/static")
            .guard(guard::Any(guard::Get()).or(guard::Head()))
            .wrap(revalidated())
            .service(Files::new("", static_dir).default_handler(web::to(routes::not_found))),
    )
    .service(
        web::resource(["/static", "/static/{file:.*}"]).to(routes::method_not_allowed("GET, HEAD")),
    )
    .default_service(web::to(routes::not_found));
}

/// The stylesheet and icons are checked again on every load (`no-cache`), which
/// costs a 304 while they are unchanged (actix-files sends `ETag` and
/// `Last-Modified`): without it a browser may reuse an edited file's old copy.
fn revalidated() -> DefaultHeaders {
    DefaultHeaders::new().add((actix_web::http::header::CACHE_CONTROL, "no-cache"))
}

/// A resource that answers GET and HEAD (monitors often probe with HEAD) and
/// 405 to any other method. The page itself takes GET only: a HEAD would count.
fn read_only<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .name(path)
        .route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(handler),
        )
        .default_service(web::to(routes::method_not_allowed("GET, HEAD")))
}
