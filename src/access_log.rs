//! The access log's rows: what a page view appends, and what the page lists.

/// The longest path or user agent kept, in characters.
const MAX_FIELD_CHARS: usize = 512;

/// One page view to append.
#[derive(Debug, Clone)]
pub struct NewAccess {
    pub path: String,
    pub user_agent: String,
}

impl NewAccess {
    /// Keeps at most 512 characters of each field, and no NUL (PostgreSQL text refuses
    /// it, which would fail every other view in the same batch).
    pub fn new(path: &str, user_agent: &str) -> Self {
        let clean = |text: &str| -> String {
            text.chars()
                .take(MAX_FIELD_CHARS)
                .map(|c| {
                    if c == '\0' {
                        char::REPLACEMENT_CHARACTER
                    } else {
                        c
                    }
                })
                .collect()
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
    /// RFC 3339, in UTC, for `<time datetime>`.
    pub at: String,
    /// The same time as people read it.
    pub at_text: String,
    pub user_agent: String,
}
