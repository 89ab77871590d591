//! The outbox: each change of a synced issue becomes a numbered message, written in the same
//! transaction as the replica it records, and claimed from here (oldest per twin) for delivery.

use super::message::SyncMessage;
use super::replica::{Field, Replica};
use super::snapshot::parse_replica;
use super::{project_of, store, Result, SyncService};
use crate::entities::{sync_outbox, synced_issues};
use crate::tenants::Tenant;
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use std::sync::Arc;

/// How many messages one delivery pass claims at most.
const CLAIM_BATCH: u64 = 200;

impl SyncService {
    /// Records the replica and the message that carries it, in one transaction.
    pub(super) async fn enqueue(
        &self,
        t: &Tenant,
        row: synced_issues::Model,
        replica: Replica,
        changed: Vec<Field>,
        project: &str,
    ) -> Result<synced_issues::Model> {
        if changed.is_empty() {
            return Ok(row);
        }
        let msg = SyncMessage {
            seq: row.next_seq,
            sender_site_url: t.base_url.clone(),
            sender_issue_id: row.issue_id.clone(),
            sender_issue_key: row.issue_key.clone(),
            sender_project_key: project.to_owned(),
            replica: replica.clone(),
            changed,
            deleted: false,
        };
        let now = Utc::now().fixed_offset();
        let txn = self.db.begin().await?;
        store::take_seq(&txn, &row, msg.seq).await?;
        store::outbox_entry(&row, &msg, now).insert(&txn).await?;
        let mut m: synced_issues::ActiveModel = row.into();
        m.last_replica = Set(Some(serde_json::to_string(&replica).expect("serialisable")));
        m.status = Set("in_progress".into());
        m.updated_at = Set(now);
        let saved = m.update(&txn).await?;
        txn.commit().await?;
        self.wake.notify_one();
        Ok(saved)
    }

    /// An issue was deleted in Jira. Its changes not sent yet are dropped (they could not be
    /// served any more) and each twin's side is told, through the outbox, that the pair stops
    /// syncing; a pair whose first message never got through just ends here.
    pub(super) async fn issue_deleted(&self, t: &Arc<Tenant>, issue_id: &str) -> Result<()> {
        let _lease = self.leases.acquire(t.id, issue_id).await?;
        let rows = store::rows_of_issue(&self.db, t.id, issue_id).await?;
        for row in rows {
            let Some(twin_id) = row.twin_id.clone() else {
                self.forget(t.id, &row.connection_uid, issue_id, None)
                    .await?;
                continue;
            };
            let now = Utc::now().fixed_offset();
            let msg = SyncMessage {
                seq: row.next_seq,
                sender_site_url: t.base_url.clone(),
                sender_issue_id: row.issue_id.clone(),
                sender_issue_key: row.issue_key.clone(),
                sender_project_key: project_of(&row.issue_key).to_owned(),
                replica: parse_replica(&row).unwrap_or_default(),
                changed: Vec::new(),
                deleted: true,
            };
            let txn = self.db.begin().await?;
            store::drop_unsent(
                &txn,
                t.id,
                &row.connection_uid,
                issue_id,
                "not sent: the issue was deleted",
            )
            .await?;
            store::take_seq(&txn, &row, msg.seq).await?;
            store::outbox_entry(&row, &msg, now).insert(&txn).await?;
            let mut m: synced_issues::ActiveModel = row.into();
            m.updated_at = Set(now);
            m.update(&txn).await?;
            txn.commit().await?;
            tracing::info!(issue = %msg.sender_issue_key, twin = %twin_id, "issue deleted: telling its twin's side");
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Stops syncing one issue over one connection and leaves the issue as it is (see
    /// `store::forget`); a later Exalate starts afresh at sequence 1.
    pub(super) async fn forget(
        &self,
        tenant_id: i64,
        uid: &str,
        issue_id: &str,
        twin_id: Option<&str>,
    ) -> Result<()> {
        let txn = self.db.begin().await?;
        store::forget(&txn, tenant_id, uid, issue_id, twin_id).await?;
        txn.commit().await?;
        store::count_twins(&self.db, tenant_id, uid).await
    }

    /// For each twin with due messages, its oldest one, claimed until `lease` so that no other
    /// pass (on any replica) sends it meanwhile.
    pub(super) async fn claim_due(
        &self,
        now: DateTime<FixedOffset>,
        lease: DateTime<FixedOffset>,
    ) -> Result<Vec<sync_outbox::Model>> {
        if self.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            self.claim_skip_locked(now, lease).await
        } else {
            self.claim_optimistic(now, lease).await
        }
    }

    /// PostgreSQL, any number of replicas: one statement claims the oldest pending message of
    /// each twin of an active connection; rows another replica is claiming are skipped, not
    /// waited for.
    async fn claim_skip_locked(
        &self,
        now: DateTime<FixedOffset>,
        lease: DateTime<FixedOffset>,
    ) -> Result<Vec<sync_outbox::Model>> {
        use sea_orm::{FromQueryResult, Statement};
        let sql = r#"
            UPDATE sync_outbox SET next_attempt_at = $1
            WHERE id IN (
                SELECT o.id FROM sync_outbox o
                WHERE o.done_at IS NULL AND o.next_attempt_at <= $2
                  AND NOT EXISTS (
                      SELECT 1 FROM sync_outbox p
                      WHERE p.done_at IS NULL AND p.tenant_id = o.tenant_id
                        AND p.connection_uid = o.connection_uid AND p.issue_id = o.issue_id
                        AND p.id < o.id)
                  AND EXISTS (
                      SELECT 1 FROM connections c
                      WHERE c.tenant_id = o.tenant_id AND c.uid = o.connection_uid
                        AND c.status = 'active')
                ORDER BY o.id
                LIMIT $3
                FOR UPDATE OF o SKIP LOCKED)
            RETURNING *"#;
        let stmt = Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            sql,
            [lease.into(), now.into(), (CLAIM_BATCH as i64).into()],
        );
        let rows = self.db.query_all(stmt).await?;
        let mut out = rows
            .iter()
            .map(|r| sync_outbox::Model::from_query_result(r, ""))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    /// SQLite, one node: read the pending messages, then claim each twin's oldest one with a
    /// conditional UPDATE (it only succeeds if nobody changed the row since it was read).
    async fn claim_optimistic(
        &self,
        now: DateTime<FixedOffset>,
        lease: DateTime<FixedOffset>,
    ) -> Result<Vec<sync_outbox::Model>> {
        let due = sync_outbox::Entity::find()
            .filter(sync_outbox::Column::DoneAt.is_null())
            .order_by_asc(sync_outbox::Column::Id)
            .limit(CLAIM_BATCH)
            .all(&self.db)
            .await?;
        let mut seen = std::collections::HashSet::new();
        let mut claimed_msgs = Vec::new();
        let mut active_cache = std::collections::HashMap::new();
        for m in due {
            // Messages of a connection that is not active wait (deactivated: sent on re-activation).
            let key = (m.tenant_id, m.connection_uid.clone());
            let active = match active_cache.get(&key) {
                Some(a) => *a,
                None => {
                    let a = store::end(&self.db, m.tenant_id, &m.connection_uid)
                        .await?
                        .is_some_and(|c| c.status == "active");
                    active_cache.insert(key, a);
                    a
                }
            };
            if !active {
                continue;
            }
            // Only the oldest pending message of a twin may go: order per twin.
            if !seen.insert((m.tenant_id, m.connection_uid.clone(), m.issue_id.clone()))
                || m.next_attempt_at > now
            {
                continue;
            }
            let claimed = sync_outbox::Entity::update_many()
                .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(lease))
                .filter(sync_outbox::Column::Id.eq(m.id))
                .filter(sync_outbox::Column::NextAttemptAt.eq(m.next_attempt_at))
                .filter(sync_outbox::Column::DoneAt.is_null())
                .exec(&self.db)
                .await?;
            if claimed.rows_affected == 1 {
                claimed_msgs.push(m);
            }
        }
        Ok(claimed_msgs)
    }
}
