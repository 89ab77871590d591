use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Eq)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub uid: String,
    pub tenant_id: i64,
    pub name: String,
    pub mode: String,
    pub role: String,
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_reason: Option<String>,
    pub local_project_key: Option<String>,
    pub local_project_name: Option<String>,
    pub remote_project_key: Option<String>,
    pub remote_project_name: Option<String>,
    pub remote_site_url: Option<String>,
    pub remote_exalate_url: Option<String>,
    pub remote_site_name: Option<String>,
    pub is_local: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub peer_secret_enc: Option<String>,
    pub issues_in_sync: i64,
    pub last_activity_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
