//! The inbox: what the other node sends us. Each message is recorded once (a repeat gets the first
//! answer), applied in its own task under a heartbeat, and attachments are served on request.

use super::message::{SyncAck, SyncMessage};
use super::{store, Result, SyncError, SyncService};
use crate::connections::PeerEnd;
use crate::entities::sync_inbox;
use crate::tenants::Tenant;
use chrono::Utc;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How often a message being applied refreshes its inbox claim; a claim four times older than
/// this belongs to an applier that died and may be taken over.
const APPLY_HEARTBEAT_SECS: i64 = 5;

impl SyncService {
    /// Applies one message (once: the inbox remembers its answer) and answers with the twin.
    /// `signed_by`: the ends of `uid` whose secret verified the message; no other end is used.
    pub async fn receive(
        &self,
        uid: &str,
        signed_by: &[PeerEnd],
        msg: SyncMessage,
        raw: &str,
    ) -> Result<SyncAck> {
        // Refused before anything is recorded (Jira would refuse bad rich text on every retry).
        if let Some(refused) = msg.refusal() {
            return Err(refused);
        }
        let (t, project) = self.receiving_end(uid, signed_by, &msg).await?;

        // Idempotent: a message seen before gets the same answer, without touching Jira.
        let now = Utc::now().fixed_offset();
        let (new, inbox) = store::inbox_record(&self.db, t.id, uid, &msg, raw, now).await?;
        if !new {
            if let Some(ack) = inbox
                .ack
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
            {
                return Ok(ack);
            }
            // Seen but not applied: either being applied right now (its heartbeat is fresh: the
            // sender is told to come back later) or its applier died (stale: taken over).
            let stale = now - chrono::Duration::seconds(APPLY_HEARTBEAT_SECS * 4);
            if !store::inbox_claim(&self.db, &inbox, now, Some(stale)).await? {
                return Err(SyncError::InProgress);
            }
        }
        // Applied in its own task: a sender that gives up waiting (a large attachment) must not
        // cancel it half-way.
        let me = self.clone();
        let uid = uid.to_owned();
        let work =
            tokio::spawn(async move { me.apply_claimed(&t, &uid, &project, &inbox, &msg).await });
        match work.await {
            Ok(r) => r,
            Err(e) => Err(SyncError::Invalid(format!(
                "applying the change failed: {e}"
            ))),
        }
    }

    /// The end of `uid` a message is for (among those that signed it: the one whose other side is
    /// the sender's site), its tenant, and the project the message's issue syncs into.
    async fn receiving_end(
        &self,
        uid: &str,
        signed_by: &[PeerEnd],
        msg: &SyncMessage,
    ) -> Result<(Arc<Tenant>, String)> {
        let ends = store::active_ends_by_id(&self.db, uid, signed_by.iter().map(|e| e.id)).await?;
        let end = ends
            .into_iter()
            .find(|c| {
                c.is_local
                    || c.remote_site_url
                        .as_deref()
                        .map(|u| u.trim_end_matches('/'))
                        == Some(msg.sender_site_url.trim_end_matches('/'))
            })
            .ok_or(SyncError::NoConnection)?;
        let t = self
            .tenant(end.tenant_id)
            .await?
            .ok_or(SyncError::NoConnection)?;
        let project = if end.is_local
            && end.local_project_key.as_deref() == Some(msg.sender_project_key.as_str())
        {
            end.remote_project_key
        } else {
            end.local_project_key
        }
        .ok_or(SyncError::NoConnection)?;
        Ok((t, project))
    }

    /// Applies a message whose inbox row this call holds, keeping the claim fresh while it runs;
    /// on failure the claim is released so the sender's retry applies it again straight away.
    async fn apply_claimed(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        project: &str,
        inbox: &sync_inbox::Model,
        msg: &SyncMessage,
    ) -> Result<SyncAck> {
        let beat = {
            let (db, row) = (self.db.clone(), inbox.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(APPLY_HEARTBEAT_SECS as u64)).await;
                    let _ = store::inbox_claim(&db, &row, Utc::now().fixed_offset(), None).await;
                }
            })
        };
        let result = self.apply(t, uid, project, msg).await;
        beat.abort();
        let ack = match result {
            Ok(ack) => ack,
            Err(e) => {
                let released = Utc::now().fixed_offset()
                    - chrono::Duration::seconds(APPLY_HEARTBEAT_SECS * 4 + 1);
                let _ = store::inbox_claim(&self.db, inbox, released, None).await;
                return Err(e);
            }
        };
        let answer = serde_json::to_string(&ack).expect("json");
        store::inbox_applied(&self.db, inbox, &answer).await?;
        Ok(ack)
    }

    /// Serves an attachment of a synced issue to the other end of the connection (the caller has
    /// verified the signature): only attachments of issues this connection syncs.
    /// `signed_by`: the ends whose secret verified the request; `sender_site`: the requesting
    /// site, whose own end (both sites on this node share issue and file ids) never answers.
    pub async fn attachment_for_peer(
        &self,
        uid: &str,
        signed_by: &[PeerEnd],
        sender_site: &str,
        issue_id: &str,
        attachment_id: &str,
    ) -> Result<reqwest::Response> {
        let tenants = signed_by.iter().map(|e| e.tenant_id);
        let rows = store::rows_for_peer(&self.db, uid, issue_id, tenants).await?;
        for row in rows {
            let Some(t) = self.tenant(row.tenant_id).await? else {
                continue;
            };
            let local = signed_by
                .iter()
                .any(|e| e.tenant_id == row.tenant_id && e.is_local);
            if !local && t.base_url.trim_end_matches('/') == sender_site.trim_end_matches('/') {
                continue;
            }
            let client = self.jira.for_tenant(t.clone())?;
            let issue: Value = client
                .get_json(&format!("/rest/api/3/issue/{issue_id}?fields=attachment"))
                .await?;
            let has = issue["fields"]["attachment"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["id"].as_str() == Some(attachment_id));
            if has {
                return Ok(client.download_attachment(attachment_id).await?);
            }
        }
        Err(SyncError::NoConnection)
    }
}
