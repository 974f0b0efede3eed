//! Filter language (DESIGN.md): space-separated terms, all must match,
//! case-insensitive substring matching, keywords and `!` negation.
//! Parsed once into a [`Filter`], matched per connection without allocating.

use crate::track::Connection;
use std::fmt;

/// A parse error, with a message fit for the filter bar or stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FilterError {}

/// A compiled filter. The empty filter matches everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    terms: Vec<String>,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Ok(Filter { terms: text.split_whitespace().map(str::to_lowercase).collect() })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, conn: &Connection) -> bool {
        let _ = conn;
        true
    }
}
