//! Intake: where a change of an issue enters the sync. The Exalate button starts a pair; a
//! webhook is a hint that an issue changed, answered by comparing it with its recorded replica.

use super::snapshot::parse_replica;
use super::{project_of, store, Result, SyncError, SyncService};
use crate::entities::synced_issues;
use crate::jira::JiraError;
use crate::tenants::Tenant;
use serde_json::Value;
use std::sync::Arc;

/// The webhook events the sync listens to.
const EVENTS: [&str; 6] = [
    "jira:issue_updated",
    "jira:issue_created",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
];

impl SyncService {
    /// The Exalate button: starts syncing an issue of one of the connection's projects.
    /// `on_behalf_of`: the person who pressed Exalate; the app reads issues with its own rights,
    /// so Jira is asked first whether that person may see and edit this one.
    pub async fn start(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        issue_key: &str,
        on_behalf_of: Option<&str>,
    ) -> Result<synced_issues::Model> {
        let conn = store::active_end(&self.db, t.id, uid).await?;
        let key = issue_key.trim().to_ascii_uppercase();
        let project = project_of(&key);
        let in_connection = conn.local_project_key.as_deref() == Some(project)
            || (conn.is_local && conn.remote_project_key.as_deref() == Some(project));
        if !in_connection {
            return Err(SyncError::IssueNotInConnection(key));
        }
        let snap = match self.snapshot(t, &key).await {
            Ok(v) => v,
            Err(SyncError::Jira(JiraError::NotFound(_))) => {
                return Err(SyncError::IssueNotInConnection(key))
            }
            Err(e) => return Err(e),
        };
        let issue_id = snap.issue["id"].as_str().unwrap_or_default().to_owned();
        if let Some(account) = on_behalf_of {
            let client = self.jira.for_tenant(t.clone())?;
            let id: i64 = issue_id.parse().unwrap_or_default();
            let held = client
                .issue_permissions(account, id, &["BROWSE_PROJECTS", "EDIT_ISSUES"])
                .await?;
            // Someone who cannot see the issue learns nothing about it, not even that it exists.
            if !held.iter().any(|p| p == "BROWSE_PROJECTS") {
                return Err(SyncError::IssueNotInConnection(key));
            }
            if !held.iter().any(|p| p == "EDIT_ISSUES") {
                return Err(SyncError::MayNotEdit(key));
            }
        }
        // Recorded under the issue's lock, like every other change of it (on any replica).
        let _lease = self.leases.acquire(t.id, &issue_id).await?;
        let row = match store::row(&self.db, t.id, uid, &issue_id).await? {
            Some(r) => r,
            None => store::insert_started(&self.db, t.id, uid, &issue_id, &key).await?,
        };
        // A first send carries every field; later the replica diff decides.
        let previous = parse_replica(&row);
        let mut replica = snap.replica;
        let changed = if row.twin_id.is_none() {
            replica.changed_since(None)
        } else {
            replica.changed_since(previous.as_ref())
        };
        replica.stamp(previous.as_ref(), &changed, snap.updated_ms);
        self.enqueue(t, row, replica, changed, project).await
    }

    /// A webhook is a hint: for every synced twin of that issue, rebuild the replica and send what
    /// changed. Edits the app itself made produce the replica already recorded, so nothing echoes.
    pub async fn on_webhook(&self, t: &Arc<Tenant>, body: &Value) -> Result<()> {
        let event = body["webhookEvent"].as_str().unwrap_or("");
        if !EVENTS.contains(&event) {
            return Ok(());
        }
        let Some(issue_id) = body["issue"]["id"].as_str() else {
            return Ok(());
        };
        if event == "jira:issue_deleted" {
            return self.issue_deleted(t, issue_id).await;
        }
        // Our own write (the apply recorded its result already): nothing to read or send.
        if body["user"]["accountType"] == "app" {
            if let (Some(actor), Some(me)) = (
                body["user"]["accountId"].as_str(),
                self.app_account(t).await,
            ) {
                if actor == me {
                    return Ok(());
                }
            }
        }
        // An edit of fields does not touch comments: each comment change has its own event,
        // which reads them.
        let read_comments = event != "jira:issue_updated"
            || body["issue_event_type_name"]
                .as_str()
                .is_some_and(|n| n.contains("comment"));
        self.issue_changed_with(t, issue_id, read_comments).await
    }

    /// The app's own account on a tenant's site (`/myself` as the app), cached.
    async fn app_account(&self, t: &Arc<Tenant>) -> Option<String> {
        let client = self.jira.for_tenant(t.clone()).ok()?;
        self.app_accounts
            .try_get_with(t.id, async move {
                let me: Value = client.get_json("/rest/api/3/myself").await?;
                me["accountId"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or(SyncError::Invalid("no accountId in /myself".into()))
            })
            .await
            .ok()
    }

    /// For every synced twin of `issue_id`, rebuilds the replica and sends what changed (from a
    /// webhook or the reconciliation poll; running twice sends nothing the second time).
    pub async fn issue_changed(&self, t: &Arc<Tenant>, issue_id: &str) -> Result<()> {
        self.issue_changed_with(t, issue_id, true).await
    }

    /// `issue_changed`; without `read_comments` the comments are taken as last recorded.
    async fn issue_changed_with(
        &self,
        t: &Arc<Tenant>,
        issue_id: &str,
        read_comments: bool,
    ) -> Result<()> {
        // Most webhooks of a site are about issues nobody syncs: those need no lock. A locked one
        // may be a twin being created right now, whose row is recorded when the lock is released:
        // that one waits. (One that starts syncing meanwhile is recorded from the Exalate
        // button's own read of it.)
        if store::rows_of_issue(&self.db, t.id, issue_id)
            .await?
            .is_empty()
            && !self.leases.is_held(t.id, issue_id).await?
        {
            return Ok(());
        }
        // Wait for an apply to this issue in progress: its recorded replica decides what changed.
        let _lease = self.leases.acquire(t.id, issue_id).await?;
        let rows = store::rows_of_issue(&self.db, t.id, issue_id).await?;
        if rows.is_empty() {
            return Ok(());
        }
        // A row with nothing recorded yet must carry everything.
        let read_comments = read_comments || rows.iter().any(|r| parse_replica(r).is_none());
        let snap = self.snapshot_with(t, issue_id, read_comments).await?;
        let key = snap.issue["key"].as_str().unwrap_or_default().to_owned();
        for row in rows {
            // A deactivated connection still records changes; they wait in the outbox and go
            // out on re-activation. Only a deleted connection stops recording.
            if store::end(&self.db, t.id, &row.connection_uid)
                .await?
                .is_none()
            {
                continue;
            }
            let previous = parse_replica(&row);
            let mut replica = snap.replica.clone();
            if let (Some(p), false) = (&previous, read_comments) {
                replica.comments = p.comments.clone();
            }
            let changed = replica.changed_since(previous.as_ref());
            replica.stamp(previous.as_ref(), &changed, snap.updated_ms);
            self.enqueue(t, row, replica, changed, project_of(&key))
                .await?;
        }
        Ok(())
    }
}
