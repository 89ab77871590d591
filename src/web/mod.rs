//! The HTTP edge: routes, extractors, the error type, and page shells.

pub mod api;
pub mod assets;
pub mod error;
pub mod extractors;
pub mod guesses;
pub mod pages;
pub mod peer_api;
pub mod request_log;
pub mod routes;
pub mod security_headers;
