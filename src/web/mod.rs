//! The HTTP edge: routes, extractors, the error type, and page shells.

pub mod api;
pub mod assets;
pub mod error;
pub mod extractors;
pub mod pages;
pub mod routes;
