//! sea-orm entities, one file per table, in the shape `sea-orm-cli generate entity` writes them.
//! Domain logic lives in the modules that own each table, not here.

pub mod attachment_links;
pub mod comment_links;
pub mod connections;
pub mod invitations;
pub mod issue_leases;
pub mod peer_nonces;
pub mod prelude;
pub mod sync_inbox;
pub mod sync_outbox;
pub mod synced_issues;
pub mod tenants;
