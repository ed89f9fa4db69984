//! The repair of the access total: a totals row that is missing, or disagrees with
//! the log (someone edited it by hand), is rebuilt from the log and the count of
//! rows pruned from it, with one WARN line. Start-up runs it, and so does whoever
//! finds the row missing.

use crate::error::Result;
use crate::stores::postgres::{Logged, Postgres, Rebuilt};

/// Counts the log against the totals row, and rebuilds the row from the log if it
/// is missing or wrong. Takes as long as counting the log takes.
pub async fn repair(postgres: &Postgres) -> Result<()> {
    let Some(Rebuilt { was, log }) = postgres.recount_total().await? else {
        return Ok(());
    };
    let Logged { rows, pruned } = log;
    let holds = match pruned {
        0 => format!("the log holds {rows} rows"),
        _ => format!("the log holds {rows} rows and {pruned} were pruned from it"),
    };
    match was {
        Some(was) => log::warn!(
            "postgres: the access total said {was} but {holds}; rebuilt it as {}",
            log.views()
        ),
        None => log::warn!("postgres: the access total's row was missing; rebuilt it: {holds}"),
    }
    Ok(())
}
