//! The replica: what Basic mode syncs of an issue, built from Jira's REST v3 representation.
//! Comparing a fresh replica with the last one sent tells which fields changed; nothing changed
//! means nothing is sent (which is also what stops the app's own edits from echoing back).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// When each field got its current value (Jira's `updated` of the edit, in ms since the
    /// epoch): concurrent edits of one field on both sides converge on the later one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stamps: BTreeMap<Field, i64>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
            stamps: BTreeMap::new(),
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

    /// Why this replica's rich text is not valid Atlassian Document Format (which Jira would
    /// refuse), if it is not: the description first, then each comment.
    pub fn invalid_rich_text(&self) -> Option<String> {
        let docs = self
            .description
            .iter()
            .map(|d| ("the description".to_owned(), d))
            .chain(
                self.comments
                    .iter()
                    .map(|c| (format!("comment {}", c.id), &c.body)),
            );
        for (what, doc) in docs {
            if let Some(why) = adf::errors(doc).into_iter().next() {
                return Some(format!(
                    "{what} is not valid Atlassian Document Format: {why}"
                ));
            }
        }
        None
    }

    /// Carries `previous`'s stamps over and stamps the `changed` fields with `at`.
    pub fn stamp(&mut self, previous: Option<&Replica>, changed: &[Field], at: i64) {
        self.stamps = previous.map(|p| p.stamps.clone()).unwrap_or_default();
        for f in changed {
            self.stamps.insert(*f, at);
        }
    }

    /// The value of a field as JSON (for the last-writer-wins tie-break).
    pub fn value_of(&self, f: Field) -> Value {
        match f {
            Field::Summary => Value::String(self.summary.clone()),
            Field::Description => self.description.clone().unwrap_or(Value::Null),
            Field::IssueType => Value::String(self.issue_type.clone()),
            Field::Comments => serde_json::to_value(&self.comments).unwrap_or(Value::Null),
            Field::Attachments => serde_json::to_value(&self.attachments).unwrap_or(Value::Null),
        }
    }

    /// Last writer wins per field: whether `incoming`'s value of `f` should replace `self`'s.
    /// The later stamp wins; equal stamps fall back to comparing the values, so both sides pick
    /// the same one. A value without a stamp (older data) loses to one with a stamp.
    pub fn incoming_wins(&self, incoming: &Replica, f: Field) -> bool {
        let mine = self.stamps.get(&f).copied().unwrap_or(i64::MIN);
        let theirs = incoming.stamps.get(&f).copied().unwrap_or(i64::MIN);
        if theirs != mine {
            return theirs > mine;
        }
        let (theirs, mine) = (
            incoming.value_of(f).to_string(),
            self.value_of(f).to_string(),
        );
        theirs >= mine
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

/// Jira's `updated` (`2026-11-25T09:30:00.123+0000`) in ms since the epoch.
pub fn jira_time_ms(issue: &Value) -> Option<i64> {
    let s = issue["fields"]["updated"].as_str()?;
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Media nodes point at attachments of the source site, which mean nothing on the other side:
/// they are dropped, and a container left empty by that is dropped too (a table cell or layout
/// column gets an empty paragraph instead), so the document stays valid ADF.
pub fn strip_media(doc: &Value) -> Value {
    fn clean(v: &Value) -> Option<Value> {
        let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
        if matches!(ty, "mediaSingle" | "mediaGroup" | "mediaInline" | "media") {
            return None;
        }
        let mut out = v.clone();
        if let Some(children) = v.get("content").and_then(Value::as_array) {
            let mut kept: Vec<Value> = children.iter().filter_map(clean).collect();
            if kept.is_empty() && !children.is_empty() && ty != "doc" && ty != "paragraph" {
                if !matches!(ty, "tableCell" | "tableHeader" | "layoutColumn") {
                    return None;
                }
                // A cell or column keeps its place, so the table or layout keeps its shape
                // (a layout needs two columns at least).
                kept.push(serde_json::json!({"type": "paragraph"}));
            }
            out["content"] = Value::Array(kept);
        }
        Some(out)
    }
    clean(doc).unwrap_or_else(|| serde_json::json!({"type": "doc", "version": 1, "content": []}))
}

/// The other side's description as this side should store it: this side's own embedded media
/// (images and files it shows inline) kept where they were. The other side never sees them —
/// they point at this site's files — so its edit of the text must not remove them.
///
/// Top-level blocks that are only media go back after as many other blocks as preceded them
/// (at the end when the other side has fewer). A block with media inside it (a table with an
/// image, say) keeps its media while the other side left its text as it was.
pub fn keep_local_media(local: Option<&Value>, incoming: Option<&Value>) -> Option<Value> {
    let Some(local) = local.filter(|l| strip_media(l) != **l) else {
        return incoming.cloned();
    };
    let local_blocks = local["content"].as_array().map_or(&[][..], Vec::as_slice);
    let incoming_blocks: &[Value] = incoming
        .and_then(|d| d.get("content"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    // Pure media blocks by the number of other blocks before them; the other blocks by index.
    let mut media_at: Vec<(usize, &Value)> = Vec::new();
    let mut with_media: Vec<(Value, &Value)> = Vec::new();
    for block in local_blocks {
        let stripped = strip_media(&serde_json::json!({"type": "doc", "content": [block]}));
        match stripped["content"].as_array().and_then(|c| c.first()) {
            None => media_at.push((with_media.len(), block)),
            Some(text_only) => with_media.push((text_only.clone(), block)),
        }
    }
    let mut out = Vec::with_capacity(incoming_blocks.len() + media_at.len());
    let mut media = media_at.into_iter().peekable();
    for (k, block) in incoming_blocks.iter().enumerate() {
        while let Some((_, m)) = media.next_if(|(at, _)| *at <= k) {
            out.push(m.clone());
        }
        match with_media.get(k) {
            Some((text_only, original)) if text_only == block => out.push((*original).clone()),
            _ => out.push(block.clone()),
        }
    }
    out.extend(media.map(|(_, m)| m.clone()));
    if out.is_empty() {
        return incoming.cloned();
    }
    let mut doc = incoming
        .cloned()
        .unwrap_or_else(|| serde_json::json!({"type": "doc", "version": 1}));
    doc["content"] = Value::Array(out);
    Some(doc)
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
    fn later_edit_wins_and_ties_pick_the_same_value_on_both_sides() {
        let issue = json!({"fields": {"summary": "A", "description": null, "issuetype": {"name": "Bug"},
                                      "updated": "2026-11-25T09:30:00.123+0100"}});
        assert_eq!(jira_time_ms(&issue), Some(1_795_595_400_123));
        let mut a = Replica::from_issue(&issue).unwrap();
        a.stamp(None, &[Field::Summary], 10);
        let mut b = a.clone();
        b.summary = "B".into();
        b.stamp(Some(&a), &[Field::Summary], 20);
        assert!(a.incoming_wins(&b, Field::Summary));
        assert!(!b.incoming_wins(&a, Field::Summary));
        b.stamps.insert(Field::Summary, 10);
        assert_ne!(
            a.incoming_wins(&b, Field::Summary),
            b.incoming_wins(&a, Field::Summary)
        );
        let unstamped = Replica {
            stamps: Default::default(),
            ..a.clone()
        };
        assert!(!a.incoming_wins(&unstamped, Field::Summary));
    }

    fn para(text: &str) -> Value {
        json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
    }

    fn image(id: &str) -> Value {
        json!({"type": "mediaSingle", "attrs": {"layout": "center"},
               "content": [{"type": "media", "attrs": {"id": id, "type": "file", "collection": ""}}]})
    }

    fn doc(content: Vec<Value>) -> Value {
        json!({"type": "doc", "version": 1, "content": content})
    }

    #[test]
    fn an_edit_from_the_other_side_keeps_the_images_embedded_here() {
        let local = doc(vec![para("one"), image("a"), para("two"), image("b")]);
        let incoming = doc(vec![para("one"), para("two, edited")]);
        assert_eq!(
            keep_local_media(Some(&local), Some(&incoming)),
            Some(doc(vec![
                para("one"),
                image("a"),
                para("two, edited"),
                image("b")
            ]))
        );
        // The other side removed the text around them: the images stay, in their order.
        assert_eq!(
            keep_local_media(Some(&local), None),
            Some(doc(vec![image("a"), image("b")]))
        );
        // An image first stays first; a new paragraph from the other side goes after it.
        let local = doc(vec![image("a"), para("one")]);
        let incoming = doc(vec![para("one"), para("new")]);
        assert_eq!(
            keep_local_media(Some(&local), Some(&incoming)),
            Some(doc(vec![image("a"), para("one"), para("new")]))
        );
    }

    #[test]
    fn media_inside_a_block_stays_while_its_text_is_unchanged() {
        let cell = |c: Vec<Value>| json!({"type": "table", "content": [{"type": "tableRow", "content": [{"type": "tableCell", "content": c}]}]});
        let local = doc(vec![cell(vec![para("x"), image("a")]), para("two")]);
        let incoming = doc(vec![cell(vec![para("x")]), para("two, edited")]);
        assert_eq!(
            keep_local_media(Some(&local), Some(&incoming)),
            Some(doc(vec![
                cell(vec![para("x"), image("a")]),
                para("two, edited")
            ]))
        );
        // Its text edited on the other side: the other side's version of that block wins.
        let incoming = doc(vec![cell(vec![para("y")]), para("two")]);
        assert_eq!(
            keep_local_media(Some(&local), Some(&incoming)),
            Some(incoming.clone())
        );
    }

    #[test]
    fn without_media_here_the_other_sides_description_is_taken_as_it_is() {
        let incoming = doc(vec![para("new")]);
        let local = doc(vec![para("old")]);
        assert_eq!(
            keep_local_media(Some(&local), Some(&incoming)),
            Some(incoming.clone())
        );
        assert_eq!(keep_local_media(None, Some(&incoming)), Some(incoming));
        assert_eq!(keep_local_media(Some(&local), None), None);
    }

    #[test]
    fn rich_text_that_jira_would_refuse_is_named() {
        let mut r = Replica {
            description: Some(doc(vec![para("fine")])),
            comments: vec![ReplicaComment {
                id: "10".into(),
                author: "Ann".into(),
                body: doc(vec![para("fine too")]),
            }],
            ..Default::default()
        };
        assert_eq!(r.invalid_rich_text(), None);
        r.comments[0].body = doc(vec![json!({"type": "blink"})]);
        assert!(r
            .invalid_rich_text()
            .unwrap()
            .starts_with("comment 10 is not valid"));
        r.description = Some(json!("<p>html</p>"));
        assert!(r
            .invalid_rich_text()
            .unwrap()
            .starts_with("the description is not valid"));
    }

    #[test]
    fn media_stripped_from_any_container_leaves_valid_adf() {
        let img = image("a");
        let p = para("text");
        let cell = |c: Vec<Value>| json!({"type": "tableCell", "attrs": {}, "content": c});
        let column =
            |c: Vec<Value>| json!({"type": "layoutColumn", "attrs": {"width": 50}, "content": c});
        let item = |c: Vec<Value>| json!({"type": "listItem", "content": c});
        let inline = json!({"type": "paragraph", "content": [
            {"type": "mediaInline", "attrs": {"id": "b", "type": "file", "collection": ""}}]});
        let cases = [
            doc(vec![img.clone()]),
            doc(vec![
                json!({"type": "table", "content": [{"type": "tableRow", "content": [
                cell(vec![img.clone()]), cell(vec![p.clone()])]}]}),
            ]),
            doc(vec![
                json!({"type": "table", "content": [{"type": "tableRow", "content": [
                cell(vec![img.clone()])]}]}),
            ]),
            doc(vec![json!({"type": "layoutSection", "content": [
                column(vec![img.clone()]), column(vec![p.clone()])]})]),
            doc(vec![
                json!({"type": "bulletList", "content": [item(vec![img.clone()]), item(vec![p.clone()])]}),
            ]),
            doc(vec![
                json!({"type": "bulletList", "content": [item(vec![img.clone()])]}),
            ]),
            doc(vec![
                json!({"type": "panel", "attrs": {"panelType": "info"}, "content": [img.clone()]}),
            ]),
            doc(vec![
                json!({"type": "expand", "attrs": {"title": "x"}, "content": [img.clone()]}),
            ]),
            doc(vec![
                json!({"type": "blockquote", "content": [img.clone()]}),
            ]),
            doc(vec![inline.clone(), p.clone()]),
        ];
        for case in cases {
            assert!(adf::is_valid(&case), "the case itself: {case}");
            let out = strip_media(&case);
            assert!(
                adf::is_valid(&out),
                "{case}\n→ {out}\n{:?}",
                adf::errors(&out)
            );
            assert!(!out.to_string().contains("\"media"), "{out}");
        }
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
