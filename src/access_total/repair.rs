//! The repair of the access total: a totals row that is missing, or disagrees with
//! the log (someone edited it by hand), is rebuilt from the log, with one WARN line.
//! Start-up runs it, and so does whoever finds the row missing.

use crate::error::Result;
use crate::stores::postgres::{Postgres, Rebuilt};

/// Counts the log against the totals row, and rebuilds the row from the log if it
/// is missing or wrong. Takes as long as counting the log takes.
pub async fn repair(postgres: &Postgres) -> Result<()> {
    match postgres.recount_total().await? {
        Some(Rebuilt {
            was: Some(was),
            now,
        }) => log::warn!(
            "postgres: the access total said {was} but the log holds {now} rows; rebuilt it from the log"
        ),
        Some(Rebuilt { was: None, now }) => log::warn!(
            "postgres: the access total's row was missing; rebuilt it from the log ({now} rows)"
        ),
        None => {}
    }
    Ok(())
}
