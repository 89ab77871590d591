//! Hand-written shapes of the Jira Cloud platform REST API v3 endpoints we call, field names as in
//! `reference/jira-platform-openapi.json` (components/schemas). Unknown fields are ignored
//! so Jira adding fields never breaks us.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /rest/api/3/serverInfo` — ServerInformation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInformation {
    pub base_url: String,
    #[serde(default)]
    pub display_url: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub deployment_type: Option<String>,
    #[serde(default)]
    pub server_title: Option<String>,
}

/// User (as returned by `/rest/api/3/myself` and `/rest/api/3/user`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// `POST /rest/api/3/permissions/check` body — BulkPermissionsRequestBean.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkPermissionsRequest {
    pub account_id: String,
    pub global_permissions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub project_permissions: Vec<BulkProjectPermissions>,
}

/// BulkProjectPermissions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkProjectPermissions {
    pub permissions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<i64>,
}

/// BulkPermissionGrants.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkPermissionGrants {
    #[serde(default)]
    pub global_permissions: Vec<String>,
    #[serde(default)]
    pub project_permissions: Vec<BulkProjectPermissionGrants>,
}

/// BulkProjectPermissionGrants.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkProjectPermissionGrants {
    pub permission: String,
    #[serde(default)]
    pub projects: Vec<i64>,
    #[serde(default)]
    pub issues: Vec<i64>,
}

/// Project (the fields we show and use).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub issue_types: Vec<IssueTypeDetails>,
}

/// IssueTypeDetails.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueTypeDetails {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
}

/// PageBeanProject, from `GET /rest/api/3/project/search`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBeanProject {
    #[serde(default)]
    pub values: Vec<Project>,
    #[serde(default)]
    pub is_last: Option<bool>,
    #[serde(default)]
    pub start_at: Option<i64>,
    #[serde(default)]
    pub total: Option<i64>,
}

/// ErrorCollection: Jira's error body.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCollection {
    #[serde(default)]
    pub error_messages: Vec<String>,
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

impl ErrorCollection {
    pub fn summary(&self) -> String {
        let mut parts = self.error_messages.clone();
        parts.extend(self.errors.iter().map(|(k, v)| format!("{k}: {v}")));
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    //! Our hand-written shapes must use the field names of the official OpenAPI spec.
    use serde_json::Value;

    fn schema_properties(spec: &Value, name: &str) -> Vec<String> {
        spec["components"]["schemas"][name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("schema {name} missing"))
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn field_names_exist_in_the_openapi_spec() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("reference/jira-platform-openapi.json");
        let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("spec"))
            .expect("spec parses");
        let ours: &[(&str, &[&str])] = &[
            (
                "ServerInformation",
                &[
                    "baseUrl",
                    "displayUrl",
                    "version",
                    "deploymentType",
                    "serverTitle",
                ],
            ),
            (
                "User",
                &["accountId", "accountType", "displayName", "active"],
            ),
            (
                "BulkPermissionsRequestBean",
                &["accountId", "globalPermissions", "projectPermissions"],
            ),
            (
                "BulkProjectPermissions",
                &["permissions", "projects", "issues"],
            ),
            (
                "BulkPermissionGrants",
                &["globalPermissions", "projectPermissions"],
            ),
            (
                "BulkProjectPermissionGrants",
                &["permission", "projects", "issues"],
            ),
            ("Project", &["id", "key", "name", "issueTypes"]),
            ("IssueTypeDetails", &["id", "name", "subtask"]),
            ("PageBeanProject", &["values", "isLast", "startAt", "total"]),
            ("ErrorCollection", &["errorMessages", "errors"]),
        ];
        for (schema, fields) in ours {
            let props = schema_properties(&spec, schema);
            for f in *fields {
                assert!(
                    props.iter().any(|p| p == f),
                    "{schema}.{f} is not in the spec"
                );
            }
        }
        // And the serialised request really uses those names.
        let req = super::BulkPermissionsRequest {
            account_id: "a".into(),
            global_permissions: vec!["ADMINISTER".into()],
            project_permissions: vec![],
        };
        let v = serde_json::to_value(req).unwrap();
        let props = schema_properties(&spec, "BulkPermissionsRequestBean");
        for k in v.as_object().unwrap().keys() {
            assert!(props.contains(k), "{k}");
        }
    }
}
