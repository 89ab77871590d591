//! Tenants: one row per Jira site that installed the app (keyed by Connect's `clientKey`).
//! Rows are never deleted on uninstall, so a re-install finds its connections again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Tenants::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Tenants::ClientKey)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Tenants::PublicId).string_len(64).not_null())
                    .col(ColumnDef::new(Tenants::BaseUrl).string_len(2048).not_null())
                    .col(ColumnDef::new(Tenants::DisplayUrl).string_len(2048).null())
                    .col(
                        ColumnDef::new(Tenants::ProductType)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Tenants::SharedSecretEnc).text().not_null())
                    .col(ColumnDef::new(Tenants::State).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Tenants::InstalledAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Tenants::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Tenants::UninstalledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_tenants_client_key")
                    .table(Tenants::Table)
                    .col(Tenants::ClientKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_tenants_public_id")
                    .table(Tenants::Table)
                    .col(Tenants::PublicId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tenants::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    ClientKey,
    PublicId,
    BaseUrl,
    DisplayUrl,
    ProductType,
    SharedSecretEnc,
    State,
    InstalledAt,
    UpdatedAt,
    UninstalledAt,
}
