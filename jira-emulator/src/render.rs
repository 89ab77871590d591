//! JSON representations as Jira Cloud returns them (REST v3), and the v2 shapes webhooks carry.

use crate::model::{jira_time, Attachment, Comment, Issue, IssueType, Project, SiteData, User};
use serde_json::{json, Map, Value};

pub fn avatar_urls(seed: &str) -> Value {
    let base = format!("https://avatar-management.example.invalid/{seed}");
    json!({"48x48": format!("{base}/48"), "24x24": format!("{base}/24"), "16x16": format!("{base}/16"), "32x32": format!("{base}/32")})
}

pub fn user(base: &str, u: &User) -> Value {
    let mut v = json!({
        "self": format!("{base}/rest/api/3/user?accountId={}", u.account_id),
        "accountId": u.account_id,
        "accountType": u.account_type,
        "avatarUrls": avatar_urls(&u.account_id),
        "displayName": u.display_name,
        "active": true,
        "timeZone": "Etc/UTC",
    });
    if let Some(e) = &u.email_address {
        v["emailAddress"] = json!(e);
    }
    v
}

pub fn user_by_id(base: &str, d: &SiteData, account_id: &str) -> Value {
    match d.user(account_id) {
        Some(u) => user(base, u),
        None => {
            json!({"accountId": account_id, "active": false, "displayName": "Former user", "accountType": "atlassian"})
        }
    }
}

pub fn issue_type(base: &str, t: &IssueType) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/issuetype/{}", t.id),
        "id": t.id,
        "description": t.description,
        "iconUrl": format!("{base}/images/icons/issuetypes/{}.svg", t.name.to_lowercase()),
        "name": t.name,
        "subtask": false,
        "avatarId": 10300,
        "hierarchyLevel": t.hierarchy_level,
    })
}

pub fn project_short(base: &str, p: &Project) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/project/{}", p.id),
        "id": p.id,
        "key": p.key,
        "name": p.name,
        "projectTypeKey": "software",
        "simplified": false,
        "avatarUrls": avatar_urls(&p.key),
    })
}

pub fn project_full(base: &str, d: &SiteData, p: &Project) -> Value {
    let mut v = project_short(base, p);
    let types: Vec<Value> = p
        .issue_type_ids
        .iter()
        .filter_map(|id| d.issue_type(id))
        .map(|t| issue_type(base, t))
        .collect();
    v["issueTypes"] = json!(types);
    v["description"] = json!("");
    v["lead"] = d
        .users
        .first()
        .map(|u| user(base, u))
        .unwrap_or(Value::Null);
    v["assigneeType"] = json!("UNASSIGNED");
    v["isPrivate"] = json!(false);
    v["style"] = json!("classic");
    v["properties"] = json!({});
    v
}

pub fn comment(base: &str, d: &SiteData, issue: &Issue, c: &Comment) -> Value {
    let mut v = json!({
        "self": format!("{base}/rest/api/3/issue/{}/comment/{}", issue.id, c.id),
        "id": c.id.to_string(),
        "author": user_by_id(base, d, &c.author),
        "updateAuthor": user_by_id(base, d, &c.update_author),
        "body": c.body,
        "created": jira_time(&c.created),
        "updated": jira_time(&c.updated),
        "jsdPublic": true,
    });
    if let Some(vis) = &c.visibility {
        v["visibility"] = vis.clone();
    }
    v
}

pub fn attachment(base: &str, d: &SiteData, a: &Attachment) -> Value {
    json!({
        "self": format!("{base}/rest/api/3/attachment/{}", a.id),
        "id": a.id.to_string(),
        "filename": a.filename,
        "author": user_by_id(base, d, &a.author),
        "created": jira_time(&a.created),
        "size": a.size,
        "mimeType": a.mime_type,
        "content": format!("{base}/rest/api/3/attachment/content/{}", a.id),
    })
}

/// Attachment metadata (`GET /rest/api/3/attachment/{id}`): `id` is a number there.
pub fn attachment_metadata(base: &str, d: &SiteData, a: &Attachment) -> Value {
    let mut v = attachment(base, d, a);
    v["id"] = json!(a.id);
    v["properties"] = json!({});
    v
}

fn status() -> Value {
    json!({"self": "", "description": "", "iconUrl": "", "name": "To Do", "id": "10000",
           "statusCategory": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"}})
}

/// Every field of an issue, v3 representation.
fn all_fields(base: &str, d: &SiteData, i: &Issue) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("summary".into(), json!(i.summary));
    f.insert(
        "description".into(),
        i.description.clone().unwrap_or(Value::Null),
    );
    if let Some(t) = d.issue_type(&i.issue_type_id) {
        f.insert("issuetype".into(), issue_type(base, t));
    }
    if let Some(p) = d.project_by_id_or_key(&i.project_id) {
        f.insert("project".into(), project_short(base, p));
    }
    f.insert("reporter".into(), user_by_id(base, d, &i.reporter));
    f.insert("creator".into(), user_by_id(base, d, &i.reporter));
    f.insert("assignee".into(), Value::Null);
    f.insert("created".into(), json!(jira_time(&i.created)));
    f.insert("updated".into(), json!(jira_time(&i.updated)));
    f.insert("status".into(), status());
    f.insert("labels".into(), json!([]));
    let comments: Vec<Value> = i.comments.iter().map(|c| comment(base, d, i, c)).collect();
    f.insert(
        "comment".into(),
        json!({"comments": comments, "self": format!("{base}/rest/api/3/issue/{}/comment", i.id),
               "maxResults": comments.len(), "total": comments.len(), "startAt": 0}),
    );
    let atts: Vec<Value> = i
        .attachment_ids
        .iter()
        .filter_map(|id| d.attachments.get(id))
        .map(|a| attachment(base, d, a))
        .collect();
    f.insert("attachment".into(), json!(atts));
    f
}

/// Applies Jira's `fields` parameter: `*all` (default for issue GET), `*navigable`, names, and
/// `-name` exclusions.
pub fn filter_fields(
    all: Map<String, Value>,
    fields: Option<&str>,
    default_all: bool,
) -> Map<String, Value> {
    let spec: Vec<&str> = fields
        .map(|f| {
            f.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let include_all = if spec.is_empty() {
        default_all
    } else {
        spec.iter().any(|s| *s == "*all" || *s == "*navigable")
    };
    let wanted: Vec<&str> = spec
        .iter()
        .copied()
        .filter(|s| !s.starts_with('*') && !s.starts_with('-'))
        .collect();
    let excluded: Vec<&str> = spec.iter().filter_map(|s| s.strip_prefix('-')).collect();
    all.into_iter()
        .filter(|(k, _)| {
            (include_all || wanted.contains(&k.as_str())) && !excluded.contains(&k.as_str())
        })
        .collect()
}

pub fn issue(
    base: &str,
    d: &SiteData,
    i: &Issue,
    fields: Option<&str>,
    default_all: bool,
    expand: Option<&str>,
) -> Value {
    let all = all_fields(base, d, i);
    let only_id = fields.map(|f| f.trim() == "id").unwrap_or(!default_all);
    let mut v = json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": i.id.to_string(),
        "self": format!("{base}/rest/api/3/issue/{}", i.id),
        "key": i.key,
    });
    if !only_id {
        v["fields"] = Value::Object(filter_fields(all, fields, default_all));
    }
    if expand.is_some_and(|e| e.split(',').any(|x| x.trim() == "names")) {
        v["names"] = json!({"summary": "Summary", "description": "Description", "issuetype": "Issue Type",
            "project": "Project", "reporter": "Reporter", "created": "Created", "updated": "Updated",
            "comment": "Comment", "attachment": "Attachment", "status": "Status", "labels": "Labels"});
    }
    if !i.properties.is_empty() {
        v["properties"] = json!({});
    }
    v
}

/// Plain text of an ADF document, for the v2 (wiki-markup string) webhook representation.
pub fn adf_to_text(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if v.get("type").and_then(Value::as_str) == Some("hardBreak") {
            out.push('\n');
        }
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            for (n, c) in children.iter().enumerate() {
                walk(c, out);
                let block = matches!(
                    c.get("type").and_then(Value::as_str),
                    Some(
                        "paragraph" | "heading" | "codeBlock" | "blockquote" | "listItem" | "panel"
                    )
                );
                if block && n + 1 < children.len() {
                    out.push('\n');
                }
            }
        }
    }
    let mut out = String::new();
    walk(v, &mut out);
    out
}

fn v2_user(base: &str, d: &SiteData, account_id: &str) -> Value {
    let mut u = user_by_id(base, d, account_id);
    if let Some(s) = u.get("self").and_then(Value::as_str) {
        u["self"] = json!(s.replace("/rest/api/3/", "/rest/api/2/"));
    }
    u
}

/// The v2 issue as webhooks carry it: description as a string, `self` under /rest/api/2/.
pub fn webhook_issue(base: &str, d: &SiteData, i: &Issue) -> Value {
    let mut fields = all_fields(base, d, i);
    fields.insert(
        "description".into(),
        i.description
            .as_ref()
            .map(|a| json!(adf_to_text(a)))
            .unwrap_or(Value::Null),
    );
    fields.insert("reporter".into(), v2_user(base, d, &i.reporter));
    fields.insert("creator".into(), v2_user(base, d, &i.reporter));
    fields.remove("comment");
    fields.insert("customfield_10000".into(), Value::Null);
    fields.insert("subtasks".into(), json!([]));
    json!({
        "id": i.id.to_string(),
        "self": format!("{base}/rest/api/2/{}", i.id),
        "key": i.key,
        "fields": fields,
    })
}

pub fn webhook_comment(base: &str, d: &SiteData, issue: &Issue, c: &Comment) -> Value {
    let mut v = json!({
        "self": format!("{base}/rest/api/2/issue/{}/comment/{}", issue.id, c.id),
        "id": c.id.to_string(),
        "author": v2_user(base, d, &c.author),
        "updateAuthor": v2_user(base, d, &c.update_author),
        "body": adf_to_text(&c.body),
        "created": jira_time(&c.created),
        "updated": jira_time(&c.updated),
        "jsdPublic": true,
    });
    if let Some(vis) = &c.visibility {
        v["visibility"] = vis.clone();
    }
    v
}

pub fn webhook_user(base: &str, d: &SiteData, account_id: &str) -> Value {
    v2_user(base, d, account_id)
}
