//! Everything that talks to Jira Cloud: the allowlist, the signed REST client, and API shapes.

pub mod allowlist;
pub mod client;
pub mod types;

pub use allowlist::{HostAllowlist, UrlError};
pub use client::{JiraClient, JiraClients, JiraError};
