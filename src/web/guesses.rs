//! Wrong invitation codes, counted per source (a peer's address, or a site for the console) in
//! a sliding minute: past `connections.max_code_guesses_per_minute` the source gets 429 without
//! its code being looked at, and the first refusal is logged (never the code itself). Codes are
//! 256-bit, so this is not what keeps them safe; it keeps a guesser from costing us database work.

use super::error::ApiError;
use crate::connections::ConnectionError;
use actix_web::http::StatusCode;
use moka::sync::Cache;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct CodeGuesses {
    max_per_window: u32,
    wrong: Cache<String, Arc<AtomicU32>>,
}

impl CodeGuesses {
    pub fn new(max_per_minute: u32) -> Self {
        CodeGuesses {
            max_per_window: max_per_minute.max(1),
            wrong: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }

    /// 429 for a source that guessed wrong too often in the last minute.
    pub fn check(&self, source: &str) -> Result<(), ApiError> {
        let n = self
            .wrong
            .get(source)
            .map_or(0, |c| c.load(Ordering::Relaxed));
        if n >= self.max_per_window {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_guesses",
                "Too many invalid invitation codes from here. Wait a minute, then paste the code again.",
            ));
        }
        Ok(())
    }

    /// Counts the outcome of a code lookup: only a code that matches nothing is a guess.
    pub fn record<T>(&self, source: &str, outcome: &Result<T, ConnectionError>) {
        if !matches!(outcome, Err(ConnectionError::InvitationInvalid)) {
            return;
        }
        let counter = self
            .wrong
            .get_with(source.to_owned(), || Arc::new(AtomicU32::new(0)));
        if counter.fetch_add(1, Ordering::Relaxed) + 1 == self.max_per_window {
            tracing::warn!(%source, limit = self.max_per_window, "invalid invitation codes: source limited for a minute");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_limited_after_its_wrong_guesses_and_others_are_not() {
        let g = CodeGuesses::new(3);
        for _ in 0..3 {
            assert!(g.check("a").is_ok());
            g.record::<()>("a", &Err(ConnectionError::InvitationInvalid));
        }
        assert_eq!(
            g.check("a").unwrap_err().status,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert!(g.check("b").is_ok());
        // Codes that exist but are used or expired are no guesses.
        g.record::<()>("b", &Err(ConnectionError::InvitationUsed));
        g.record::<()>("b", &Err(ConnectionError::InvitationUsed));
        g.record::<()>("b", &Err(ConnectionError::InvitationUsed));
        assert!(g.check("b").is_ok());
    }
}
