//! Applying the issue type: Basic mode maps it by name, else to the target project's default
//! type, else to Task (or the project's first type).

use crate::sync::{Result, SyncError, SyncService};
use crate::tenants::Tenant;
use serde_json::Value;
use std::sync::Arc;

impl SyncService {
    /// Basic-mode rule: the same issue type by name, else the project's default type, else Task.
    pub(super) async fn issue_type_for(
        &self,
        t: &Arc<Tenant>,
        project: &str,
        name: &str,
    ) -> Result<String> {
        let client = self.jira.for_tenant(t.clone())?;
        let meta: Value = client
            .get_json(&format!(
                "/rest/api/3/issue/createmeta/{project}/issuetypes"
            ))
            .await?;
        let types: Vec<(String, String)> = meta["issueTypes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t["id"].as_str()?.to_owned(), t["name"].as_str()?.to_owned())))
            .collect();
        if let Some((id, _)) = types.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
            return Ok(id.clone());
        }
        let project_json: Value = client
            .get_json(&format!("/rest/api/3/project/{project}"))
            .await?;
        if let Some(pid) = project_json["id"].as_str() {
            let schemes: Value = client
                .get_json(&format!(
                    "/rest/api/3/issuetypescheme/project?projectId={pid}"
                ))
                .await?;
            if let Some(def) =
                schemes["values"][0]["issueTypeScheme"]["defaultIssueTypeId"].as_str()
            {
                if types.iter().any(|(id, _)| id == def) {
                    return Ok(def.to_owned());
                }
            }
        }
        types
            .iter()
            .find(|(_, n)| n == "Task")
            .or(types.first())
            .map(|(id, _)| id.clone())
            .ok_or_else(|| SyncError::Invalid(format!("project {project} has no issue types")))
    }
}
