//! A connection's issues as the console and the panel see them: the first-issue step after
//! "Connection established" and the issue panel's sync state with each connection.

use super::*;

impl ConnectionService {
    /// The first-issue step after "Connection established": checks the issue exists in the
    /// connection's project; the caller then starts its sync.
    pub async fn first_sync(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        uid: &str,
        issue_key: &str,
    ) -> Result<serde_json::Value> {
        self.require_admin(t, account).await?;
        let conn = self.own(t, uid).await?;
        if conn.status != "active" {
            return Err(ConnectionError::NotActive);
        }
        let key = issue_key.trim().to_ascii_uppercase();
        let project_key = conn.local_project_key.clone().unwrap_or_default();
        let project_label = format!(
            "{} ({})",
            conn.local_project_name.clone().unwrap_or_default(),
            project_key
        );
        let valid = key.split_once('-').is_some_and(|(p, n)| {
            p == project_key && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
        });
        if !valid {
            return Err(ConnectionError::IssueNotFound(key, project_label));
        }
        let client = self.jira.for_tenant(t.clone())?;
        match client
            .get_json::<serde_json::Value>(&format!("/rest/api/3/issue/{key}?fields=summary"))
            .await
        {
            Ok(_) => Ok(serde_json::json!({
                "issueKey": key,
                "issueUrl": format!(
                    "{}/browse/{key}",
                    t.display_url.as_deref().unwrap_or(&t.base_url).trim_end_matches('/')
                ),
                "message": format!("{key} is being synchronized. Open it to follow its status in the Exalate panel."),
            })),
            Err(JiraError::NotFound(_)) => Err(ConnectionError::IssueNotFound(key, project_label)),
            Err(e) => Err(e.into()),
        }
    }
    /// The issue panel: which connections this issue's project belongs to, and its sync state
    /// with each.
    /// `viewer`: who opened the panel; Jira is asked whether they may browse the issue, since
    /// the app reads it with its own rights.
    pub async fn issue_status(
        &self,
        t: &Arc<Tenant>,
        viewer: Option<&str>,
        issue_key: &str,
    ) -> Result<serde_json::Value> {
        let key = issue_key.trim().to_ascii_uppercase();
        let Some((project, _)) = key.split_once('-').filter(|(p, n)| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric())
                && n.chars().all(|c| c.is_ascii_digit())
                && !n.is_empty()
        }) else {
            return Err(ConnectionError::IssueNotFound(key, "this site".into()));
        };
        let client = self.jira.for_tenant(t.clone())?;
        let issue = match client
            .get_json::<serde_json::Value>(&format!("/rest/api/3/issue/{key}?fields=project"))
            .await
        {
            Ok(v) => v,
            Err(JiraError::NotFound(_)) => {
                return Err(ConnectionError::IssueNotFound(key, "this site".into()))
            }
            Err(e) => return Err(e.into()),
        };
        let issue_id = issue["id"].as_str().unwrap_or_default().to_owned();
        let browses = match viewer {
            Some(who) => client
                .issue_permissions(
                    who,
                    issue_id.parse().unwrap_or_default(),
                    &["BROWSE_PROJECTS"],
                )
                .await?
                .iter()
                .any(|p| p == "BROWSE_PROJECTS"),
            None => false,
        };
        if !browses {
            return Err(ConnectionError::IssueNotFound(key, "this site".into()));
        }
        let synced = crate::entities::synced_issues::Entity::find()
            .filter(crate::entities::synced_issues::Column::TenantId.eq(t.id))
            .filter(crate::entities::synced_issues::Column::IssueId.eq(issue_id))
            .all(&self.db)
            .await?;
        let rows = connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .filter(connections::Column::Status.eq("active"))
            .all(&self.db)
            .await?;
        let matching: Vec<&connections::Model> = rows
            .iter()
            .filter(|c| {
                c.local_project_key.as_deref() == Some(project)
                    || (c.is_local && c.remote_project_key.as_deref() == Some(project))
            })
            .collect();
        Ok(serde_json::json!({
            "issueKey": key,
            "syncs": matching.iter().map(|c| match synced.iter().find(|s| s.connection_uid == c.uid) {
                Some(s) => serde_json::json!({
                    "connectionId": c.uid, "connectionName": c.name, "status": s.status,
                    "twinKey": s.twin_key, "twinUrl": s.twin_url,
                    "lastSync": s.last_sync_at.map(|t| t.to_rfc3339()), "error": s.error}),
                None => serde_json::json!({"connectionId": c.uid, "connectionName": c.name, "status": "not_synced"}),
            }).collect::<Vec<_>>(),
            "connections": matching.iter().map(|c| serde_json::json!({"id": c.uid, "name": c.name})).collect::<Vec<_>>(),
        }))
    }
}
