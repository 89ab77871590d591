//! The per-issue lock in the database, so it holds across replicas: one row per (site, issue)
//! while someone applies to it, records its change, or sends it; a dead holder's lease expires.
//! The outbox gets a unique (site, connection, issue, seq), so a sequence number can't be handed
//! out twice (duplicates that the old in-memory lock let through are dropped first, oldest kept).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IssueLeases::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(IssueLeases::TenantId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IssueLeases::IssueId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IssueLeases::Holder)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IssueLeases::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IssueLeases::TenantId)
                            .col(IssueLeases::IssueId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM sync_outbox WHERE id NOT IN (SELECT MIN(id) FROM sync_outbox \
                 GROUP BY tenant_id, connection_uid, issue_id, seq)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_sync_outbox_issue_seq")
                    .table(SyncOutbox::Table)
                    .col(SyncOutbox::TenantId)
                    .col(SyncOutbox::ConnectionUid)
                    .col(SyncOutbox::IssueId)
                    .col(SyncOutbox::Seq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_sync_outbox_issue_seq")
                    .table(SyncOutbox::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(IssueLeases::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IssueLeases {
    Table,
    TenantId,
    IssueId,
    Holder,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum SyncOutbox {
    Table,
    TenantId,
    ConnectionUid,
    IssueId,
    Seq,
}
