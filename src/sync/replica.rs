//! The replica: what Basic mode syncs of an issue, built from Jira's REST v3 representation.
//! Comparing a fresh replica with the last one sent tells which fields changed; nothing changed
//! means nothing is sent (which is also what stops the app's own edits from echoing back).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replica {
    pub summary: String,
    /// ADF document, or `None` for an empty description.
    pub description: Option<Value>,
    pub issue_type: String,
    /// Public comments written by people on this side (restricted comments are never sent, and
    /// comments the app itself wrote are twins of the other side's).
    #[serde(default)]
    pub comments: Vec<ReplicaComment>,
    /// Attachments added by people on this side.
    #[serde(default)]
    pub attachments: Vec<ReplicaAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaAttachment {
    pub id: String,
    pub filename: String,
    pub size: u64,
    pub mime_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaComment {
    pub id: String,
    pub author: String,
    pub body: Value,
}

impl ReplicaComment {
    /// From one element of `GET /rest/api/3/issue/{id}/comment`; `None` for what is not sent.
    pub fn from_comment(c: &Value) -> Option<ReplicaComment> {
        if c.get("visibility").is_some_and(|v| !v.is_null()) || c["author"]["accountType"] == "app"
        {
            return None;
        }
        Some(ReplicaComment {
            id: c.get("id")?.as_str()?.to_owned(),
            author: c["author"]["displayName"]
                .as_str()
                .unwrap_or("Someone")
                .to_owned(),
            body: strip_media(c.get("body")?),
        })
    }

    /// The body the twin gets: the original author's name, then the original content.
    pub fn twin_body(&self) -> Value {
        let mut content = vec![serde_json::json!({"type": "paragraph", "content": [
            {"type": "text", "text": format!("{} wrote:", self.author), "marks": [{"type": "strong"}]}]})];
        if let Some(c) = self.body.get("content").and_then(Value::as_array) {
            content.extend(c.iter().cloned());
        }
        serde_json::json!({"type": "doc", "version": 1, "content": content})
    }
}

/// The fields a message asks the other side to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    Summary,
    Description,
    IssueType,
    Comments,
    Attachments,
}

impl Replica {
    /// From `GET /rest/api/3/issue/{key}?fields=summary,description,issuetype`.
    pub fn from_issue(issue: &Value) -> Option<Replica> {
        let f = issue.get("fields")?;
        Some(Replica {
            summary: f.get("summary")?.as_str()?.to_owned(),
            description: f
                .get("description")
                .filter(|d| !d.is_null())
                .map(strip_media),
            issue_type: f.get("issuetype")?.get("name")?.as_str()?.to_owned(),
            comments: Vec::new(),
            attachments: f
                .get("attachment")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|a| a["author"]["accountType"] != "app")
                .filter_map(|a| {
                    Some(ReplicaAttachment {
                        id: a.get("id")?.as_str()?.to_owned(),
                        filename: a.get("filename")?.as_str()?.to_owned(),
                        size: a.get("size")?.as_u64()?,
                        mime_type: a["mimeType"]
                            .as_str()
                            .unwrap_or("application/octet-stream")
                            .to_owned(),
                    })
                })
                .collect(),
        })
    }

    /// Fields that differ from `previous` (every field when there is none).
    pub fn changed_since(&self, previous: Option<&Replica>) -> Vec<Field> {
        let Some(p) = previous else {
            return vec![
                Field::Summary,
                Field::Description,
                Field::IssueType,
                Field::Comments,
                Field::Attachments,
            ];
        };
        let mut out = Vec::new();
        if p.summary != self.summary {
            out.push(Field::Summary);
        }
        if p.description != self.description {
            out.push(Field::Description);
        }
        if p.issue_type != self.issue_type {
            out.push(Field::IssueType);
        }
        if p.comments != self.comments {
            out.push(Field::Comments);
        }
        if p.attachments != self.attachments {
            out.push(Field::Attachments);
        }
        out
    }
}

/// Media nodes point at attachments of the source site, which mean nothing on the other side:
/// they are dropped, and a paragraph or container left empty by that is dropped too, so the
/// document stays valid ADF.
pub fn strip_media(doc: &Value) -> Value {
    fn clean(v: &Value) -> Option<Value> {
        let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
        if matches!(ty, "mediaSingle" | "mediaGroup" | "mediaInline" | "media") {
            return None;
        }
        let mut out = v.clone();
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            let kept: Vec<Value> = children.iter().filter_map(clean).collect();
            if kept.is_empty() && !children.is_empty() && ty != "doc" && ty != "paragraph" {
                return None;
            }
            out["content"] = Value::Array(kept);
        }
        Some(out)
    }
    clean(doc).unwrap_or_else(|| serde_json::json!({"type": "doc", "version": 1, "content": []}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_and_diffs() {
        let issue =
            json!({"fields": {"summary": "S", "description": null, "issuetype": {"name": "Bug"}}});
        let r = Replica::from_issue(&issue).unwrap();
        assert_eq!(r.changed_since(None).len(), 5);
        assert!(r.changed_since(Some(&r)).is_empty());
        let mut r2 = r.clone();
        r2.summary = "T".into();
        assert_eq!(r2.changed_since(Some(&r)), vec![Field::Summary]);
    }

    #[test]
    fn restricted_and_app_comments_are_not_sent() {
        let people = json!({"id": "1", "author": {"displayName": "Ann", "accountType": "atlassian"}, "body": {"type": "doc", "version": 1, "content": []}});
        let c = ReplicaComment::from_comment(&people).unwrap();
        assert_eq!(
            c.twin_body()["content"][0]["content"][0]["text"],
            "Ann wrote:"
        );
        let mut restricted = people.clone();
        restricted["visibility"] = json!({"type": "role", "value": "Administrators"});
        assert!(ReplicaComment::from_comment(&restricted).is_none());
        let mut app = people.clone();
        app["author"]["accountType"] = json!("app");
        assert!(ReplicaComment::from_comment(&app).is_none());
    }

    #[test]
    fn media_is_dropped_cleanly() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "see"}]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x", "type": "file", "collection": ""}}]}
        ]});
        let out = strip_media(&doc);
        assert_eq!(out["content"].as_array().unwrap().len(), 1);
    }
}
