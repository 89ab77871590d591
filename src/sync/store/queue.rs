//! Queries on the outbox (messages to send, with their attempts) and the inbox (messages received,
//! with their claim and answer).

use super::of_issue;
use super::Now;
use crate::entities::{sync_inbox, sync_outbox, synced_issues};
use crate::sync::message::SyncMessage;
use crate::sync::{Result, SyncError};
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// The outbox row that carries `msg` for `row`'s twin, due now.
pub fn outbox_entry(
    row: &synced_issues::Model,
    msg: &SyncMessage,
    now: Now,
) -> sync_outbox::ActiveModel {
    sync_outbox::ActiveModel {
        tenant_id: Set(row.tenant_id),
        connection_uid: Set(row.connection_uid.clone()),
        issue_id: Set(row.issue_id.clone()),
        seq: Set(msg.seq),
        payload: Set(serde_json::to_string(msg).expect("serialisable")),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Marks an issue's unsent messages over one connection as done without sending them.
pub async fn drop_unsent(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    why: &str,
) -> Result<()> {
    sync_outbox::Entity::update_many()
        .col_expr(
            sync_outbox::Column::DoneAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .col_expr(sync_outbox::Column::LastError, Expr::value(why))
        .filter(of_issue::<sync_outbox::Entity>(tenant_id, uid, issue_id))
        .filter(sync_outbox::Column::DoneAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The message was acknowledged by the other side.
pub async fn mark_sent(db: &impl ConnectionTrait, m: &sync_outbox::Model, now: Now) -> Result<()> {
    sync_outbox::Entity::update_many()
        .col_expr(sync_outbox::Column::DoneAt, Expr::value(now))
        .col_expr(
            sync_outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(sync_outbox::Column::Id.eq(m.id))
        .filter(sync_outbox::Column::TenantId.eq(m.tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sends the message again at `next`; `attempts` is what it has used up (unchanged for a pause).
pub async fn reschedule(
    db: &impl ConnectionTrait,
    m: &sync_outbox::Model,
    attempts: i32,
    next: Now,
    why: &str,
) -> Result<()> {
    sync_outbox::Entity::update_many()
        .col_expr(sync_outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(next))
        .col_expr(sync_outbox::Column::LastError, Expr::value(why))
        .filter(sync_outbox::Column::Id.eq(m.id))
        .filter(sync_outbox::Column::TenantId.eq(m.tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// An issue's waiting messages over one connection go out now, with their attempts reset.
pub async fn send_now(
    db: &impl ConnectionTrait,
    row: &synced_issues::Model,
    now: Now,
) -> Result<()> {
    sync_outbox::Entity::update_many()
        .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(now))
        .col_expr(sync_outbox::Column::Attempts, Expr::value(0))
        .filter(of_issue::<sync_outbox::Entity>(
            row.tenant_id,
            &row.connection_uid,
            &row.issue_id,
        ))
        .filter(sync_outbox::Column::DoneAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// A tenant's messages not sent yet, oldest first (the Sync Queue shows up to `limit`).
pub async fn unsent(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    limit: u64,
) -> Result<Vec<sync_outbox::Model>> {
    Ok(sync_outbox::Entity::find()
        .filter(sync_outbox::Column::TenantId.eq(tenant_id))
        .filter(sync_outbox::Column::DoneAt.is_null())
        .order_by_asc(sync_outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Records a received message unless it was seen before; returns whether it is new, and its row.
pub async fn inbox_record(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    msg: &SyncMessage,
    raw: &str,
    now: Now,
) -> Result<(bool, sync_inbox::Model)> {
    let inserted = sync_inbox::Entity::insert(sync_inbox::ActiveModel {
        tenant_id: Set(tenant_id),
        connection_uid: Set(uid.to_owned()),
        sender_issue_id: Set(msg.sender_issue_id.clone()),
        seq: Set(msg.seq),
        payload: Set(raw.to_owned()),
        received_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            sync_inbox::Column::TenantId,
            sync_inbox::Column::ConnectionUid,
            sync_inbox::Column::SenderIssueId,
            sync_inbox::Column::Seq,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let row = sync_inbox::Entity::find()
        .filter(of_issue::<sync_inbox::Entity>(
            tenant_id,
            uid,
            &msg.sender_issue_id,
        ))
        .filter(sync_inbox::Column::Seq.eq(msg.seq))
        .one(db)
        .await?
        .ok_or_else(|| SyncError::Invalid("inbox row vanished".into()))?;
    Ok((inserted == 1, row))
}

/// Moves an unapplied inbox row's claim to `at`: a heartbeat (now), a release (in the past), or
/// a takeover, which only succeeds if the claim is older than `stale_before`.
pub async fn inbox_claim(
    db: &impl ConnectionTrait,
    row: &sync_inbox::Model,
    at: Now,
    stale_before: Option<Now>,
) -> Result<bool> {
    let mut q = sync_inbox::Entity::update_many()
        .col_expr(sync_inbox::Column::ReceivedAt, Expr::value(at))
        .filter(sync_inbox::Column::Id.eq(row.id))
        .filter(sync_inbox::Column::TenantId.eq(row.tenant_id))
        .filter(sync_inbox::Column::AppliedAt.is_null());
    if let Some(stale) = stale_before {
        q = q.filter(sync_inbox::Column::ReceivedAt.lt(stale));
    }
    Ok(q.exec(db).await?.rows_affected == 1)
}

/// The message was applied: its answer is kept for any repeat of it.
pub async fn inbox_applied(
    db: &impl ConnectionTrait,
    row: &sync_inbox::Model,
    ack: &str,
) -> Result<()> {
    sync_inbox::Entity::update_many()
        .col_expr(sync_inbox::Column::Ack, Expr::value(ack))
        .col_expr(
            sync_inbox::Column::AppliedAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .filter(sync_inbox::Column::Id.eq(row.id))
        .filter(sync_inbox::Column::TenantId.eq(row.tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A tenant's received messages not applied yet, oldest first.
pub async fn unapplied(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    limit: u64,
) -> Result<Vec<sync_inbox::Model>> {
    Ok(sync_inbox::Entity::find()
        .filter(sync_inbox::Column::TenantId.eq(tenant_id))
        .filter(sync_inbox::Column::AppliedAt.is_null())
        .order_by_asc(sync_inbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
