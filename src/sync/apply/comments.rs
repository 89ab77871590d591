//! Applying comments: the other side's comments mirrored onto the twin through the link table
//! (created with their origin property, updated when the text differs, deleted when gone).

use crate::sync::replica::ReplicaComment;
use crate::sync::snapshot::all_comments;
use crate::sync::{store, Result, SyncService, TWIN_PROPERTY};
use crate::tenants::Tenant;
use serde_json::{json, Value};
use std::sync::Arc;

impl SyncService {
    /// Mirrors the other side's comments onto `issue_id` through the link table: new ones are
    /// created (public, with the author's name), edited ones updated, deleted ones deleted.
    pub(super) async fn apply_comments(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        issue_id: &str,
        comments: &[ReplicaComment],
        // The issue's comments (with properties) when they were just read.
        read: Option<&[Value]>,
    ) -> Result<()> {
        let client = self.jira.for_tenant(t.clone())?;
        let links = store::comment_links(&self.db, t.id, uid, issue_id).await?;
        let local: Vec<Value> = match read {
            Some(r) => r.to_vec(),
            None => all_comments(&client, issue_id).await?,
        };
        for c in comments {
            let body = c.twin_body();
            match links.iter().find(|l| l.twin_comment_id == c.id) {
                Some(link) => {
                    // Update only when the text differs; a twin someone deleted stays deleted.
                    if let Some(existing) = local
                        .iter()
                        .find(|l| l["id"].as_str() == Some(link.comment_id.as_str()))
                    {
                        if existing["body"] != body {
                            let payload = serde_json::to_vec(&json!({"body": body})).expect("json");
                            client
                                .send(
                                    reqwest::Method::PUT,
                                    &format!(
                                        "/rest/api/3/issue/{issue_id}/comment/{}",
                                        link.comment_id
                                    ),
                                    Some((payload.into(), "application/json")),
                                )
                                .await?;
                        }
                    }
                }
                None => {
                    // Each twin comment carries its origin, so a crash between Jira's create and
                    // our link finds it again instead of writing it twice.
                    let origin = format!("{uid}:{}", c.id);
                    let existing = local.iter().find(|l| {
                        l["properties"].as_array().into_iter().flatten().any(|p| {
                            p["key"] == TWIN_PROPERTY
                                && p["value"]["origin"].as_str() == Some(origin.as_str())
                        })
                    });
                    let comment_id = match existing {
                        Some(e) => e["id"].as_str().unwrap_or_default().to_owned(),
                        None => {
                            let created: Value = client
                                .post_json(
                                    &format!("/rest/api/3/issue/{issue_id}/comment"),
                                    &json!({"body": body, "properties": [{"key": TWIN_PROPERTY, "value": {"origin": origin}}]}),
                                )
                                .await?;
                            created["id"].as_str().unwrap_or_default().to_owned()
                        }
                    };
                    store::link_comment(&self.db, t.id, uid, issue_id, comment_id, &c.id).await?;
                }
            }
        }
        for link in links
            .iter()
            .filter(|l| !comments.iter().any(|c| c.id == l.twin_comment_id))
        {
            client
                .delete(&format!(
                    "/rest/api/3/issue/{issue_id}/comment/{}",
                    link.comment_id
                ))
                .await?;
            store::unlink_comment(&self.db, link).await?;
        }
        Ok(())
    }
}
