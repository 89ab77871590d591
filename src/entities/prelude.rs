pub use super::connections::Entity as Connections;
pub use super::invitations::Entity as Invitations;
pub use super::peer_nonces::Entity as PeerNonces;
pub use super::tenants::Entity as Tenants;
