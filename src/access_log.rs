//! The access log's rows: what a page view appends, and what the page lists.

use time::OffsetDateTime;

/// The longest path or user agent kept, in characters.
const MAX_FIELD_CHARS: usize = 512;

/// One page view to append.
#[derive(Debug, Clone)]
pub struct NewAccess {
    pub path: String,
    pub user_agent: String,
}

impl NewAccess {
    /// Keeps at most 512 characters of each field, and no NUL (each becomes U+FFFD:
    /// PostgreSQL text refuses it, which would fail every other view in the batch).
    pub fn new(path: &str, user_agent: &str) -> Self {
        let clean = |text: &str| -> String {
            if text.len() <= MAX_FIELD_CHARS && !text.contains('\0') {
                return text.to_owned();
            }
            let kept: String = text.chars().take(MAX_FIELD_CHARS).collect();
            kept.replace('\0', "\u{FFFD}")
        };
        Self {
            path: clean(path),
            user_agent: clean(user_agent),
        }
    }
}

/// One access as the recent list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// When it was logged, in UTC.
    pub at: OffsetDateTime,
    pub user_agent: String,
}
