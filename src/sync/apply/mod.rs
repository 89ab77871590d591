//! Apply: one message from the other side written to this side's Jira, under the issue's lease:
//! the twin's fields (or a new twin), then its comments and attachments, then its record.

pub mod attachments;
mod comments;
mod fields;
mod issue_types;

use super::glance::Glance;
use super::message::{SyncAck, SyncMessage};
use super::replica::{Field, Replica};
use super::snapshot::Snapshot;
use super::{store, Result, SyncError, SyncService};
use crate::entities::synced_issues;
use crate::tenants::Tenant;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::Value;
use std::sync::Arc;

/// The issue a message is applied to, once its fields are written.
struct Twin {
    id: String,
    key: String,
    /// Created by this message (or found again after a crash between Jira's create and our record).
    created: bool,
    /// Created by this very call: nothing of anyone's is on it yet.
    fresh: bool,
    /// An existing pair: its row and the replica to record for this side.
    recorded: Option<(synced_issues::Model, Replica)>,
    /// An existing pair: the issue as read before the writes.
    before: Option<Snapshot>,
    /// A created twin, as Jira stored it.
    as_created: Option<Value>,
}

impl SyncService {
    pub(super) async fn apply(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        project: &str,
        msg: &SyncMessage,
    ) -> Result<SyncAck> {
        let lookup = store::row_by_twin(&self.db, t.id, uid, &msg.sender_issue_id).await?;
        // While our own writes to the twin are applied and recorded, its webhooks wait (see
        // issue_changed): otherwise they would see our write as a user's change and echo it.
        let _lease = match &lookup {
            Some(r) => Some(self.leases.acquire(t.id, &r.issue_id).await?),
            None => None,
        };
        let row = store::row_by_twin(&self.db, t.id, uid, &msg.sender_issue_id).await?;
        if msg.deleted {
            // The other side's issue is gone: this pair ends here too, the twin stays as it is.
            if let Some(row) = &row {
                self.forget(t.id, uid, &row.issue_id, Some(&msg.sender_issue_id))
                    .await?;
                self.clear_glance(t, &row.issue_id).await;
            }
            return Err(SyncError::TwinDeleted(msg.sender_issue_key.clone()));
        }
        let twin = match row {
            Some(row) => self.update_twin(t, uid, project, msg, row).await?,
            None => self.find_or_create_twin(t, uid, project, msg).await?,
        };
        // A twin we just created has no synced row yet, so its webhooks would find nothing to
        // do: from here until the row is recorded they wait for it, and then compare with what
        // is recorded below (the twin as read right now, without anyone's comments or files).
        let _new_twin_lease = match twin.created {
            true => Some(self.leases.acquire(t.id, &twin.id).await?),
            false => None,
        };
        let twin = match twin.created {
            true => Twin {
                as_created: Some(self.read_created(t, &twin.id).await?),
                ..twin
            },
            false => twin,
        };
        if twin.created || msg.changed.contains(&Field::Comments) {
            let local = twin
                .before
                .as_ref()
                .map(|b| b.comments.as_slice())
                .or(twin.fresh.then_some(&[][..]));
            self.apply_comments(t, uid, &twin.id, &msg.replica.comments, local)
                .await?;
        }
        if twin.created || msg.changed.contains(&Field::Attachments) {
            let issue = twin
                .before
                .as_ref()
                .map(|b| &b.issue)
                .or(twin.as_created.as_ref());
            self.apply_attachments(t, uid, &twin.id, msg, issue).await?;
        }
        self.record_applied(t, uid, project, msg, twin).await
    }

    /// The twin's links, glance and row once everything was written; the answer for the sender.
    async fn record_applied(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        project: &str,
        msg: &SyncMessage,
        twin: Twin,
    ) -> Result<SyncAck> {
        let sender_url = format!(
            "{}/browse/{}",
            msg.sender_site_url.trim_end_matches('/'),
            msg.sender_issue_key
        );
        let now = Utc::now().fixed_offset();
        if twin.created {
            // Jira's remote links are upserted by global id: a retry after a failure here
            // (which fails the whole apply) writes the same link again, never a second one.
            self.link(t, &twin.key, &msg.sender_issue_key, &sender_url, uid)
                .await?;
        }
        let current = twin
            .recorded
            .as_ref()
            .and_then(|(row, _)| row.glance.clone());
        let glance = self
            .put_glance(t, &twin.key, current.as_deref(), Glance::Synchronized)
            .await
            .map(str::to_owned)
            .or(current);
        match twin.recorded {
            Some((row, recorded)) => {
                // Comments and attachments the app wrote are not part of this side's replica,
                // so what was read before the writes still holds for them.
                let mut a: synced_issues::ActiveModel = row.into();
                a.glance = Set(glance);
                a.last_replica = Set(Some(serde_json::to_string(&recorded).expect("json")));
                a.status = Set("synchronized".into());
                a.error = Set(None);
                a.last_sync_at = Set(Some(now));
                a.updated_at = Set(now);
                a.update(&self.db).await?;
            }
            None => {
                // A new twin: its fields as Jira stored them at creation, stamped like the other
                // side's; comments and attachments of people on it can only have been added
                // since (ours are not part of a replica), so none are recorded. A fresh twin
                // needs no second read: what a person did to it has a webhook waiting for this
                // row. One found again after a crash is read now, and what was done to it while
                // we were down is queued below.
                let (mut recorded, snap) = match (
                    twin.fresh,
                    twin.as_created.as_ref().and_then(Replica::from_issue),
                ) {
                    (true, Some(r)) => (r, None),
                    (_, r) => {
                        let snap = self.snapshot(t, &twin.id).await?;
                        (r.unwrap_or_else(|| snap.replica.clone()), Some(snap))
                    }
                };
                recorded.stamps = msg.replica.stamps.clone();
                recorded.comments.clear();
                recorded.attachments.clear();
                let row = synced_issues::ActiveModel {
                    tenant_id: Set(t.id),
                    connection_uid: Set(uid.to_owned()),
                    issue_id: Set(twin.id.clone()),
                    issue_key: Set(twin.key.clone()),
                    twin_id: Set(Some(msg.sender_issue_id.clone())),
                    twin_key: Set(Some(msg.sender_issue_key.clone())),
                    twin_url: Set(Some(sender_url.clone())),
                    status: Set("synchronized".into()),
                    glance: Set(glance),
                    last_replica: Set(Some(serde_json::to_string(&recorded).expect("json"))),
                    next_seq: Set(1),
                    last_sync_at: Set(Some(now)),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&self.db)
                .await?;
                if let Some(snap) = snap {
                    let mut current = snap.replica;
                    let changed = current.changed_since(Some(&recorded));
                    if !changed.is_empty() {
                        current.stamp(Some(&recorded), &changed, snap.updated_ms);
                        self.enqueue(t, row, current, changed, project).await?;
                    }
                }
            }
        }
        if twin.created {
            store::count_twins(&self.db, t.id, uid).await?;
        }
        Ok(SyncAck {
            twin_id: twin.id,
            twin_url: format!("{}/browse/{}", t.base_url, twin.key),
            twin_key: twin.key,
        })
    }
}
