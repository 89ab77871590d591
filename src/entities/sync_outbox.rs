use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "sync_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub connection_uid: String,
    pub issue_id: String,
    pub seq: i64,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeWithTimeZone,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub done_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
