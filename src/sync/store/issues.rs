//! Queries on synced issues: one row per issue and connection, with its twin, its recorded replica
//! and its next sequence number; and the end of a pair.

use super::{of_connection, of_issue};
use crate::entities::{
    attachment_links as al, comment_links as cl, sync_inbox, sync_outbox, synced_issues,
};
use crate::sync::{Result, SyncError};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

/// The synced row of one issue over one connection.
pub async fn row(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
) -> Result<Option<synced_issues::Model>> {
    Ok(synced_issues::Entity::find()
        .filter(of_issue::<synced_issues::Entity>(tenant_id, uid, issue_id))
        .one(db)
        .await?)
}

/// The synced row whose twin (on the other side) is `twin_id`.
pub async fn row_by_twin(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    twin_id: &str,
) -> Result<Option<synced_issues::Model>> {
    Ok(synced_issues::Entity::find()
        .filter(of_connection::<synced_issues::Entity>(tenant_id, uid))
        .filter(synced_issues::Column::TwinId.eq(twin_id))
        .one(db)
        .await?)
}

/// Every synced row of one issue (one per connection it is synced over).
pub async fn rows_of_issue(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    issue_id: &str,
) -> Result<Vec<synced_issues::Model>> {
    Ok(synced_issues::Entity::find()
        .filter(synced_issues::Column::TenantId.eq(tenant_id))
        .filter(synced_issues::Column::IssueId.eq(issue_id))
        .all(db)
        .await?)
}

/// Every synced row of a tenant.
pub async fn rows_of_tenant(
    db: &impl ConnectionTrait,
    tenant_id: i64,
) -> Result<Vec<synced_issues::Model>> {
    Ok(synced_issues::Entity::find()
        .filter(synced_issues::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?)
}

/// Rows of issue `issue_id` over `uid` among the given tenants (those whose ends signed a peer
/// request).
pub async fn rows_for_peer(
    db: &impl ConnectionTrait,
    uid: &str,
    issue_id: &str,
    tenant_ids: impl IntoIterator<Item = i64>,
) -> Result<Vec<synced_issues::Model>> {
    Ok(synced_issues::Entity::find()
        .filter(synced_issues::Column::ConnectionUid.eq(uid))
        .filter(synced_issues::Column::IssueId.eq(issue_id))
        .filter(synced_issues::Column::TenantId.is_in(tenant_ids))
        .all(db)
        .await?)
}

/// Node-wide: every synced row (the reconciliation poll groups them by tenant), or only those
/// with a twin (the deletion sweep).
pub async fn all_rows(
    db: &impl ConnectionTrait,
    with_twin_only: bool,
) -> Result<Vec<synced_issues::Model>> {
    let mut q = synced_issues::Entity::find();
    if with_twin_only {
        q = q.filter(synced_issues::Column::TwinId.is_not_null());
    }
    Ok(q.all(db).await?)
}

/// A row of this tenant by its own id (the Errors page's handle).
pub async fn own_row(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    id: &str,
) -> Result<synced_issues::Model> {
    let id: i64 = id.parse().map_err(|_| SyncError::NoConnection)?;
    synced_issues::Entity::find_by_id(id)
        .filter(synced_issues::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(SyncError::NoConnection)
}

/// The rows the Errors page lists, newest first.
pub async fn error_rows(
    db: &impl ConnectionTrait,
    tenant_id: i64,
) -> Result<Vec<synced_issues::Model>> {
    Ok(synced_issues::Entity::find()
        .filter(synced_issues::Column::TenantId.eq(tenant_id))
        .filter(synced_issues::Column::Status.eq("error"))
        .order_by_desc(synced_issues::Column::UpdatedAt)
        .all(db)
        .await?)
}

/// A new row for an issue the Exalate button starts syncing (nothing sent yet).
pub async fn insert_started(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    issue_key: &str,
) -> Result<synced_issues::Model> {
    let now = Utc::now().fixed_offset();
    Ok(synced_issues::ActiveModel {
        tenant_id: Set(tenant_id),
        connection_uid: Set(uid.to_owned()),
        issue_id: Set(issue_id.to_owned()),
        issue_key: Set(issue_key.to_owned()),
        status: Set("in_progress".into()),
        next_seq: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Takes sequence number `seq` of a synced issue for one message, in the transaction that writes
/// the message: only if it is still the next one (a compare-and-set in the database, so two
/// replicas can never hand out the same number; the outbox's unique index backs it up).
pub async fn take_seq(
    txn: &impl ConnectionTrait,
    row: &synced_issues::Model,
    seq: i64,
) -> Result<()> {
    let taken = synced_issues::Entity::update_many()
        .col_expr(
            synced_issues::Column::NextSeq,
            Expr::col(synced_issues::Column::NextSeq).add(1),
        )
        .filter(synced_issues::Column::Id.eq(row.id))
        .filter(synced_issues::Column::TenantId.eq(row.tenant_id))
        .filter(synced_issues::Column::NextSeq.eq(seq))
        .exec(txn)
        .await?;
    if taken.rows_affected != 1 {
        return Err(SyncError::InProgress);
    }
    Ok(())
}

pub async fn set_row_error(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    error: &str,
) -> Result<()> {
    synced_issues::Entity::update_many()
        .col_expr(synced_issues::Column::Status, Expr::value("error"))
        .col_expr(synced_issues::Column::Error, Expr::value(error))
        .filter(of_issue::<synced_issues::Entity>(tenant_id, uid, issue_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_glance_label(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    label: &str,
) -> Result<()> {
    synced_issues::Entity::update_many()
        .col_expr(synced_issues::Column::Glance, Expr::value(label))
        .filter(of_issue::<synced_issues::Entity>(tenant_id, uid, issue_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stops syncing one issue over one connection: its row, its comment and attachment links, its
/// messages (sent or not: a new pair numbers from 1 again, and the outbox allows each number
/// once) and the messages received from its twin go. The issue in Jira stays as it is.
pub async fn forget(
    txn: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    twin_id: Option<&str>,
) -> Result<()> {
    synced_issues::Entity::delete_many()
        .filter(of_issue::<synced_issues::Entity>(tenant_id, uid, issue_id))
        .exec(txn)
        .await?;
    cl::Entity::delete_many()
        .filter(of_issue::<cl::Entity>(tenant_id, uid, issue_id))
        .exec(txn)
        .await?;
    al::Entity::delete_many()
        .filter(of_issue::<al::Entity>(tenant_id, uid, issue_id))
        .exec(txn)
        .await?;
    sync_outbox::Entity::delete_many()
        .filter(of_issue::<sync_outbox::Entity>(tenant_id, uid, issue_id))
        .exec(txn)
        .await?;
    if let Some(twin) = twin_id {
        sync_inbox::Entity::delete_many()
            .filter(of_issue::<sync_inbox::Entity>(tenant_id, uid, twin))
            .exec(txn)
            .await?;
    }
    Ok(())
}
