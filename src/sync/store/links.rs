//! Queries on the links between this side's comments and attachments and the twin's.

use super::of_issue;
use crate::entities::{attachment_links as al, comment_links as cl};
use crate::sync::Result;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

pub async fn comment_links(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
) -> Result<Vec<cl::Model>> {
    Ok(cl::Entity::find()
        .filter(of_issue::<cl::Entity>(tenant_id, uid, issue_id))
        .all(db)
        .await?)
}

/// Links comment `comment_id` of `issue_id` to the twin's comment `twin_comment_id`.
pub async fn link_comment(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    comment_id: String,
    twin_comment_id: &str,
) -> Result<()> {
    cl::ActiveModel {
        tenant_id: Set(tenant_id),
        connection_uid: Set(uid.to_owned()),
        issue_id: Set(issue_id.to_owned()),
        comment_id: Set(comment_id),
        twin_comment_id: Set(twin_comment_id.to_owned()),
        created_at: Set(Utc::now().fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn unlink_comment(db: &impl ConnectionTrait, link: &cl::Model) -> Result<()> {
    cl::Entity::delete_many()
        .filter(cl::Column::Id.eq(link.id))
        .filter(cl::Column::TenantId.eq(link.tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn attachment_links(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
) -> Result<Vec<al::Model>> {
    Ok(al::Entity::find()
        .filter(of_issue::<al::Entity>(tenant_id, uid, issue_id))
        .all(db)
        .await?)
}

/// Links attachment `attachment_id` of `issue_id` to the twin's `twin_attachment_id`, with the
/// SHA-256 of what was uploaded (empty when not known).
pub async fn link_attachment(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    attachment_id: String,
    twin_attachment_id: &str,
    sha256: String,
) -> Result<()> {
    al::ActiveModel {
        tenant_id: Set(tenant_id),
        connection_uid: Set(uid.to_owned()),
        issue_id: Set(issue_id.to_owned()),
        attachment_id: Set(attachment_id),
        twin_attachment_id: Set(twin_attachment_id.to_owned()),
        sha256: Set(sha256),
        created_at: Set(Utc::now().fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn unlink_attachment(db: &impl ConnectionTrait, link: &al::Model) -> Result<()> {
    al::Entity::delete_many()
        .filter(al::Column::Id.eq(link.id))
        .filter(al::Column::TenantId.eq(link.tenant_id))
        .exec(db)
        .await?;
    Ok(())
}
