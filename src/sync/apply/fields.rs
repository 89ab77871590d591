//! Applying fields: summary, description and issue type onto an existing twin (last writer wins,
//! a local edit not handled yet is queued first), or a new twin created with its origin property.

use super::Twin;
use crate::entities::synced_issues;
use crate::jira::JiraError;
use crate::sync::message::SyncMessage;
use crate::sync::replica::{self, Field, Replica};
use crate::sync::snapshot::parse_replica;
use crate::sync::{project_of, Result, SyncError, SyncService, TWIN_PROPERTY};
use crate::tenants::Tenant;
use serde_json::{json, Value};
use std::sync::Arc;

impl SyncService {
    /// Writes the fields the message changed onto the twin of an existing pair, where the other
    /// side's value is the later one.
    pub(super) async fn update_twin(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        project: &str,
        msg: &SyncMessage,
        row: synced_issues::Model,
    ) -> Result<Twin> {
        let last = parse_replica(&row);
        // Comments are read only when they are part of the change: a person's comment here that
        // is not handled yet has its own webhook waiting for this apply.
        let with_comments = msg.changed.contains(&Field::Comments) || last.is_none();
        let before = match self.snapshot_with(t, &row.issue_id, with_comments).await {
            Err(SyncError::Jira(JiraError::NotFound(_)))
                if self.project_visible(t, project_of(&row.issue_key)).await? =>
            {
                // Deleted here (the project is still readable, so not a lost permission): the
                // sync of this pair ends on both sides.
                self.forget(t.id, uid, &row.issue_id, Some(&msg.sender_issue_id))
                    .await?;
                return Err(SyncError::TwinDeleted(row.issue_key.clone()));
            }
            other => other?,
        };
        // A person's edit here whose webhook has not been handled yet is recorded (and queued for
        // the other side) first, stamped with its time, so that last writer wins below compares
        // the right values and nothing of theirs is lost.
        let mut mine = before.replica.clone();
        if let (false, Some(l)) = (with_comments, &last) {
            mine.comments = l.comments.clone();
        }
        let local_changes = match &last {
            Some(l) => mine.changed_since(Some(l)),
            None => Vec::new(),
        };
        mine.stamp(last.as_ref(), &local_changes, before.updated_ms);
        let row = if local_changes.is_empty() {
            row
        } else {
            let project = project_of(&row.issue_key).to_owned();
            self.enqueue(t, row, mine.clone(), local_changes, &project)
                .await?
        };
        let mut fields = serde_json::Map::new();
        let mut recorded = mine.clone();
        for f in &msg.changed {
            if matches!(f, Field::Comments | Field::Attachments) {
                // Applied after the fields (mirrored, not overwritten).
                continue;
            }
            if !mine.incoming_wins(&msg.replica, *f) {
                // Edited here later: this side's value stays and goes to the other side.
                continue;
            }
            if let Some(stamp) = msg.replica.stamps.get(f) {
                recorded.stamps.insert(*f, *stamp);
            }
            match f {
                Field::Summary => {
                    fields.insert("summary".into(), json!(msg.replica.summary));
                }
                Field::Description => {
                    let here = before.issue["fields"].get("description");
                    let kept = replica::keep_local_media(
                        here.filter(|d| !d.is_null()),
                        msg.replica.description.as_ref(),
                    );
                    fields.insert("description".into(), kept.unwrap_or(Value::Null));
                }
                Field::IssueType => {
                    let id = self
                        .issue_type_for(t, project, &msg.replica.issue_type)
                        .await?;
                    fields.insert("issuetype".into(), json!({"id": id}));
                }
                Field::Comments | Field::Attachments => {}
            }
        }
        if !fields.is_empty() {
            self.write_fields(t, &row.issue_id, fields, &mut recorded)
                .await?;
        }
        Ok(Twin {
            id: row.issue_id.clone(),
            key: row.issue_key.clone(),
            created: false,
            fresh: false,
            recorded: Some((row, recorded)),
            before: Some(before),
            as_created: None,
        })
    }

    /// One PUT of the fields, then what Jira stored (it may normalise what we wrote) goes into
    /// `recorded`: the twin's webhook will then find nothing to send back.
    async fn write_fields(
        &self,
        t: &Arc<Tenant>,
        issue_id: &str,
        fields: serde_json::Map<String, Value>,
        recorded: &mut Replica,
    ) -> Result<()> {
        let client = self.jira.for_tenant(t.clone())?;
        let body = serde_json::to_vec(&json!({"fields": fields})).expect("json");
        client
            .send(
                reqwest::Method::PUT,
                &format!("/rest/api/3/issue/{issue_id}"),
                Some((body.into(), "application/json")),
            )
            .await?;
        let after: Value = client
            .get_json(&format!(
                "/rest/api/3/issue/{issue_id}?fields=summary,description,issuetype"
            ))
            .await?;
        // Only the fields written here: another field read now may hold a person's edit made
        // since the snapshot, which must stay unrecorded so that its webhook still sends it.
        if let Some(r) = Replica::from_issue(&after) {
            if fields.contains_key("summary") {
                recorded.summary = r.summary;
            }
            if fields.contains_key("description") {
                recorded.description = r.description;
            }
            if fields.contains_key("issuetype") {
                recorded.issue_type = r.issue_type;
            }
        }
        Ok(())
    }

    /// The twin of a message's issue that has none here yet. It carries its origin in an
    /// (indexed) issue property, set in the create call itself: if we crashed after Jira created
    /// it but before we recorded it, the retry finds it instead of creating a second one.
    pub(super) async fn find_or_create_twin(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        project: &str,
        msg: &SyncMessage,
    ) -> Result<Twin> {
        let client = self.jira.for_tenant(t.clone())?;
        let origin = format!("{uid}:{}", msg.sender_issue_id);
        let jql = format!(
            "project = \"{project}\" AND issue.property[{TWIN_PROPERTY}].origin = \"{origin}\""
        );
        let found: Value = client
            .post_json(
                "/rest/api/3/search/jql",
                &json!({"jql": jql, "fields": ["id"], "maxResults": 1}),
            )
            .await?;
        let twin = |id: &str, key: &str, fresh: bool| Twin {
            id: id.to_owned(),
            key: key.to_owned(),
            created: true,
            fresh,
            recorded: None,
            before: None,
            as_created: None,
        };
        if let Some(existing) = found["issues"][0]["id"].as_str() {
            let key = found["issues"][0]["key"].as_str().unwrap_or_default();
            return Ok(twin(existing, key, false));
        }
        let type_id = self
            .issue_type_for(t, project, &msg.replica.issue_type)
            .await?;
        let mut fields = json!({"project": {"key": project}, "summary": msg.replica.summary, "issuetype": {"id": type_id}});
        if let Some(d) = &msg.replica.description {
            fields["description"] = d.clone();
        }
        let body = json!({"fields": fields, "properties": [{"key": TWIN_PROPERTY, "value": {"origin": origin}}]});
        let created: Value = client.post_json("/rest/api/3/issue", &body).await?;
        Ok(twin(
            created["id"].as_str().unwrap_or_default(),
            created["key"].as_str().unwrap_or_default(),
            true,
        ))
    }

    /// A created twin as Jira stored it (read under its lease, before comments or files).
    pub(super) async fn read_created(&self, t: &Arc<Tenant>, id: &str) -> Result<Value> {
        let client = self.jira.for_tenant(t.clone())?;
        Ok(client
            .get_json(&format!(
                "/rest/api/3/issue/{id}?fields=summary,description,issuetype,attachment"
            ))
            .await?)
    }
}
