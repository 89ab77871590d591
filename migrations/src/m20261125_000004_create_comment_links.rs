//! Which comment on this side is the twin of which comment on the other side, so an edit updates
//! the twin, a deletion deletes it, and nothing is ever created twice.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CommentLinks::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(CommentLinks::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CommentLinks::TenantId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommentLinks::ConnectionUid)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommentLinks::IssueId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommentLinks::CommentId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommentLinks::TwinCommentId)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CommentLinks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_comment_links_twin")
                    .table(CommentLinks::Table)
                    .col(CommentLinks::TenantId)
                    .col(CommentLinks::ConnectionUid)
                    .col(CommentLinks::IssueId)
                    .col(CommentLinks::TwinCommentId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CommentLinks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CommentLinks {
    Table,
    Id,
    TenantId,
    ConnectionUid,
    IssueId,
    CommentId,
    TwinCommentId,
    CreatedAt,
}
