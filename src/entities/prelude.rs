pub use super::comment_links::Entity as CommentLinks;
pub use super::connections::Entity as Connections;
pub use super::invitations::Entity as Invitations;
pub use super::peer_nonces::Entity as PeerNonces;
pub use super::sync_inbox::Entity as SyncInbox;
pub use super::sync_outbox::Entity as SyncOutbox;
pub use super::synced_issues::Entity as SyncedIssues;
pub use super::tenants::Entity as Tenants;
