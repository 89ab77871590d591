//! Basic-mode issue sync: summary, description, comments, attachments and issue type, both ways.
//! A change flows one way through these stages, one file each:
//!
//! ```text
//! intake      the webhook, the Exalate button            intake.rs
//!             the reconciliation poll, the deletion sweep poll.rs
//!   → change  what Jira has now, diffed with the replica snapshot.rs, replica.rs
//!   → outbox  the message, in the replica's transaction  outbox.rs (wire types: message.rs)
//!   → delivery claim, send, ack, backoff, errors         delivery.rs
//!   → peer    the signed protocol to the other node      crate::connections::peer
//!   → inbox   once per message, in order, heartbeat      inbox.rs
//!   → apply   fields, comments, attachments, issue type  apply/
//!   → glance  the panel's status and the remote links    glance.rs
//! ```
//!
//! Beside them: the Sync Queue and Errors views (admin.rs), every query (store.rs), and the
//! per-issue lock in the database that serialises an apply and the recording of changes of the
//! same issue on any replica (lease.rs).

mod admin;
mod apply;
mod delivery;
mod glance;
mod inbox;
mod intake;
pub mod lease;
mod message;
mod outbox;
mod poll;
pub mod replica;
mod snapshot;
mod store;

pub use apply::attachments::safe_content_type;
pub use message::{SyncAck, SyncMessage};

use crate::connections::peer::{self, PeerClient};
use crate::jira::{JiraClients, JiraError};
use crate::tenants::crypto::SecretBox;
use crate::tenants::{Tenant, TenantStore};
use sea_orm::{DatabaseConnection, EntityTrait};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("There is no active connection with that id.")]
    NoConnection,
    #[error("Issue {0} does not exist or is not in a project of this connection.")]
    IssueNotInConnection(String),
    #[error("You need the Edit Issues permission on {0} to sync it. Ask a Jira administrator of this project.")]
    MayNotEdit(String),
    // Both say who failed themselves ("Jira …", "the other Exalate node …", or the other side's
    // own message), so they are shown as they are.
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Peer(#[from] peer::PeerError),
    #[error("the message is invalid: {0}")]
    Invalid(String),
    #[error("{0}; nothing was changed")]
    InvalidRichText(String),
    #[error("the other side is still applying this change (a large attachment takes a while)")]
    InProgress,
    #[error("{0} was deleted on the other side: the issue is no longer synced (Exalate it again to create a new twin)")]
    TwinDeleted(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Lease(#[from] lease::LeaseError),
    #[error(transparent)]
    Crypto(#[from] crate::tenants::crypto::CryptoError),
    #[error(transparent)]
    Tenant(#[from] crate::tenants::TenantError),
}

type Result<T> = std::result::Result<T, SyncError>;

impl SyncError {
    /// Not failures: the other side is busy applying the message, or a Jira asked for a pause
    /// (429). The message is asked again shortly without using up an attempt.
    fn is_pause(&self) -> bool {
        match self {
            SyncError::Jira(JiraError::RateLimited(_)) => true,
            SyncError::Peer(peer::PeerError::Remote { code, .. }) => {
                code == "in_progress" || code == "jira_rate_limited"
            }
            _ => false,
        }
    }
}

#[derive(Clone)]
pub struct SyncService {
    pub db: DatabaseConnection,
    pub secrets: SecretBox,
    pub tenants: TenantStore,
    pub jira: JiraClients,
    pub peer: PeerClient,
    pub base_url: String,
    pub wake: Arc<Notify>,
    pub max_attachment_bytes: u64,
    pub retry_base_ms: u64,
    /// Twins whose messages are delivered at the same time.
    pub concurrency: usize,
    /// The per-issue lock, in the database (see lease.rs).
    pub leases: lease::IssueLeases,
    /// The app's own Jira account per tenant: webhooks for its own writes need no read.
    pub app_accounts: moka::future::Cache<i64, String>,
    /// Messages this process delivered (acknowledged by the other side) since it started.
    pub delivered: Arc<std::sync::atomic::AtomicU64>,
}

/// Issue property on every twin (and twin comment) this app creates, indexed through the
/// descriptor's `jiraEntityProperties` module so JQL can find it
/// (`issue.property[exalate.twin].origin`).
pub const TWIN_PROPERTY: &str = "exalate.twin";

/// The project of an issue key.
fn project_of(key: &str) -> &str {
    key.split_once('-').map(|(p, _)| p).unwrap_or("")
}

impl SyncService {
    /// The tenant with this id, if it is still installed.
    async fn tenant(&self, id: i64) -> Result<Option<Arc<Tenant>>> {
        let row = crate::entities::tenants::Entity::find_by_id(id)
            .one(&self.db)
            .await?;
        match row {
            Some(r) => Ok(self.tenants.get(&r.client_key).await?),
            None => Ok(None),
        }
    }
}
