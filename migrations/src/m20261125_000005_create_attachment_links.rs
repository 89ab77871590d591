//! Which attachment on this side is the twin of which attachment on the other side, with the
//! SHA-256 of the bytes that were copied.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AttachmentLinks::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AttachmentLinks::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AttachmentLinks::TenantId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AttachmentLinks::ConnectionUid)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AttachmentLinks::IssueId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AttachmentLinks::AttachmentId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AttachmentLinks::TwinAttachmentId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AttachmentLinks::Sha256)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AttachmentLinks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_attachment_links_twin")
                    .table(AttachmentLinks::Table)
                    .col(AttachmentLinks::TenantId)
                    .col(AttachmentLinks::ConnectionUid)
                    .col(AttachmentLinks::IssueId)
                    .col(AttachmentLinks::TwinAttachmentId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AttachmentLinks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AttachmentLinks {
    Table,
    Id,
    TenantId,
    ConnectionUid,
    IssueId,
    AttachmentId,
    TwinAttachmentId,
    Sha256,
    CreatedAt,
}
