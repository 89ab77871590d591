//! Change detection's read side: what Jira has of an issue now (its fields, every comment with its
//! properties) as a replica, and the replica a synced row last recorded, for `changed_since`.

use super::replica::{self, Replica};
use super::{Result, SyncError, SyncService};
use crate::entities::synced_issues;
use crate::jira::{JiraClient, JiraError};
use crate::tenants::Tenant;
use chrono::Utc;
use serde_json::Value;
use std::sync::Arc;

/// An issue as read from Jira for syncing.
pub(super) struct Snapshot {
    pub issue: Value,
    pub comments: Vec<Value>,
    pub replica: Replica,
    /// Jira's `updated`, in ms since the epoch.
    pub updated_ms: i64,
}

/// Every comment of an issue, with its properties, oldest first. Jira Cloud answers at most 100
/// a page whatever is asked: reading one page would take the rest for deleted (and mirror that)
/// and miss the twin comments a crash left behind (and write them twice).
pub(super) async fn all_comments(client: &JiraClient, issue_id: &str) -> Result<Vec<Value>> {
    let mut all: Vec<Value> = Vec::new();
    let mut first_total = None;
    let mut reads = 0;
    loop {
        let page: Value = client
            .get_json(&format!(
                "/rest/api/3/issue/{issue_id}/comment?startAt={}&maxResults=100&expand=properties",
                all.len()
            ))
            .await?;
        let got = page["comments"].as_array().cloned().unwrap_or_default();
        let total = page["total"].as_u64().unwrap_or(0) as usize;
        if *first_total.get_or_insert(total) != total {
            // A comment came or went between two pages and shifted them: read again (a
            // discussion that never holds still fails this try; the sync tries again later).
            reads += 1;
            if reads == 10 {
                return Err(SyncError::Invalid(format!(
                    "the comments of issue {issue_id} kept changing while they were read"
                )));
            }
            all.clear();
            first_total = None;
            continue;
        }
        let done = got.is_empty();
        all.extend(got);
        if done || all.len() >= total {
            return Ok(all);
        }
    }
}

/// The replica a synced row recorded when it last sent or applied a change.
pub(super) fn parse_replica(row: &synced_issues::Model) -> Option<Replica> {
    row.last_replica
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
}

impl SyncService {
    /// What Jira has now of an issue: the issue, its comments (with properties, to find twins
    /// we wrote) and the replica built from them, with Jira's `updated` in ms.
    pub(super) async fn snapshot(&self, t: &Arc<Tenant>, key_or_id: &str) -> Result<Snapshot> {
        self.snapshot_with(t, key_or_id, true).await
    }

    /// `snapshot`, reading the comments only when asked (their replica is then empty).
    pub(super) async fn snapshot_with(
        &self,
        t: &Arc<Tenant>,
        key_or_id: &str,
        read_comments: bool,
    ) -> Result<Snapshot> {
        let client = self.jira.for_tenant(t.clone())?;
        let issue: Value = client
            .get_json(&format!(
                "/rest/api/3/issue/{key_or_id}?fields=summary,description,issuetype,project,attachment,updated"
            ))
            .await?;
        let mut replica = Replica::from_issue(&issue)
            .ok_or_else(|| SyncError::Invalid("Jira's issue has no summary or type".into()))?;
        let id = issue["id"].as_str().unwrap_or(key_or_id);
        let comments = match read_comments {
            true => all_comments(&client, id).await?,
            false => Vec::new(),
        };
        replica.comments = comments
            .iter()
            .filter_map(replica::ReplicaComment::from_comment)
            .collect();
        let updated_ms =
            replica::jira_time_ms(&issue).unwrap_or_else(|| Utc::now().timestamp_millis());
        Ok(Snapshot {
            issue,
            comments,
            replica,
            updated_ms,
        })
    }

    /// Whether the app can still read a project (Jira answers 404 for an issue both when it was
    /// deleted and when the app lost access to it).
    pub(super) async fn project_visible(&self, t: &Arc<Tenant>, project: &str) -> Result<bool> {
        let client = self.jira.for_tenant(t.clone())?;
        match client
            .get_json::<Value>(&format!("/rest/api/3/project/{project}"))
            .await
        {
            Ok(_) => Ok(true),
            Err(JiraError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
