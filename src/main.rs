//! Start-up only: read the settings, start logging, build the app, serve until
//! SIGTERM or Ctrl-C (or answer `tally healthcheck`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tally::config::{self, Command, Settings};
use tally::shutdown::Shutdown;
use tally::startup::{Application, BuildError};
use tally::stores::postgres::Postgres;
use tally::{access_total, healthcheck, logging};

/// Exit code for a bad setting or argument (the process never started).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("tally: .env: {error}");
        return ExitCode::from(EXIT_USAGE);
    }
    let settings = match Settings::try_parse() {
        Ok(settings) => settings,
        Err(help) if !help.use_stderr() => {
            // --help or --version.
            let _ = help.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("tally: {}", config::one_line(&error));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(Command::Healthcheck) = settings.command {
        return run_healthcheck(&settings);
    }
    logging::init(&settings.log_filter, settings.log_format);
    let runtime = actix_web::rt::System::new();
    if let Some(Command::Prune {
        older_than,
        dry_run,
    }) = settings.command
    {
        return runtime.block_on(prune(&settings, older_than, dry_run));
    }
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> ExitCode {
    let app = match Application::build(&settings, Shutdown::on_signals()).await {
        Ok(app) => app,
        Err(BuildError::Stopped) => {
            log::info!("stopped before start-up finished");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            log::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log::error!("server failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `tally prune`: brings the schema up to date (an older Tally's database has no
/// count of pruned rows yet), then prunes.
async fn prune(settings: &Settings, older_than: Duration, dry_run: bool) -> ExitCode {
    let postgres = Postgres::new(settings);
    let pruned = match postgres.migrate().await {
        Ok(_) => access_total::prune::prune(&postgres, older_than, dry_run).await,
        Err(error) => Err(error),
    };
    match pruned {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            let addr = settings.database_addr();
            log::error!("prune failed: postgres at {addr}: {}", error.chain());
            ExitCode::FAILURE
        }
    }
}

/// `tally healthcheck`: 0 when this machine's Tally answers `/healthz`, else 1.
fn run_healthcheck(settings: &Settings) -> ExitCode {
    let probed = settings
        .probe_addr()
        .map_err(|e| format!("HOST cannot be resolved: {e}"))
        .and_then(|addr| healthcheck::probe(addr, Duration::from_secs(3)));
    match probed {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("tally healthcheck: {problem}");
            ExitCode::FAILURE
        }
    }
}
