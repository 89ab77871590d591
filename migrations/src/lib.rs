//! Schema migrations, append-only: a released migration is never edited, a change is a new file.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_tenants;
mod m20261125_000002_create_connections;
mod m20261125_000003_create_sync;
mod m20261125_000004_create_comment_links;
mod m20261125_000005_create_attachment_links;
mod m20261125_000006_add_synced_issue_glance;
mod m20261202_000007_add_connection_remote_site_name;
mod m20261202_000008_add_invitation_acceptor_proof;
mod m20261202_000009_create_issue_leases;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_tenants::Migration),
            Box::new(m20261125_000002_create_connections::Migration),
            Box::new(m20261125_000003_create_sync::Migration),
            Box::new(m20261125_000004_create_comment_links::Migration),
            Box::new(m20261125_000005_create_attachment_links::Migration),
            Box::new(m20261125_000006_add_synced_issue_glance::Migration),
            Box::new(m20261202_000007_add_connection_remote_site_name::Migration),
            Box::new(m20261202_000008_add_invitation_acceptor_proof::Migration),
            Box::new(m20261202_000009_create_issue_leases::Migration),
        ]
    }
}
