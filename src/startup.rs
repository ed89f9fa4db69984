//! Builds the HTTP server: every route in [`configure`], the middleware, the limits.
//! `main` and the tests both start Tally through [`run`], so they cannot drift.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_files::{Files, NamedFile};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, Logger, from_fn};
use actix_web::{App, FromRequest, Handler, HttpServer, Resource, Responder, guard, web};

use crate::state::AppState;
use crate::{limits, routes};

/// One log line per request: client, request line, status, size, duration.
const LOG_FORMAT: &str = r#"%a "%r" %s %bB %Dms"#;

/// No inline script or style, nothing from elsewhere, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// How long a client has to send its request head before it gets a 408.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts serving on `listener` and returns the server without awaiting it.
pub fn run(
    listener: TcpListener,
    state: AppState,
    static_dir: PathBuf,
    shutdown_timeout: Duration,
) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        let static_dir = static_dir.clone();
        App::new()
            .app_data(state.clone())
            .wrap(from_fn(limits::enforce))
            .wrap(security_headers())
            .wrap(Logger::new(LOG_FORMAT))
            .configure(move |cfg| configure(cfg, &static_dir))
    })
    .listen(listener)?
    .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
    .shutdown_timeout(shutdown_timeout.as_secs())
    .run();
    Ok(server)
}

/// Every route Tally answers.
pub fn configure(cfg: &mut web::ServiceConfig, static_dir: &Path) {
    let favicon = static_dir.join("favicon.svg");
    cfg.service(
        web::resource("/")
            .route(web::get().to(routes::index))
            .default_service(web::to(routes::method_not_allowed("GET"))),
    )
    .service(
        web::resource("/reset")
            .route(web::post().to(routes::reset))
            .default_service(web::to(routes::method_not_allowed("POST"))),
    )
    .service(read_only("/api/stats", routes::stats))
    .service(read_only("/db", routes::db))
    .service(read_only("/cache", routes::cache))
    .service(read_only("/healthz", routes::healthz))
    .service(read_only("/readyz", routes::readyz))
    .service(read_only("/favicon.ico", move || {
        let favicon = favicon.clone();
        async move { NamedFile::open(favicon) }
    }))
    .service(Files::new("/static", static_dir).default_handler(web::to(routes::not_found)))
    .default_service(web::to(routes::not_found));
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
        .route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(handler),
        )
        .default_service(web::to(routes::method_not_allowed("GET, HEAD")))
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}
