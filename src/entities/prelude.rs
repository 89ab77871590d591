pub use super::tenants::Entity as Tenants;
