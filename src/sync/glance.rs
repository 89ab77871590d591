//! What Jira shows of a sync: the issue glance's status lozenge (an issue property the panel
//! reads), the remote link from each issue to its twin, and the panel's view of one issue.

use super::{store, Result, SyncService};
use crate::entities::synced_issues;
use crate::tenants::Tenant;
use serde_json::{json, Value};
use std::sync::Arc;

/// The issue glance's label.
#[derive(Clone, Copy)]
pub(super) enum Glance {
    Synchronized,
    Error,
}

impl Glance {
    fn lozenge(self) -> (&'static str, &'static str) {
        match self {
            Glance::Synchronized => ("Synchronized", "success"),
            Glance::Error => ("Error", "removed"),
        }
    }
}

impl SyncService {
    /// The issue panel's view of one issue.
    pub async fn status_of(&self, t: &Tenant, issue_id: &str) -> Result<Vec<synced_issues::Model>> {
        store::rows_of_issue(&self.db, t.id, issue_id).await
    }

    /// A remote link on `issue_key` pointing at its twin (idempotent through its globalId).
    pub(super) async fn link(
        &self,
        t: &Arc<Tenant>,
        issue_key: &str,
        twin_key: &str,
        twin_url: &str,
        uid: &str,
    ) -> Result<()> {
        let client = self.jira.for_tenant(t.clone())?;
        // "TEST-3 on alpha": Jira shows the title after the relationship, so the link says which
        // site the twin is on.
        let conn = store::end(&self.db, t.id, uid).await?;
        let site = conn
            .as_ref()
            .and_then(|c| {
                c.remote_site_name.clone().or_else(|| {
                    let url = if c.is_local {
                        Some(&t.base_url)
                    } else {
                        c.remote_site_url.as_ref()
                    };
                    url.map(|u| crate::connections::site_name(u))
                })
            })
            .unwrap_or_else(|| crate::connections::site_name(twin_url));
        let title = format!("{twin_key} on {site}");
        let body = json!({
            "globalId": format!("exalate:{uid}:{twin_key}"),
            "application": {"type": "com.exalate", "name": "Exalate"},
            "relationship": "synced with",
            "object": {"url": twin_url, "title": title, "summary": format!("Synced by Exalate with {twin_key} on {site}")}
        });
        client
            .post_json::<_, Value>(&format!("/rest/api/3/issue/{issue_key}/remotelink"), &body)
            .await?;
        Ok(())
    }

    /// The issue glance's status lozenge, through the issue property Jira reads it from; only
    /// written when it differs from what this row last wrote.
    pub(super) async fn set_glance(&self, t: &Arc<Tenant>, row: &synced_issues::Model, to: Glance) {
        let current = row.glance.as_deref();
        let Some(label) = self.put_glance(t, &row.issue_key, current, to).await else {
            return;
        };
        if current == Some(label) {
            return;
        }
        let (uid, issue) = (&row.connection_uid, &row.issue_id);
        if let Err(e) = store::set_glance_label(&self.db, t.id, uid, issue, label).await {
            tracing::warn!(issue = row.issue_key, error = %e, "glance status not recorded");
        }
    }

    /// Writes the glance label to Jira unless `current` already says it; returns the label the
    /// row should record (`current` when the write failed), for the caller's own row update.
    pub(super) async fn put_glance(
        &self,
        t: &Arc<Tenant>,
        issue_key: &str,
        current: Option<&str>,
        to: Glance,
    ) -> Option<&'static str> {
        let (label, kind) = to.lozenge();
        if current == Some(label) {
            return Some(label);
        }
        let client = self.jira.for_tenant(t.clone()).ok()?;
        let app = self.jira.app_key();
        let body = serde_json::to_vec(
            &json!({"type": "lozenge", "value": {"label": label, "type": kind}}),
        )
        .expect("json");
        let path = format!("/rest/api/3/issue/{issue_key}/properties/com.atlassian.jira.issue:{app}:exalate-sync-status:status");
        match client
            .send(
                reqwest::Method::PUT,
                &path,
                Some((body.into(), "application/json")),
            )
            .await
        {
            Ok(_) => Some(label),
            Err(e) => {
                tracing::warn!(issue = issue_key, error = %e, "glance status not set");
                None
            }
        }
    }

    /// Removes the glance's status property: the panel is back to Not synced. Best effort (the
    /// issue may be gone too).
    pub(super) async fn clear_glance(&self, t: &Arc<Tenant>, issue_id: &str) {
        let Ok(client) = self.jira.for_tenant(t.clone()) else {
            return;
        };
        let app = self.jira.app_key();
        let path = format!("/rest/api/3/issue/{issue_id}/properties/com.atlassian.jira.issue:{app}:exalate-sync-status:status");
        if let Err(e) = client.delete(&path).await {
            tracing::warn!(issue = issue_id, error = %e, "glance status not cleared");
        }
    }
}
