//! The admin views of the sync: the Sync Queue (what waits to go out or to be applied) and Errors
//! (twins whose messages keep failing), with Retry and Resolve.

use super::glance::Glance;
use super::message::SyncMessage;
use super::{store, Result, SyncService};
use crate::entities::synced_issues;
use crate::tenants::Tenant;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{json, Value};
use std::sync::Arc;

/// How many waiting messages each direction of the Sync Queue lists.
const QUEUE_ROWS: u64 = 500;

impl SyncService {
    /// The Sync Queue page: what waits to go out and what was received but not applied.
    pub async fn queue(&self, t: &Tenant) -> Result<Value> {
        let names = store::connection_names(&self.db, t.id).await?;
        let name = |uid: &str| {
            names
                .iter()
                .find(|(u, _)| u == uid)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        let outgoing = store::unsent(&self.db, t.id, QUEUE_ROWS).await?;
        let incoming = store::unapplied(&self.db, t.id, QUEUE_ROWS).await?;
        let keys = store::rows_of_tenant(&self.db, t.id).await?;
        let key_of = |uid: &str, issue: &str| {
            keys.iter()
                .find(|k| k.connection_uid == uid && k.issue_id == issue)
                .map(|k| k.issue_key.clone())
                .unwrap_or_else(|| issue.to_owned())
        };
        let mut summary = Vec::new();
        for (uid, cname) in &names {
            let out: Vec<_> = outgoing
                .iter()
                .filter(|m| &m.connection_uid == uid)
                .collect();
            let inc: Vec<_> = incoming
                .iter()
                .filter(|m| &m.connection_uid == uid)
                .collect();
            let oldest = out
                .iter()
                .map(|m| m.created_at)
                .chain(inc.iter().map(|m| m.received_at))
                .min();
            summary.push(json!({"connectionId": uid, "connectionName": cname, "outgoing": out.len(), "incoming": inc.len(),
                                "oldest": oldest.map(|o| o.to_rfc3339())}));
        }
        Ok(json!({
            "summary": summary,
            "outgoing": outgoing.iter().map(|m| json!({
                "connectionId": m.connection_uid, "connectionName": name(&m.connection_uid),
                "issueKey": key_of(&m.connection_uid, &m.issue_id), "seq": m.seq, "attempts": m.attempts,
                "lastError": m.last_error, "createdAt": m.created_at.to_rfc3339(), "nextAttemptAt": m.next_attempt_at.to_rfc3339()})).collect::<Vec<_>>(),
            "incoming": incoming.iter().map(|m| {
                let sender_key = serde_json::from_str::<SyncMessage>(&m.payload).map(|s| s.sender_issue_key).unwrap_or_default();
                json!({"connectionId": m.connection_uid, "connectionName": name(&m.connection_uid),
                       "senderIssueKey": sender_key, "seq": m.seq, "receivedAt": m.received_at.to_rfc3339()})
            }).collect::<Vec<_>>(),
        }))
    }

    /// The Errors page: twins whose messages failed several times.
    pub async fn errors(&self, t: &Tenant) -> Result<Value> {
        let names = store::connection_names(&self.db, t.id).await?;
        let rows = store::error_rows(&self.db, t.id).await?;
        Ok(json!({"errors": rows.iter().map(|r| json!({
            "id": r.id.to_string(), "connectionId": r.connection_uid,
            "connectionName": names.iter().find(|(u, _)| *u == r.connection_uid).map(|(_, n)| n.clone()),
            "issueKey": r.issue_key, "twinKey": r.twin_key, "when": r.updated_at.to_rfc3339(), "cause": r.error,
        })).collect::<Vec<_>>()}))
    }

    /// Retry: the twin's waiting messages go out now, and it shows In Progress again.
    pub async fn retry(&self, t: &Tenant, id: &str) -> Result<()> {
        let row = store::own_row(&self.db, t.id, id).await?;
        let now = Utc::now().fixed_offset();
        store::send_now(&self.db, &row, now).await?;
        let mut a: synced_issues::ActiveModel = row.into();
        a.status = Set("in_progress".into());
        a.error = Set(None);
        a.updated_at = Set(now);
        a.update(&self.db).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Resolve: the admin accepts the error; it leaves the Errors page (messages stay queued).
    pub async fn resolve(&self, t: &Arc<Tenant>, id: &str) -> Result<()> {
        let row = store::own_row(&self.db, t.id, id).await?;
        let mut a: synced_issues::ActiveModel = row.clone().into();
        a.status = Set("synchronized".into());
        a.error = Set(None);
        a.updated_at = Set(Utc::now().fixed_offset());
        a.update(&self.db).await?;
        self.set_glance(t, &row, Glance::Synchronized).await;
        Ok(())
    }
}
