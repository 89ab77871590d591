//! Intake for what webhooks missed: the reconciliation poll (JQL for recently updated issues of
//! the synced projects) and the deletion sweep (bulk fetch: which synced issues are gone).

use super::{project_of, store, Result, SyncService};
use crate::entities::synced_issues;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

impl SyncService {
    /// Webhooks can be lost: every `interval`, ask Jira (JQL) which issues of the synced projects
    /// changed recently and treat each synced one as if its webhook had arrived.
    pub async fn run_reconciler(self, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.reconcile_once(interval).await {
                tracing::warn!(error = %e, "reconciliation poll failed");
            }
        }
    }

    pub async fn reconcile_once(&self, interval: Duration) -> Result<usize> {
        let rows = store::all_rows(&self.db, false).await?;
        let mut by_tenant: BTreeMap<i64, BTreeSet<String>> = Default::default();
        for r in &rows {
            by_tenant
                .entry(r.tenant_id)
                .or_default()
                .insert(project_of(&r.issue_key).to_owned());
        }
        // JQL dates have minute precision: look back at least two minutes.
        let minutes = (interval.as_secs() / 60 + 2).max(2);
        let mut touched = 0;
        for (tenant_id, projects) in by_tenant {
            let Some(t) = self.tenant(tenant_id).await? else {
                continue;
            };
            let client = self.jira.for_tenant(t.clone())?;
            let list = projects
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let jql =
                format!("project in ({list}) AND updated >= -{minutes}m ORDER BY updated ASC");
            let mut token: Option<String> = None;
            loop {
                let mut body = json!({"jql": jql, "maxResults": 500, "fields": ["id"]});
                if let Some(tk) = &token {
                    body["nextPageToken"] = json!(tk);
                }
                let page: Value = client.post_json("/rest/api/3/search/jql", &body).await?;
                for issue in page["issues"].as_array().into_iter().flatten() {
                    if let Some(id) = issue["id"].as_str() {
                        if rows
                            .iter()
                            .any(|r| r.tenant_id == tenant_id && r.issue_id == id)
                        {
                            self.issue_changed(&t, id).await?;
                            touched += 1;
                        }
                    }
                }
                match page["nextPageToken"].as_str() {
                    Some(tk) => token = Some(tk.to_owned()),
                    None => break,
                }
            }
        }
        Ok(touched)
    }

    /// Deletion webhooks can be lost too: every `interval`, ask each site (bulk fetch, 100
    /// issues a call) whether its synced issues still exist, and end the pair of any that is
    /// gone while its project is still readable, as the deletion webhook would have.
    pub async fn run_deletion_sweep(self, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.sweep_deleted_once().await {
                tracing::warn!(error = %e, "deletion sweep failed");
            }
        }
    }

    pub async fn sweep_deleted_once(&self) -> Result<usize> {
        let rows = store::all_rows(&self.db, true).await?;
        let mut by_tenant: BTreeMap<i64, Vec<&synced_issues::Model>> = Default::default();
        for r in &rows {
            by_tenant.entry(r.tenant_id).or_default().push(r);
        }
        let mut ended = 0;
        for (tenant_id, rows) in by_tenant {
            let Some(t) = self.tenant(tenant_id).await? else {
                continue;
            };
            let client = self.jira.for_tenant(t.clone())?;
            let mut ids: Vec<&str> = rows.iter().map(|r| r.issue_id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut gone = Vec::new();
            for chunk in ids.chunks(100) {
                let page: Value = client
                    .post_json(
                        "/rest/api/3/issue/bulkfetch",
                        &json!({"issueIdsOrKeys": chunk, "fields": ["project"]}),
                    )
                    .await?;
                let found: HashSet<&str> = page["issues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["id"].as_str())
                    .collect();
                gone.extend(chunk.iter().filter(|id| !found.contains(**id)).copied());
            }
            let mut readable: HashMap<&str, bool> = Default::default();
            for id in gone {
                let Some(row) = rows.iter().find(|r| r.issue_id == id) else {
                    continue;
                };
                let project = project_of(&row.issue_key);
                let visible = match readable.get(project) {
                    Some(v) => *v,
                    None => {
                        let v = self.project_visible(&t, project).await?;
                        readable.insert(project, v);
                        v
                    }
                };
                if visible {
                    self.issue_deleted(&t, id).await?;
                    ended += 1;
                }
            }
        }
        Ok(ended)
    }
}
