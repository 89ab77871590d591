//! The data of one emulated site, and its seed. Everything is plain data behind the site's lock;
//! JSON shapes for the REST API are built in `rest.rs` from these.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Jira's timestamp format, e.g. `2024-12-29T08:41:23.303+0000`.
pub fn jira_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    #[serde(default)]
    pub email_address: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub api_token: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// `atlassian` for people, `app` for an app's own user.
    #[serde(default = "atlassian")]
    pub account_type: String,
}

fn atlassian() -> String {
    "atlassian".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueType {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub hierarchy_level: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    /// Issue type ids available in the project, in scheme order.
    pub issue_type_ids: Vec<String>,
    pub default_issue_type_id: Option<String>,
    pub next_number: u64,
    /// Project permission → the accountIds holding it, for the permissions that differ from the
    /// default (every person; Administer Projects: site admins). See `permissions.rs`.
    #[serde(default)]
    pub permissions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: u64,
    pub author: String,
    pub update_author: String,
    pub body: Value,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub visibility: Option<Value>,
    /// Comment entity properties (set with `properties` on create, read with `expand=properties`).
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: u64,
    pub issue_id: u64,
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
    pub author: String,
    pub created: DateTime<Utc>,
    /// SHA-256 of the content, so tests can check what arrived.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteLink {
    pub id: u64,
    pub global_id: Option<String>,
    pub relationship: Option<String>,
    pub object: Value,
    pub application: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    pub id: u64,
    pub key: String,
    pub project_id: String,
    pub issue_type_id: String,
    pub summary: String,
    pub description: Option<Value>,
    pub reporter: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub comments: Vec<Comment>,
    pub attachment_ids: Vec<u64>,
    pub properties: BTreeMap<String, Value>,
    pub remote_links: Vec<RemoteLink>,
}

/// An app installed on the site through the UPM API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    pub app_key: String,
    pub client_key: String,
    pub shared_secret: String,
    pub base_url: String,
    pub descriptor: Value,
    pub descriptor_url: String,
    pub enabled: bool,
    pub installed: bool,
    /// The app's own user on this site (its accountId is what its REST calls act as).
    pub app_account_id: String,
    pub scopes: Vec<String>,
    /// App properties (`/rest/atlassian-connect/1/addons/{key}/properties`).
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

impl Installation {
    pub fn webhook_urls(&self, event: &str) -> Vec<String> {
        self.descriptor["modules"]["webhooks"]
            .as_array()
            .map(|hooks| {
                hooks
                    .iter()
                    .filter(|h| h["event"] == event)
                    .filter_map(|h| h["url"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Everything a site holds. Serialisable, so `--state-file` can persist it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteData {
    pub users: Vec<User>,
    pub issue_types: Vec<IssueType>,
    pub projects: Vec<Project>,
    pub issues: BTreeMap<u64, Issue>,
    pub attachments: BTreeMap<u64, Attachment>,
    pub installations: Vec<Installation>,
    pub next_issue_id: u64,
    pub next_comment_id: u64,
    pub next_attachment_id: u64,
    pub next_link_id: u64,
    pub next_changelog_id: u64,
}

// ------------------------------------------------------------------ seed

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    pub users: Vec<User>,
    pub issue_types: Vec<IssueType>,
    pub projects: Vec<SeedProject>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedProject {
    pub id: String,
    pub key: String,
    pub name: String,
    pub issue_types: Vec<String>,
    pub default_issue_type: Option<String>,
    #[serde(default)]
    pub issues: Vec<SeedIssue>,
    /// Project permission → who holds it (accountIds or email addresses), e.g.
    /// `{"BROWSE_PROJECTS": ["admin@example.com"]}`; a permission not listed keeps the default.
    #[serde(default)]
    pub permissions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedIssue {
    pub summary: String,
    pub issue_type: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub comments: Vec<String>,
}

pub const DEFAULT_SEED: &str = include_str!("../seed/default.json");

/// ADF for a plain paragraph of text.
pub fn adf_paragraph(text: &str) -> Value {
    serde_json::json!({
        "type": "doc", "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]
    })
}

impl SiteData {
    pub fn from_seed(seed: &Seed) -> Result<SiteData, String> {
        let mut d = SiteData {
            users: seed.users.clone(),
            issue_types: seed.issue_types.clone(),
            next_issue_id: 10000,
            next_comment_id: 10000,
            next_attachment_id: 10000,
            next_link_id: 10000,
            next_changelog_id: 10000,
            ..SiteData::default()
        };
        let type_id = |name: &str| {
            seed.issue_types
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.id.clone())
                .ok_or_else(|| format!("seed: unknown issue type {name}"))
        };
        let admin = seed
            .users
            .iter()
            .find(|u| u.admin)
            .or(seed.users.first())
            .map(|u| u.account_id.clone())
            .ok_or("seed: no users")?;
        let now = Utc::now();
        for p in &seed.projects {
            let ids = p
                .issue_types
                .iter()
                .map(|n| type_id(n))
                .collect::<Result<Vec<_>, _>>()?;
            let default = p.default_issue_type.as_deref().map(type_id).transpose()?;
            let permissions = crate::permissions::resolve_map(&d, &p.permissions)
                .map_err(|e| format!("seed: project {}: {e}", p.key))?;
            d.projects.push(Project {
                id: p.id.clone(),
                key: p.key.clone(),
                name: p.name.clone(),
                issue_type_ids: ids,
                default_issue_type_id: default,
                next_number: 1,
                permissions,
            });
            for si in &p.issues {
                let id = d.next_issue_id;
                d.next_issue_id += 1;
                let project = d.projects.last_mut().expect("just pushed");
                let key = format!("{}-{}", project.key, project.next_number);
                project.next_number += 1;
                let mut comments = Vec::new();
                for c in &si.comments {
                    comments.push(Comment {
                        id: d.next_comment_id,
                        author: admin.clone(),
                        update_author: admin.clone(),
                        body: adf_paragraph(c),
                        created: now,
                        updated: now,
                        visibility: None,
                        properties: BTreeMap::new(),
                    });
                    d.next_comment_id += 1;
                }
                d.issues.insert(
                    id,
                    Issue {
                        id,
                        key,
                        project_id: p.id.clone(),
                        issue_type_id: type_id(&si.issue_type)?,
                        summary: si.summary.clone(),
                        description: si.description.as_deref().map(adf_paragraph),
                        reporter: admin.clone(),
                        created: now,
                        updated: now,
                        comments,
                        attachment_ids: Vec::new(),
                        properties: BTreeMap::new(),
                        remote_links: Vec::new(),
                    },
                );
            }
        }
        Ok(d)
    }

    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == account_id)
    }

    pub fn project_by_id_or_key(&self, id_or_key: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.id == id_or_key || p.key.eq_ignore_ascii_case(id_or_key))
    }

    pub fn issue_type(&self, id: &str) -> Option<&IssueType> {
        self.issue_types.iter().find(|t| t.id == id)
    }

    pub fn issue_id_by_id_or_key(&self, id_or_key: &str) -> Option<u64> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            if self.issues.contains_key(&id) {
                return Some(id);
            }
        }
        self.issues
            .values()
            .find(|i| i.key.eq_ignore_ascii_case(id_or_key))
            .map(|i| i.id)
    }

    pub fn installation(&self, app_key: &str) -> Option<&Installation> {
        self.installations.iter().find(|i| i.app_key == app_key)
    }

    pub fn installation_by_client_key(&self, client_key: &str) -> Option<&Installation> {
        self.installations
            .iter()
            .find(|i| i.client_key == client_key)
    }
}
