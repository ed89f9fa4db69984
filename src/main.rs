//! Start-up only: read the settings, start logging, wait for the stores, bring
//! the schema up to date, serve until SIGTERM or Ctrl-C.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use tally::config::{self, Settings};
use tally::healthcheck;
use tally::startup;
use tally::state::AppState;

/// Exit code for a bad setting or argument (the process never started).
const EXIT_USAGE: u8 = 2;

#[actix_web::main]
async fn main() -> ExitCode {
    let healthcheck_only = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("healthcheck") => true,
        Some(other) => {
            eprintln!("tally: unknown argument {other:?}; run `tally` or `tally healthcheck`");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("tally: .env: {error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let settings = match Settings::from_env().and_then(|s| config::resolve(&s).map(|_| s)) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("tally: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if healthcheck_only {
        return match healthcheck::probe(settings.port, Duration::from_secs(3)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(problem) => {
                eprintln!("tally healthcheck: {problem}");
                ExitCode::FAILURE
            }
        };
    }
    env_logger::Builder::new()
        .parse_filters(&settings.log_filter)
        .init();
    match serve(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            log::error!("{problem}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    log::info!(
        "starting: postgres at {}, redis at {}, start-up budget {:?}",
        settings.database_addr(),
        settings.redis_addr(),
        settings.startup_budget
    );
    let state = AppState::new(&settings);
    state
        .wait_until_ready(settings.startup_budget)
        .await
        .map_err(|e| format!("giving up: {e}"))?;
    let applied = state
        .postgres
        .migrate()
        .await
        .map_err(|e| format!("postgres: schema not brought up to date: {}", e.chain()))?;
    log::info!(
        "schema up to date ({} migration(s) applied now)",
        applied.len()
    );
    let addr = settings.listen_addr();
    let listener = TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let server = startup::run(
        listener,
        state,
        settings.static_dir.clone(),
        settings.shutdown_timeout,
    )
    .map_err(|e| format!("cannot serve on {local}: {e}"))?;
    log::info!("listening on http://{local}");
    server.await.map_err(|e| format!("server failed: {e}"))?;
    log::info!("stopped");
    Ok(())
}
