//! One emulated Jira Cloud site: its data, the operations that change it (with Jira's validation
//! and error texts), and the webhooks those changes send to installed apps.

use crate::error::{ApiResult, JiraApiError};
use crate::faults::{Counters, FaultState};
use crate::model::{Attachment, Comment, Installation, Issue, RemoteLink, Seed, SiteData};
use crate::permissions;
use crate::render;
use crate::webhooks::{Delivery, Dispatcher};
use actix_web::http::StatusCode;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, RwLock};

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User {
        account_id: String,
    },
    App {
        app_key: String,
        account_id: String,
        scopes: Vec<String>,
    },
}

impl Principal {
    pub fn account_id(&self) -> &str {
        match self {
            Principal::User { account_id } | Principal::App { account_id, .. } => account_id,
        }
    }
    pub fn kind(&self) -> String {
        match self {
            Principal::User { .. } => "user".into(),
            Principal::App { app_key, .. } => format!("app:{app_key}"),
        }
    }
}

/// A file received in an upload, spooled at `path` until the upload is known to be complete.
#[derive(Debug, Clone)]
pub struct Upload {
    pub path: PathBuf,
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
    pub sha256: String,
}

pub struct Site {
    pub name: String,
    base_url: RwLock<String>,
    pub data: Mutex<SiteData>,
    pub faults: FaultState,
    pub counters: Counters,
    pub sessions: Mutex<HashMap<String, String>>,
    pub attachments_dir: PathBuf,
    pub state_file: Option<PathBuf>,
    pub seed: Seed,
    pub webhooks: Dispatcher,
    /// Single-use tokens handed out by `GET /rest/plugins/1.0/` (the `upm-token` header).
    pub upm_tokens: Mutex<Vec<String>>,
    /// For lifecycle calls and descriptor fetches.
    pub http: reqwest::Client,
}

const MAX_SUMMARY: usize = 255;
const MAX_PROPERTY_BYTES: usize = 32 * 1024;

impl Site {
    pub fn new(
        name: &str,
        data: SiteData,
        seed: Seed,
        attachments_dir: PathBuf,
        state_file: Option<PathBuf>,
        webhooks: Dispatcher,
    ) -> Self {
        Site {
            name: name.to_owned(),
            base_url: RwLock::new(String::new()),
            data: Mutex::new(data),
            faults: FaultState::default(),
            counters: Counters::default(),
            sessions: Mutex::new(HashMap::new()),
            attachments_dir,
            state_file,
            seed,
            webhooks,
            upm_tokens: Mutex::new(Vec::new()),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("static reqwest configuration"),
        }
    }

    pub fn base_url(&self) -> String {
        self.base_url.read().expect("base url lock").clone()
    }

    pub fn set_base_url(&self, url: &str) {
        *self.base_url.write().expect("base url lock") = url.trim_end_matches('/').to_owned();
    }

    pub fn lock(&self) -> MutexGuard<'_, SiteData> {
        self.data.lock().expect("site data lock")
    }

    /// Writes the state file, if one is configured (after every change, so a restart keeps it).
    pub fn persist(&self, d: &SiteData) {
        if let Some(path) = &self.state_file {
            let tmp = path.with_extension("tmp");
            if let Ok(bytes) = serde_json::to_vec(d) {
                if std::fs::write(&tmp, bytes).is_ok() {
                    let _ = std::fs::rename(&tmp, path);
                }
            }
        }
    }

    pub fn attachment_path(&self, id: u64) -> PathBuf {
        self.attachments_dir.join(id.to_string())
    }

    fn check_write(&self, p: &Principal, issue_id: Option<u64>) -> ApiResult<()> {
        self.counters
            .update(|c| *c.writes.entry(p.kind()).or_default() += 1);
        if let Some(id) = issue_id {
            if let Some(retry) = self.faults.issue_write(id) {
                let mut e = JiraApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many updates to this issue in a short time. Try again later.",
                );
                e.errors.insert("retryAfter".into(), retry.to_string());
                return Err(e);
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------ validation

    pub fn validate_adf(field: &str, v: &Value) -> ApiResult<()> {
        if v.is_string() {
            return Err(JiraApiError::field(
                StatusCode::BAD_REQUEST,
                field,
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
            ));
        }
        if !crate::adf::is_valid(v) {
            return Err(JiraApiError::field(
                StatusCode::BAD_REQUEST,
                field,
                "Operation value must be a valid Atlassian Document (see the Atlassian Document Format)",
            ));
        }
        Ok(())
    }

    // ------------------------------------------------------------------ issues

    pub fn create_issue(&self, p: &Principal, body: &Value) -> ApiResult<Value> {
        self.check_write(p, None)?;
        let fields = body
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| JiraApiError::bad_request("Field 'fields' is required."))?;
        let mut errors = std::collections::BTreeMap::new();
        let mut d = self.lock();
        let project = fields.get("project").and_then(|p| {
            p.get("id").or_else(|| p.get("key")).and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
        });
        // A project the caller cannot browse does not exist for them.
        let project = project
            .and_then(|k| d.project_by_id_or_key(&k).cloned())
            .filter(|pr| permissions::may(&d, p, &pr.id, permissions::BROWSE));
        match &project {
            None => {
                errors.insert(
                    "project".to_owned(),
                    "Specify a valid project ID or key".to_owned(),
                );
            }
            Some(pr) if !permissions::may(&d, p, &pr.id, "CREATE_ISSUES") => {
                errors.insert(
                    "project".to_owned(),
                    "You do not have permission to create issues in this project.".to_owned(),
                );
            }
            Some(_) => {}
        }
        let summary = fields
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned();
        if summary.is_empty() {
            errors.insert(
                "summary".to_owned(),
                "You must specify a summary of the issue.".to_owned(),
            );
        } else if summary.chars().count() > MAX_SUMMARY {
            errors.insert(
                "summary".to_owned(),
                "Summary must be less than 255 characters.".to_owned(),
            );
        }
        let issue_type_id = match (fields.get("issuetype"), &project) {
            (None, _) => {
                errors.insert("issuetype".to_owned(), "Specify an issue type".to_owned());
                None
            }
            (Some(t), Some(project)) => {
                let by_id = t.get("id").and_then(Value::as_str);
                let by_name = t.get("name").and_then(Value::as_str);
                let found = project.issue_type_ids.iter().find(|id| {
                    Some(id.as_str()) == by_id
                        || d.issue_type(id)
                            .map(|it| Some(it.name.as_str()) == by_name)
                            .unwrap_or(false)
                });
                if found.is_none() {
                    errors.insert(
                        "issuetype".to_owned(),
                        "Specify a valid issue type".to_owned(),
                    );
                }
                found.cloned()
            }
            _ => None,
        };
        let description = match fields.get("description") {
            None | Some(Value::Null) => None,
            Some(v) => match Self::validate_adf("description", v) {
                Ok(()) => Some(v.clone()),
                Err(e) => {
                    errors.extend(e.errors);
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(JiraApiError {
                status: StatusCode::BAD_REQUEST,
                messages: vec![],
                errors,
            });
        }
        // Entity properties set in the same call, as Jira allows (`properties: [{key, value}]`).
        let mut properties = std::collections::BTreeMap::new();
        for prop in body
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = prop.get("key").and_then(Value::as_str).unwrap_or("");
            let value = prop.get("value").cloned().unwrap_or(Value::Null);
            check_property(key, &value)?;
            properties.insert(key.to_owned(), value);
        }
        let (project, issue_type_id) = (project.expect("checked"), issue_type_id.expect("checked"));
        let id = d.next_issue_id;
        d.next_issue_id += 1;
        let proj = d
            .projects
            .iter_mut()
            .find(|x| x.id == project.id)
            .expect("exists");
        let key = format!("{}-{}", proj.key, proj.next_number);
        proj.next_number += 1;
        let now = Utc::now();
        let issue = Issue {
            id,
            key: key.clone(),
            project_id: project.id.clone(),
            issue_type_id,
            summary,
            description,
            reporter: p.account_id().to_owned(),
            created: now,
            updated: now,
            comments: vec![],
            attachment_ids: vec![],
            properties,
            remote_links: vec![],
        };
        d.issues.insert(id, issue);
        let base = self.base_url();
        let changelog = self.changelog(&mut d, vec![]);
        self.emit_issue_event(
            &d,
            "jira:issue_created",
            "issue_created",
            p,
            id,
            Some(changelog),
        );
        self.persist(&d);
        Ok(
            json!({"id": id.to_string(), "key": key, "self": format!("{base}/rest/api/3/issue/{id}")}),
        )
    }

    fn changelog(&self, d: &mut SiteData, items: Vec<Value>) -> Value {
        let id = d.next_changelog_id;
        d.next_changelog_id += 1;
        json!({"id": id.to_string(), "items": items})
    }

    pub fn edit_issue(&self, p: &Principal, id_or_key: &str, body: &Value) -> ApiResult<()> {
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        require(
            &d,
            p,
            id,
            "EDIT_ISSUES",
            StatusCode::FORBIDDEN,
            "You do not have permission to edit issues in this project.",
        )?;
        self.check_write(p, Some(id))?;
        let fields = body
            .get("fields")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let update = body
            .get("update")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut items = Vec::new();
        let issue = d.issues.get(&id).cloned().expect("exists");
        let mut new = issue.clone();
        // `update: {summary: [{set: ...}]}` is the same as `fields: {summary: ...}`.
        let mut sets = fields.clone();
        for (k, ops) in update {
            if let Some(set) = ops
                .as_array()
                .and_then(|a| a.iter().find_map(|o| o.get("set")))
            {
                sets.insert(k, set.clone());
            }
        }
        for (k, v) in &sets {
            match k.as_str() {
                "summary" => {
                    let s = v.as_str().unwrap_or("").trim();
                    if s.is_empty() {
                        return Err(JiraApiError::field(StatusCode::BAD_REQUEST, "summary", "You must specify a summary of the issue."));
                    }
                    if s.chars().count() > MAX_SUMMARY {
                        return Err(JiraApiError::field(StatusCode::BAD_REQUEST, "summary", "Summary must be less than 255 characters."));
                    }
                    if s != issue.summary {
                        items.push(json!({"field": "summary", "fieldtype": "jira", "fieldId": "summary",
                            "from": null, "fromString": issue.summary, "to": null, "toString": s}));
                    }
                    new.summary = s.to_owned();
                }
                "description" => {
                    if v.is_null() {
                        new.description = None;
                    } else {
                        Self::validate_adf("description", v)?;
                        new.description = Some(v.clone());
                    }
                    if new.description != issue.description {
                        items.push(json!({"field": "description", "fieldtype": "jira", "fieldId": "description",
                            "from": null, "fromString": issue.description.as_ref().map(render::adf_to_text),
                            "to": null, "toString": new.description.as_ref().map(render::adf_to_text)}));
                    }
                }
                "issuetype" => {
                    let project = d.project_by_id_or_key(&issue.project_id).cloned().expect("project");
                    let by_id = v.get("id").and_then(Value::as_str);
                    let by_name = v.get("name").and_then(Value::as_str);
                    let found = project.issue_type_ids.iter().find(|tid| {
                        Some(tid.as_str()) == by_id
                            || d.issue_type(tid).map(|it| Some(it.name.as_str()) == by_name).unwrap_or(false)
                    });
                    let Some(found) = found else {
                        return Err(JiraApiError::field(StatusCode::BAD_REQUEST, "issuetype", "Specify a valid issue type"));
                    };
                    if *found != issue.issue_type_id {
                        let name = |id: &str| d.issue_type(id).map(|t| t.name.clone());
                        items.push(json!({"field": "issuetype", "fieldtype": "jira", "fieldId": "issuetype",
                            "from": issue.issue_type_id, "fromString": name(&issue.issue_type_id),
                            "to": found, "toString": name(found)}));
                    }
                    new.issue_type_id = found.clone();
                }
                other => {
                    return Err(JiraApiError::field(
                        StatusCode::BAD_REQUEST,
                        other,
                        format!("Field '{other}' cannot be set. It is not on the appropriate screen, or unknown."),
                    ))
                }
            }
        }
        if items.is_empty() {
            self.counters
                .update(|c| *c.noop_writes.entry(p.kind()).or_default() += 1);
        }
        new.updated = Utc::now();
        d.issues.insert(id, new);
        let changelog = self.changelog(&mut d, items);
        self.emit_issue_event(
            &d,
            "jira:issue_updated",
            "issue_generic",
            p,
            id,
            Some(changelog),
        );
        self.persist(&d);
        Ok(())
    }

    pub fn delete_issue(&self, p: &Principal, id_or_key: &str) -> ApiResult<()> {
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        require(
            &d,
            p,
            id,
            "DELETE_ISSUES",
            StatusCode::FORBIDDEN,
            "You do not have permission to delete issues in this project.",
        )?;
        self.check_write(p, Some(id))?;
        self.emit_issue_event(&d, "jira:issue_deleted", "issue_deleted", p, id, None);
        let issue = d.issues.remove(&id).expect("exists");
        for a in issue.attachment_ids {
            d.attachments.remove(&a);
            let _ = std::fs::remove_file(self.attachment_path(a));
        }
        self.persist(&d);
        Ok(())
    }

    // ------------------------------------------------------------------ comments

    pub fn add_comment(&self, p: &Principal, id_or_key: &str, body: &Value) -> ApiResult<Value> {
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        require(
            &d,
            p,
            id,
            "ADD_COMMENTS",
            StatusCode::BAD_REQUEST,
            "You do not have the permission to comment on this issue.",
        )?;
        self.check_write(p, Some(id))?;
        let adf = body.get("body").ok_or_else(|| {
            JiraApiError::field(
                StatusCode::BAD_REQUEST,
                "comment",
                "Comment body can not be empty!",
            )
        })?;
        Self::validate_adf("comment", adf)?;
        let visibility = validate_visibility(body.get("visibility"))?;
        let now = Utc::now();
        let mut properties = std::collections::BTreeMap::new();
        for prop in body
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = prop.get("key").and_then(Value::as_str).unwrap_or("");
            let value = prop.get("value").cloned().unwrap_or(Value::Null);
            check_property(key, &value)?;
            properties.insert(key.to_owned(), value);
        }
        let c = Comment {
            id: d.next_comment_id,
            author: p.account_id().to_owned(),
            update_author: p.account_id().to_owned(),
            body: adf.clone(),
            created: now,
            updated: now,
            visibility,
            properties,
        };
        d.next_comment_id += 1;
        let issue = d.issues.get_mut(&id).expect("exists");
        issue.comments.push(c.clone());
        issue.updated = now;
        let base = self.base_url();
        let issue = d.issues[&id].clone();
        let out = render::comment(&base, &d, &issue, &c);
        self.emit_comment_event(&d, "comment_created", "issue_commented", p, &issue, &c);
        self.persist(&d);
        Ok(out)
    }

    pub fn update_comment(
        &self,
        p: &Principal,
        id_or_key: &str,
        comment_id: u64,
        body: &Value,
    ) -> ApiResult<Value> {
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        self.check_write(p, Some(id))?;
        let adf = body.get("body").ok_or_else(|| {
            JiraApiError::field(
                StatusCode::BAD_REQUEST,
                "comment",
                "Comment body can not be empty!",
            )
        })?;
        Self::validate_adf("comment", adf)?;
        let visibility = validate_visibility(body.get("visibility"))?;
        let now = Utc::now();
        let issue = d.issues.get_mut(&id).expect("exists");
        let c = issue
            .comments
            .iter_mut()
            .find(|c| c.id == comment_id)
            .ok_or_else(|| {
                JiraApiError::not_found(
                    "Can not find a comment for the id: ".to_owned()
                        + &comment_id.to_string()
                        + ".",
                )
            })?;
        c.body = adf.clone();
        c.update_author = p.account_id().to_owned();
        c.updated = now;
        if body.get("visibility").is_some() {
            c.visibility = visibility;
        }
        let c = c.clone();
        issue.updated = now;
        let issue = issue.clone();
        let base = self.base_url();
        let out = render::comment(&base, &d, &issue, &c);
        self.emit_comment_event(&d, "comment_updated", "issue_comment_edited", p, &issue, &c);
        self.persist(&d);
        Ok(out)
    }

    pub fn delete_comment(&self, p: &Principal, id_or_key: &str, comment_id: u64) -> ApiResult<()> {
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        self.check_write(p, Some(id))?;
        let issue = d.issues.get_mut(&id).expect("exists");
        let pos = issue
            .comments
            .iter()
            .position(|c| c.id == comment_id)
            .ok_or_else(|| {
                JiraApiError::not_found(format!("Can not find a comment for the id: {comment_id}."))
            })?;
        let c = issue.comments.remove(pos);
        issue.updated = Utc::now();
        let issue = issue.clone();
        self.emit_comment_event(
            &d,
            "comment_deleted",
            "issue_comment_deleted",
            p,
            &issue,
            &c,
        );
        self.persist(&d);
        Ok(())
    }

    // ------------------------------------------------------------------ attachments

    /// 404 unless the caller may see the issue, 403 unless they may attach files to it.
    pub fn may_attach(&self, p: &Principal, id_or_key: &str) -> ApiResult<u64> {
        attachable_issue(&self.lock(), p, id_or_key)
    }

    /// Stores the files of one upload, all or none: each spooled file is moved into place and
    /// added to the issue (the upload is one write for the per-issue write limit).
    pub fn store_attachments(
        &self,
        p: &Principal,
        id_or_key: &str,
        files: &[Upload],
    ) -> ApiResult<Vec<Value>> {
        let mut d = self.lock();
        let issue_id = attachable_issue(&d, p, id_or_key)?;
        self.check_write(p, Some(issue_id))?;
        let first = d.next_attachment_id;
        let mut placed = Vec::new();
        for (n, f) in files.iter().enumerate() {
            let target = self.attachment_path(first + n as u64);
            if let Err(e) = std::fs::rename(&f.path, &target) {
                for t in &placed {
                    let _ = std::fs::remove_file(t);
                }
                return Err(JiraApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The attachment could not be stored: {e}"),
                ));
            }
            placed.push(target);
        }
        d.next_attachment_id += files.len() as u64;
        let base = self.base_url();
        let now = Utc::now();
        let mut out = Vec::new();
        for (n, f) in files.iter().enumerate() {
            let att = Attachment {
                id: first + n as u64,
                issue_id,
                filename: f.filename.clone(),
                mime_type: f.mime_type.clone(),
                size: f.size,
                author: p.account_id().to_owned(),
                created: now,
                sha256: f.sha256.clone(),
            };
            let issue = d.issues.get_mut(&issue_id).expect("exists");
            issue.attachment_ids.push(att.id);
            issue.updated = now;
            d.attachments.insert(att.id, att.clone());
            out.push(render::attachment(&base, &d, &att));
            let item = json!({"field": "Attachment", "fieldtype": "jira", "fieldId": "attachment",
                "from": null, "fromString": null, "to": att.id.to_string(), "toString": att.filename});
            let changelog = self.changelog(&mut d, vec![item]);
            self.emit_attachment_event(&d, "attachment_created", &att);
            self.emit_issue_event(
                &d,
                "jira:issue_updated",
                "issue_updated",
                p,
                issue_id,
                Some(changelog),
            );
        }
        self.persist(&d);
        Ok(out)
    }

    pub fn delete_attachment(&self, p: &Principal, attachment_id: u64) -> ApiResult<()> {
        let mut d = self.lock();
        let att = d.attachments.get(&attachment_id).cloned().ok_or_else(|| {
            JiraApiError::not_found(format!(
                "The attachment with id '{attachment_id}' does not exist"
            ))
        })?;
        if !permissions::can_see_issue(&d, p, att.issue_id) {
            return Err(JiraApiError::forbidden(format!(
                "You do not have permission to view attachment with id: {attachment_id}."
            )));
        }
        self.check_write(p, Some(att.issue_id))?;
        d.attachments.remove(&attachment_id);
        let _ = std::fs::remove_file(self.attachment_path(attachment_id));
        if let Some(issue) = d.issues.get_mut(&att.issue_id) {
            issue.attachment_ids.retain(|a| *a != attachment_id);
            issue.updated = Utc::now();
        }
        let item = json!({"field": "Attachment", "fieldtype": "jira", "fieldId": "attachment",
            "from": att.id.to_string(), "fromString": att.filename, "to": null, "toString": null});
        let changelog = self.changelog(&mut d, vec![item]);
        self.emit_attachment_event(&d, "attachment_deleted", &att);
        self.emit_issue_event(
            &d,
            "jira:issue_updated",
            "issue_updated",
            p,
            att.issue_id,
            Some(changelog),
        );
        self.persist(&d);
        Ok(())
    }

    // ------------------------------------------------------------------ properties, links

    pub fn set_issue_property(
        &self,
        p: &Principal,
        id_or_key: &str,
        key: &str,
        value: Value,
    ) -> ApiResult<bool> {
        check_property(key, &value)?;
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        require(
            &d,
            p,
            id,
            "EDIT_ISSUES",
            StatusCode::FORBIDDEN,
            "You do not have permission to edit issues in this project.",
        )?;
        self.check_write(p, Some(id))?;
        let created = d
            .issues
            .get_mut(&id)
            .expect("exists")
            .properties
            .insert(key.to_owned(), value)
            .is_none();
        self.persist(&d);
        Ok(created)
    }

    pub fn delete_issue_property(
        &self,
        p: &Principal,
        id_or_key: &str,
        key: &str,
    ) -> ApiResult<()> {
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        require(
            &d,
            p,
            id,
            "EDIT_ISSUES",
            StatusCode::NOT_FOUND,
            "You do not have permission to edit issues in this project.",
        )?;
        self.check_write(p, Some(id))?;
        d.issues
            .get_mut(&id)
            .expect("exists")
            .properties
            .remove(key)
            .ok_or_else(|| {
                JiraApiError::not_found(format!("The property with key '{key}' does not exist."))
            })?;
        self.persist(&d);
        Ok(())
    }

    pub fn add_remote_link(
        &self,
        p: &Principal,
        id_or_key: &str,
        body: &Value,
    ) -> ApiResult<(Value, bool)> {
        let object = body
            .get("object")
            .filter(|o| o.is_object())
            .ok_or_else(|| {
                JiraApiError::field(StatusCode::BAD_REQUEST, "object", "'object' is required.")
            })?;
        if object
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            return Err(JiraApiError::field(
                StatusCode::BAD_REQUEST,
                "url",
                "'url' is required.",
            ));
        }
        if object
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            return Err(JiraApiError::field(
                StatusCode::BAD_REQUEST,
                "title",
                "'title' is required.",
            ));
        }
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        self.check_write(p, Some(id))?;
        let global_id = body
            .get("globalId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let next = d.next_link_id;
        let issue = d.issues.get_mut(&id).expect("exists");
        // A link with the same globalId is updated in place (Jira's upsert semantics).
        let existing = global_id.as_ref().and_then(|g| {
            issue
                .remote_links
                .iter_mut()
                .find(|l| l.global_id.as_ref() == Some(g))
        });
        let (link_id, created) = match existing {
            Some(l) => {
                l.object = object.clone();
                l.relationship = body
                    .get("relationship")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                l.application = body.get("application").cloned();
                (l.id, false)
            }
            None => {
                issue.remote_links.push(RemoteLink {
                    id: next,
                    global_id,
                    relationship: body
                        .get("relationship")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    object: object.clone(),
                    application: body.get("application").cloned(),
                });
                (next, true)
            }
        };
        if created {
            d.next_link_id += 1;
        }
        self.persist(&d);
        let base = self.base_url();
        Ok((
            json!({"id": link_id, "self": format!("{base}/rest/api/3/issue/{id}/remotelink/{link_id}")}),
            created,
        ))
    }

    pub fn delete_remote_link(
        &self,
        p: &Principal,
        id_or_key: &str,
        link_id: u64,
    ) -> ApiResult<()> {
        let mut d = self.lock();
        let id = permissions::visible_issue(&d, p, id_or_key)?;
        self.check_write(p, Some(id))?;
        let issue = d.issues.get_mut(&id).expect("exists");
        let before = issue.remote_links.len();
        issue.remote_links.retain(|l| l.id != link_id);
        if issue.remote_links.len() == before {
            return Err(JiraApiError::not_found(format!(
                "No link with id '{link_id}' exists on this issue."
            )));
        }
        self.persist(&d);
        Ok(())
    }

    // ------------------------------------------------------------------ webhooks

    fn subscribers(&self, d: &SiteData, event: &str) -> Vec<(Installation, String)> {
        d.installations
            .iter()
            .filter(|i| i.installed && i.enabled)
            .flat_map(|i| {
                i.webhook_urls(event)
                    .into_iter()
                    .map(move |u| (i.clone(), u))
            })
            .collect()
    }

    fn send(&self, d: &SiteData, event: &str, body: Value) {
        for (inst, url) in self.subscribers(d, event) {
            let mut body = body.clone();
            body["matchedWebhookIds"] = json!([1]);
            self.counters.update(|c| c.webhooks_queued += 1);
            self.webhooks.send(Delivery {
                url: format!("{}{}", inst.base_url.trim_end_matches('/'), url),
                app_base_url: inst.base_url.clone(),
                client_key: inst.client_key.clone(),
                shared_secret: inst.shared_secret.clone(),
                body,
            });
        }
    }

    fn emit_issue_event(
        &self,
        d: &SiteData,
        event: &str,
        type_name: &str,
        p: &Principal,
        issue_id: u64,
        changelog: Option<Value>,
    ) {
        let Some(issue) = d.issues.get(&issue_id) else {
            return;
        };
        let base = self.base_url();
        let mut body = json!({
            "timestamp": Utc::now().timestamp_millis(),
            "webhookEvent": event,
            "issue_event_type_name": type_name,
            "user": render::webhook_user(&base, d, p.account_id()),
            "issue": render::webhook_issue(&base, d, issue),
        });
        if let Some(c) = changelog {
            body["changelog"] = c;
        }
        self.send(d, event, body);
    }

    fn emit_comment_event(
        &self,
        d: &SiteData,
        event: &str,
        type_name: &str,
        p: &Principal,
        issue: &Issue,
        c: &Comment,
    ) {
        let base = self.base_url();
        let full = render::webhook_issue(&base, d, issue);
        let short = json!({
            "id": full["id"], "self": full["self"], "key": full["key"],
            "fields": {"summary": full["fields"]["summary"], "issuetype": full["fields"]["issuetype"],
                       "project": full["fields"]["project"], "status": full["fields"]["status"]}
        });
        let body = json!({
            "timestamp": Utc::now().timestamp_millis(),
            "webhookEvent": event,
            "issue_event_type_name": type_name,
            "user": render::webhook_user(&base, d, p.account_id()),
            "comment": render::webhook_comment(&base, d, issue, c),
            "issue": short,
        });
        self.send(d, event, body);
    }

    fn emit_attachment_event(&self, d: &SiteData, event: &str, a: &Attachment) {
        let base = self.base_url();
        let mut att = render::attachment(&base, d, a);
        att["self"] = json!(format!("{base}/rest/api/2/attachment/{}", a.id));
        let body = json!({
            "timestamp": Utc::now().timestamp_millis(),
            "webhookEvent": event,
            "attachment": att,
        });
        self.send(d, event, body);
    }
}

/// 404 unless the caller may see the issue, 403 unless they hold Create Attachments there.
fn attachable_issue(d: &SiteData, p: &Principal, id_or_key: &str) -> ApiResult<u64> {
    let id = permissions::visible_issue(d, p, id_or_key)?;
    if !permissions::may(d, p, &d.issues[&id].project_id, "CREATE_ATTACHMENTS") {
        return Err(JiraApiError::forbidden(
            "You do not have permission to create attachments for this issue.",
        ));
    }
    Ok(id)
}

/// `status` with `message` unless the caller holds `perm` in the issue's project.
fn require(
    d: &SiteData,
    p: &Principal,
    issue_id: u64,
    perm: &str,
    status: StatusCode,
    message: &str,
) -> ApiResult<()> {
    if permissions::may(d, p, &d.issues[&issue_id].project_id, perm) {
        Ok(())
    } else {
        Err(JiraApiError::new(status, message))
    }
}

fn validate_visibility(v: Option<&Value>) -> ApiResult<Option<Value>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(vis) => {
            let t = vis.get("type").and_then(Value::as_str);
            let value = vis
                .get("value")
                .and_then(Value::as_str)
                .or(vis.get("identifier").and_then(Value::as_str));
            match (t, value) {
                (Some("group" | "role"), Some(_)) => Ok(Some(vis.clone())),
                _ => Err(JiraApiError::field(
                    StatusCode::BAD_REQUEST,
                    "commentLevel",
                    "You are currently not a member of the project role or group specified.",
                )),
            }
        }
    }
}

pub fn check_property(key: &str, value: &Value) -> ApiResult<()> {
    if key.is_empty() || key.len() > 255 {
        return Err(JiraApiError::bad_request(
            "The property key must be between 1 and 255 characters long.",
        ));
    }
    if serde_json::to_vec(value)
        .map(|b| b.len())
        .unwrap_or(usize::MAX)
        > MAX_PROPERTY_BYTES
    {
        return Err(JiraApiError::bad_request(
            "The property value exceeds the maximum size of 32768 bytes.",
        ));
    }
    Ok(())
}
