//! The label last written to a synced issue's glance property, so the app only writes it to Jira
//! when it changes (one Jira call fewer per synced change on each side).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SyncedIssues::Table)
                    .add_column(ColumnDef::new(SyncedIssues::Glance).string_len(32).null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SyncedIssues::Table)
                    .drop_column(SyncedIssues::Glance)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SyncedIssues {
    Table,
    Glance,
}
