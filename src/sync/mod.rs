//! Basic-mode issue sync: summary, description and issue type, both ways, through a durable outbox
//! (written in one transaction with the replica it records), a worker that sends each twin's
//! messages in order over the signed peer protocol, and an inbox that applies every message once.
//! Comments and attachments, the reconciliation poll and the admin Sync Queue come next.

pub mod lease;
pub mod replica;

use crate::connections::peer::{self, PeerClient};
use crate::connections::PeerEnd;
use crate::entities::{connections, sync_inbox, sync_outbox, synced_issues};
use crate::jira::{JiraClient, JiraClients, JiraError};
use crate::tenants::crypto::SecretBox;
use crate::tenants::{Tenant, TenantStore};
use chrono::Utc;
use replica::{Field, Replica};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("There is no active connection with that id.")]
    NoConnection,
    #[error("Issue {0} does not exist or is not in a project of this connection.")]
    IssueNotInConnection(String),
    #[error("You need the Edit Issues permission on {0} to sync it. Ask a Jira administrator of this project.")]
    MayNotEdit(String),
    // Both say who failed themselves ("Jira …", "the other Exalate node …", or the other side's
    // own message), so they are shown as they are.
    #[error(transparent)]
    Jira(#[from] JiraError),
    #[error(transparent)]
    Peer(#[from] peer::PeerError),
    #[error("the message is invalid: {0}")]
    Invalid(String),
    #[error("{0}; nothing was changed")]
    InvalidRichText(String),
    #[error("the other side is still applying this change (a large attachment takes a while)")]
    InProgress,
    #[error("{0} was deleted on the other side: the issue is no longer synced (Exalate it again to create a new twin)")]
    TwinDeleted(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Lease(#[from] lease::LeaseError),
    #[error(transparent)]
    Crypto(#[from] crate::tenants::crypto::CryptoError),
    #[error(transparent)]
    Tenant(#[from] crate::tenants::TenantError),
}

type Result<T> = std::result::Result<T, SyncError>;

impl SyncError {
    /// Not failures: the other side is busy applying the message, or a Jira asked for a pause
    /// (429). The message is asked again shortly without using up an attempt.
    fn is_pause(&self) -> bool {
        match self {
            SyncError::Jira(JiraError::RateLimited(_)) => true,
            SyncError::Peer(peer::PeerError::Remote { code, .. }) => {
                code == "in_progress" || code == "jira_rate_limited"
            }
            _ => false,
        }
    }
}

/// One message of the sync protocol (`POST /peer/connections/{uid}/sync`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncMessage {
    pub seq: i64,
    pub sender_site_url: String,
    pub sender_issue_id: String,
    pub sender_issue_key: String,
    pub sender_project_key: String,
    pub replica: Replica,
    pub changed: Vec<Field>,
    /// The sender's issue was deleted: the pair stops syncing (the twin itself stays).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncAck {
    pub twin_id: String,
    pub twin_key: String,
    pub twin_url: String,
}

/// A Jira project key: a capital letter, then capitals, digits or `_`.
fn is_project_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A Jira issue key: a project key, a dash and a number.
fn is_issue_key(key: &str) -> bool {
    key.split_once('-')
        .is_some_and(|(project, number)| is_project_key(project) && is_jira_id(number))
}

/// A Jira id (of an issue, a comment, an attachment): a number.
fn is_jira_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.chars().all(|c| c.is_ascii_digit())
}

impl SyncMessage {
    /// Why the other side's message must not be applied, if it must not: what it says about
    /// its issue ends up in links and the issue panel, and its rich text in Jira.
    fn refusal(&self) -> Option<SyncError> {
        if !is_jira_id(&self.sender_issue_id)
            || !is_issue_key(&self.sender_issue_key)
            || !is_project_key(&self.sender_project_key)
        {
            return Some(SyncError::Invalid(
                "the sender's issue id, key or project is not one Jira makes".into(),
            ));
        }
        // Ids of comments and attachments go into requests to Jira and to the other node.
        let r = &self.replica;
        if !r.comments.iter().all(|c| is_jira_id(&c.id))
            || !r.attachments.iter().all(|a| is_jira_id(&a.id))
        {
            return Some(SyncError::Invalid(
                "a comment or attachment id is not one Jira makes".into(),
            ));
        }
        let why = self.replica.invalid_rich_text()?;
        Some(SyncError::InvalidRichText(format!(
            "{}: {why}",
            self.sender_issue_key
        )))
    }
}

impl SyncAck {
    /// Why the other side's answer must not be recorded, if it must not: its link is shown in the
    /// issue panel and in a Jira remote link, so it must be the twin's page on the connected site
    /// (`site`), never another address or a `javascript:` URL.
    fn refusal(&self, site: &str) -> Option<String> {
        let page = format!("{}/browse/{}", site.trim_end_matches('/'), self.twin_key);
        let ok = is_jira_id(&self.twin_id) && is_issue_key(&self.twin_key) && self.twin_url == page;
        (!ok).then(|| {
            format!(
                "the other side answered a twin that is not an issue of {site} ({:?}, {:?})",
                self.twin_key, self.twin_url
            )
        })
    }
}

#[derive(Clone)]
pub struct SyncService {
    pub db: DatabaseConnection,
    pub secrets: SecretBox,
    pub tenants: TenantStore,
    pub jira: JiraClients,
    pub peer: PeerClient,
    pub base_url: String,
    pub wake: Arc<Notify>,
    pub max_attachment_bytes: u64,
    pub retry_base_ms: u64,
    /// Twins whose messages are delivered at the same time.
    pub concurrency: usize,
    /// Per-issue locks between applying a message and reading that issue's webhook (one node).
    /// The per-issue lock, in the database (see lease.rs).
    pub leases: lease::IssueLeases,
    /// The app's own Jira account per tenant: webhooks for its own writes need no read.
    pub app_accounts: moka::future::Cache<i64, String>,
    /// Messages this process delivered (acknowledged by the other side) since it started.
    pub delivered: Arc<std::sync::atomic::AtomicU64>,
}

const MAX_VISIBLE_ATTEMPTS: i32 = 5;

/// How often a message being applied refreshes its inbox claim; a claim four times older than
/// this belongs to an applier that died and may be taken over.
const APPLY_HEARTBEAT_SECS: i64 = 5;

/// The issue glance's label.
#[derive(Clone, Copy)]
enum Glance {
    Synchronized,
    Error,
}

impl Glance {
    fn lozenge(self) -> (&'static str, &'static str) {
        match self {
            Glance::Synchronized => ("Synchronized", "success"),
            Glance::Error => ("Error", "removed"),
        }
    }
}

/// An issue as read from Jira for syncing.
struct Snapshot {
    issue: Value,
    comments: Vec<Value>,
    replica: Replica,
    /// Jira's `updated`, in ms since the epoch.
    updated_ms: i64,
}

/// Every comment of an issue, with its properties, oldest first. Jira Cloud answers at most 100
/// a page whatever is asked: reading one page would take the rest for deleted (and mirror that)
/// and miss the twin comments a crash left behind (and write them twice).
async fn all_comments(client: &JiraClient, issue_id: &str) -> Result<Vec<Value>> {
    let mut all: Vec<Value> = Vec::new();
    let mut first_total = None;
    let mut reads = 0;
    loop {
        let page: Value = client
            .get_json(&format!(
                "/rest/api/3/issue/{issue_id}/comment?startAt={}&maxResults=100&expand=properties",
                all.len()
            ))
            .await?;
        let got = page["comments"].as_array().cloned().unwrap_or_default();
        let total = page["total"].as_u64().unwrap_or(0) as usize;
        if *first_total.get_or_insert(total) != total {
            // A comment came or went between two pages and shifted them: read again (a
            // discussion that never holds still fails this try; the sync tries again later).
            reads += 1;
            if reads == 10 {
                return Err(SyncError::Invalid(format!(
                    "the comments of issue {issue_id} kept changing while they were read"
                )));
            }
            all.clear();
            first_total = None;
            continue;
        }
        let done = got.is_empty();
        all.extend(got);
        if done || all.len() >= total {
            return Ok(all);
        }
    }
}

/// The outbox row that carries `msg` for `row`'s twin, due now.
fn outbox_entry(
    tenant_id: i64,
    row: &synced_issues::Model,
    msg: &SyncMessage,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> sync_outbox::ActiveModel {
    sync_outbox::ActiveModel {
        tenant_id: Set(tenant_id),
        connection_uid: Set(row.connection_uid.clone()),
        issue_id: Set(row.issue_id.clone()),
        seq: Set(msg.seq),
        payload: Set(serde_json::to_string(msg).expect("serialisable")),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Marks an issue's unsent messages over one connection as done without sending them.
async fn drop_unsent(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    issue_id: &str,
    why: &str,
) -> Result<()> {
    sync_outbox::Entity::update_many()
        .col_expr(
            sync_outbox::Column::DoneAt,
            Expr::value(Utc::now().fixed_offset()),
        )
        .col_expr(sync_outbox::Column::LastError, Expr::value(why))
        .filter(sync_outbox::Column::TenantId.eq(tenant_id))
        .filter(sync_outbox::Column::ConnectionUid.eq(uid))
        .filter(sync_outbox::Column::IssueId.eq(issue_id))
        .filter(sync_outbox::Column::DoneAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

fn parse_replica(row: &synced_issues::Model) -> Option<Replica> {
    row.last_replica
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
}

/// Issue property on every twin this app creates, indexed through the descriptor's
/// `jiraEntityProperties` module so JQL can find it (`issue.property[exalate.twin].origin`).
pub const TWIN_PROPERTY: &str = "exalate.twin";

/// Takes sequence number `seq` of a synced issue for one message, in the transaction that writes
/// the message: only if it is still the next one (a compare-and-set in the database, so two
/// replicas can never hand out the same number; the outbox's unique index backs it up).
async fn take_seq(
    txn: &sea_orm::DatabaseTransaction,
    row: &synced_issues::Model,
    seq: i64,
) -> Result<()> {
    let taken = synced_issues::Entity::update_many()
        .col_expr(
            synced_issues::Column::NextSeq,
            sea_orm::sea_query::Expr::col(synced_issues::Column::NextSeq).add(1),
        )
        .filter(synced_issues::Column::Id.eq(row.id))
        .filter(synced_issues::Column::NextSeq.eq(seq))
        .exec(txn)
        .await?;
    if taken.rows_affected != 1 {
        return Err(SyncError::InProgress);
    }
    Ok(())
}

fn project_of(key: &str) -> &str {
    key.split_once('-').map(|(p, _)| p).unwrap_or("")
}

impl SyncService {
    /// What Jira has now of an issue: the issue, its comments (with properties, to find twins
    /// we wrote) and the replica built from them, with Jira's `updated` in ms.
    async fn snapshot(&self, t: &Arc<Tenant>, key_or_id: &str) -> Result<Snapshot> {
        self.snapshot_with(t, key_or_id, true).await
    }

    /// `snapshot`, reading the comments only when asked (their replica is then empty).
    async fn snapshot_with(
        &self,
        t: &Arc<Tenant>,
        key_or_id: &str,
        read_comments: bool,
    ) -> Result<Snapshot> {
        let client = self.jira.for_tenant(t.clone())?;
        let issue: Value = client
            .get_json(&format!(
                "/rest/api/3/issue/{key_or_id}?fields=summary,description,issuetype,project,attachment,updated"
            ))
            .await?;
        let mut replica = Replica::from_issue(&issue)
            .ok_or_else(|| SyncError::Invalid("Jira's issue has no summary or type".into()))?;
        let id = issue["id"].as_str().unwrap_or(key_or_id);
        let comments = match read_comments {
            true => all_comments(&client, id).await?,
            false => Vec::new(),
        };
        replica.comments = comments
            .iter()
            .filter_map(replica::ReplicaComment::from_comment)
            .collect();
        let updated_ms =
            replica::jira_time_ms(&issue).unwrap_or_else(|| Utc::now().timestamp_millis());
        Ok(Snapshot {
            issue,
            comments,
            replica,
            updated_ms,
        })
    }

    async fn end(&self, tenant_id: i64, uid: &str) -> Result<Option<connections::Model>> {
        Ok(connections::Entity::find()
            .filter(connections::Column::TenantId.eq(tenant_id))
            .filter(connections::Column::Uid.eq(uid))
            .one(&self.db)
            .await?)
    }

    async fn active_end(&self, t: &Tenant, uid: &str) -> Result<connections::Model> {
        connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .filter(connections::Column::Uid.eq(uid))
            .filter(connections::Column::Status.eq("active"))
            .one(&self.db)
            .await?
            .ok_or(SyncError::NoConnection)
    }

    /// The Exalate button: starts syncing an issue of one of the connection's projects.
    /// `on_behalf_of`: the person who pressed Exalate; the app reads issues with its own rights,
    /// so Jira is asked first whether that person may see and edit this one.
    pub async fn start(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        issue_key: &str,
        on_behalf_of: Option<&str>,
    ) -> Result<synced_issues::Model> {
        let conn = self.active_end(t, uid).await?;
        let key = issue_key.trim().to_ascii_uppercase();
        let project = project_of(&key);
        let in_connection = conn.local_project_key.as_deref() == Some(project)
            || (conn.is_local && conn.remote_project_key.as_deref() == Some(project));
        if !in_connection {
            return Err(SyncError::IssueNotInConnection(key));
        }
        let snap = match self.snapshot(t, &key).await {
            Ok(v) => v,
            Err(SyncError::Jira(JiraError::NotFound(_))) => {
                return Err(SyncError::IssueNotInConnection(key))
            }
            Err(e) => return Err(e),
        };
        let issue_id = snap.issue["id"].as_str().unwrap_or_default().to_owned();
        if let Some(account) = on_behalf_of {
            let client = self.jira.for_tenant(t.clone())?;
            let id: i64 = issue_id.parse().unwrap_or_default();
            let held = client
                .issue_permissions(account, id, &["BROWSE_PROJECTS", "EDIT_ISSUES"])
                .await?;
            // Someone who cannot see the issue learns nothing about it, not even that it exists.
            if !held.iter().any(|p| p == "BROWSE_PROJECTS") {
                return Err(SyncError::IssueNotInConnection(key));
            }
            if !held.iter().any(|p| p == "EDIT_ISSUES") {
                return Err(SyncError::MayNotEdit(key));
            }
        }
        // Recorded under the issue's lock, like every other change of it (on any replica).
        let _lease = self.leases.acquire(t.id, &issue_id).await?;
        let existing = self.row(t.id, uid, &issue_id).await?;
        let row = match existing {
            Some(r) => r,
            None => {
                let now = Utc::now().fixed_offset();
                synced_issues::ActiveModel {
                    tenant_id: Set(t.id),
                    connection_uid: Set(uid.to_owned()),
                    issue_id: Set(issue_id.clone()),
                    issue_key: Set(key.clone()),
                    status: Set("in_progress".into()),
                    next_seq: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&self.db)
                .await?
            }
        };
        // A first send carries every field; later the replica diff decides.
        let previous = parse_replica(&row);
        let mut replica = snap.replica;
        let changed = if row.twin_id.is_none() {
            replica.changed_since(None)
        } else {
            replica.changed_since(previous.as_ref())
        };
        replica.stamp(previous.as_ref(), &changed, snap.updated_ms);
        self.enqueue(t, row, replica, changed, project).await
    }

    async fn row(
        &self,
        tenant_id: i64,
        uid: &str,
        issue_id: &str,
    ) -> Result<Option<synced_issues::Model>> {
        Ok(synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(tenant_id))
            .filter(synced_issues::Column::ConnectionUid.eq(uid))
            .filter(synced_issues::Column::IssueId.eq(issue_id))
            .one(&self.db)
            .await?)
    }

    /// Records the replica and the message that carries it, in one transaction.
    async fn enqueue(
        &self,
        t: &Tenant,
        row: synced_issues::Model,
        replica: Replica,
        changed: Vec<Field>,
        project: &str,
    ) -> Result<synced_issues::Model> {
        if changed.is_empty() {
            return Ok(row);
        }
        let msg = SyncMessage {
            seq: row.next_seq,
            sender_site_url: t.base_url.clone(),
            sender_issue_id: row.issue_id.clone(),
            sender_issue_key: row.issue_key.clone(),
            sender_project_key: project.to_owned(),
            replica: replica.clone(),
            changed,
            deleted: false,
        };
        let now = Utc::now().fixed_offset();
        let txn = self.db.begin().await?;
        take_seq(&txn, &row, msg.seq).await?;
        outbox_entry(t.id, &row, &msg, now).insert(&txn).await?;
        let mut m: synced_issues::ActiveModel = row.into();
        m.last_replica = Set(Some(serde_json::to_string(&replica).expect("serialisable")));
        m.status = Set("in_progress".into());
        m.updated_at = Set(now);
        let saved = m.update(&txn).await?;
        txn.commit().await?;
        self.wake.notify_one();
        Ok(saved)
    }

    /// A webhook is a hint: for every synced twin of that issue, rebuild the replica and send what
    /// changed. Edits the app itself made produce the replica already recorded, so nothing echoes.
    pub async fn on_webhook(&self, t: &Arc<Tenant>, body: &Value) -> Result<()> {
        let event = body["webhookEvent"].as_str().unwrap_or("");
        if !matches!(
            event,
            "jira:issue_updated"
                | "jira:issue_created"
                | "jira:issue_deleted"
                | "comment_created"
                | "comment_updated"
                | "comment_deleted"
        ) {
            return Ok(());
        }
        let Some(issue_id) = body["issue"]["id"].as_str() else {
            return Ok(());
        };
        if event == "jira:issue_deleted" {
            return self.issue_deleted(t, issue_id).await;
        }
        // Our own write (the apply recorded its result already): nothing to read or send.
        if body["user"]["accountType"] == "app" {
            if let (Some(actor), Some(me)) = (
                body["user"]["accountId"].as_str(),
                self.app_account(t).await,
            ) {
                if actor == me {
                    return Ok(());
                }
            }
        }
        // An edit of fields does not touch comments: each comment change has its own event,
        // which reads them.
        let read_comments = event != "jira:issue_updated"
            || body["issue_event_type_name"]
                .as_str()
                .is_some_and(|n| n.contains("comment"));
        self.issue_changed_with(t, issue_id, read_comments).await
    }

    /// An issue was deleted in Jira. Its changes not sent yet are dropped (they could not be
    /// served any more) and each twin's side is told, through the outbox, that the pair stops
    /// syncing; a pair whose first message never got through just ends here.
    async fn issue_deleted(&self, t: &Arc<Tenant>, issue_id: &str) -> Result<()> {
        let _lease = self.leases.acquire(t.id, issue_id).await?;
        let rows = synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .filter(synced_issues::Column::IssueId.eq(issue_id))
            .all(&self.db)
            .await?;
        for row in rows {
            let Some(twin_id) = row.twin_id.clone() else {
                self.forget(t.id, &row.connection_uid, issue_id, None)
                    .await?;
                continue;
            };
            let now = Utc::now().fixed_offset();
            let msg = SyncMessage {
                seq: row.next_seq,
                sender_site_url: t.base_url.clone(),
                sender_issue_id: row.issue_id.clone(),
                sender_issue_key: row.issue_key.clone(),
                sender_project_key: project_of(&row.issue_key).to_owned(),
                replica: parse_replica(&row).unwrap_or_default(),
                changed: Vec::new(),
                deleted: true,
            };
            let txn = self.db.begin().await?;
            drop_unsent(
                &txn,
                t.id,
                &row.connection_uid,
                issue_id,
                "not sent: the issue was deleted",
            )
            .await?;
            take_seq(&txn, &row, msg.seq).await?;
            outbox_entry(t.id, &row, &msg, now).insert(&txn).await?;
            let mut m: synced_issues::ActiveModel = row.into();
            m.updated_at = Set(now);
            m.update(&txn).await?;
            txn.commit().await?;
            tracing::info!(issue = %msg.sender_issue_key, twin = %twin_id, "issue deleted: telling its twin's side");
        }
        self.wake.notify_one();
        Ok(())
    }

    /// The app's own account on a tenant's site (`/myself` as the app), cached.
    async fn app_account(&self, t: &Arc<Tenant>) -> Option<String> {
        let client = self.jira.for_tenant(t.clone()).ok()?;
        self.app_accounts
            .try_get_with(t.id, async move {
                let me: Value = client.get_json("/rest/api/3/myself").await?;
                me["accountId"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or(SyncError::Invalid("no accountId in /myself".into()))
            })
            .await
            .ok()
    }

    /// For every synced twin of `issue_id`, rebuilds the replica and sends what changed (from a
    /// webhook or the reconciliation poll; running twice sends nothing the second time).
    pub async fn issue_changed(&self, t: &Arc<Tenant>, issue_id: &str) -> Result<()> {
        self.issue_changed_with(t, issue_id, true).await
    }

    /// `issue_changed`; without `read_comments` the comments are taken as last recorded.
    async fn issue_changed_with(
        &self,
        t: &Arc<Tenant>,
        issue_id: &str,
        read_comments: bool,
    ) -> Result<()> {
        // Wait for an apply to this issue in progress: its recorded replica decides what changed.
        let _lease = self.leases.acquire(t.id, issue_id).await?;
        let rows = synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .filter(synced_issues::Column::IssueId.eq(issue_id))
            .all(&self.db)
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        // A row with nothing recorded yet must carry everything.
        let read_comments = read_comments || rows.iter().any(|r| parse_replica(r).is_none());
        let snap = self.snapshot_with(t, issue_id, read_comments).await?;
        let key = snap.issue["key"].as_str().unwrap_or_default().to_owned();
        for row in rows {
            // A deactivated connection still records changes; they wait in the outbox and go
            // out on re-activation. Only a deleted connection stops recording.
            if self.end(t.id, &row.connection_uid).await?.is_none() {
                continue;
            }
            let previous = parse_replica(&row);
            let mut replica = snap.replica.clone();
            if let (Some(p), false) = (&previous, read_comments) {
                replica.comments = p.comments.clone();
            }
            let changed = replica.changed_since(previous.as_ref());
            replica.stamp(previous.as_ref(), &changed, snap.updated_ms);
            self.enqueue(t, row, replica, changed, project_of(&key))
                .await?;
        }
        Ok(())
    }

    /// Webhooks can be lost: every `interval`, ask Jira (JQL) which issues of the synced projects
    /// changed recently and treat each synced one as if its webhook had arrived.
    pub async fn run_reconciler(self, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.reconcile_once(interval).await {
                tracing::warn!(error = %e, "reconciliation poll failed");
            }
        }
    }

    pub async fn reconcile_once(&self, interval: Duration) -> Result<usize> {
        let rows = synced_issues::Entity::find().all(&self.db).await?;
        let mut by_tenant: std::collections::BTreeMap<i64, std::collections::BTreeSet<String>> =
            Default::default();
        for r in &rows {
            by_tenant
                .entry(r.tenant_id)
                .or_default()
                .insert(project_of(&r.issue_key).to_owned());
        }
        // JQL dates have minute precision: look back at least two minutes.
        let minutes = (interval.as_secs() / 60 + 2).max(2);
        let mut touched = 0;
        for (tenant_id, projects) in by_tenant {
            let Some(t) = self.tenant(tenant_id).await? else {
                continue;
            };
            let client = self.jira.for_tenant(t.clone())?;
            let list = projects
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let jql =
                format!("project in ({list}) AND updated >= -{minutes}m ORDER BY updated ASC");
            let mut token: Option<String> = None;
            loop {
                let mut body = json!({"jql": jql, "maxResults": 500, "fields": ["id"]});
                if let Some(tk) = &token {
                    body["nextPageToken"] = json!(tk);
                }
                let page: Value = client.post_json("/rest/api/3/search/jql", &body).await?;
                for issue in page["issues"].as_array().into_iter().flatten() {
                    if let Some(id) = issue["id"].as_str() {
                        if rows
                            .iter()
                            .any(|r| r.tenant_id == tenant_id && r.issue_id == id)
                        {
                            self.issue_changed(&t, id).await?;
                            touched += 1;
                        }
                    }
                }
                match page["nextPageToken"].as_str() {
                    Some(tk) => token = Some(tk.to_owned()),
                    None => break,
                }
            }
        }
        Ok(touched)
    }

    /// Deletion webhooks can be lost too: every `interval`, ask each site (bulk fetch, 100
    /// issues a call) whether its synced issues still exist, and end the pair of any that is
    /// gone while its project is still readable, as the deletion webhook would have.
    pub async fn run_deletion_sweep(self, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.sweep_deleted_once().await {
                tracing::warn!(error = %e, "deletion sweep failed");
            }
        }
    }

    pub async fn sweep_deleted_once(&self) -> Result<usize> {
        let rows = synced_issues::Entity::find()
            .filter(synced_issues::Column::TwinId.is_not_null())
            .all(&self.db)
            .await?;
        let mut by_tenant: std::collections::BTreeMap<i64, Vec<&synced_issues::Model>> =
            Default::default();
        for r in &rows {
            by_tenant.entry(r.tenant_id).or_default().push(r);
        }
        let mut ended = 0;
        for (tenant_id, rows) in by_tenant {
            let Some(t) = self.tenant(tenant_id).await? else {
                continue;
            };
            let client = self.jira.for_tenant(t.clone())?;
            let mut ids: Vec<&str> = rows.iter().map(|r| r.issue_id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut gone = Vec::new();
            for chunk in ids.chunks(100) {
                let page: Value = client
                    .post_json(
                        "/rest/api/3/issue/bulkfetch",
                        &json!({"issueIdsOrKeys": chunk, "fields": ["project"]}),
                    )
                    .await?;
                let found: std::collections::HashSet<&str> = page["issues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i["id"].as_str())
                    .collect();
                gone.extend(chunk.iter().filter(|id| !found.contains(**id)).copied());
            }
            let mut readable: std::collections::HashMap<&str, bool> = Default::default();
            for id in gone {
                let Some(row) = rows.iter().find(|r| r.issue_id == id) else {
                    continue;
                };
                let project = project_of(&row.issue_key);
                let visible = match readable.get(project) {
                    Some(v) => *v,
                    None => {
                        let v = self.project_visible(&t, project).await?;
                        readable.insert(project, v);
                        v
                    }
                };
                if visible {
                    self.issue_deleted(&t, id).await?;
                    ended += 1;
                }
            }
        }
        Ok(ended)
    }

    // ------------------------------------------------------------------ worker

    /// Sends due outbox messages until `stop` fires; wakes on new messages or every `poll`.
    pub async fn run_worker(self, poll: Duration) {
        loop {
            match self.drain_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = self.wake.notified() => {},
                        _ = tokio::time::sleep(poll) => {},
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "sync worker pass failed");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    /// One pass: for each twin with due messages, the oldest one, claimed with a lease so two
    /// replicas never send the same message at once. Returns how many were handled.
    pub async fn drain_once(&self) -> Result<usize> {
        let now = Utc::now().fixed_offset();
        let lease = now + chrono::Duration::seconds(60);
        let claimed_msgs = if self.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            self.claim_skip_locked(now, lease).await?
        } else {
            self.claim_optimistic(now, lease).await?
        };
        let handled = claimed_msgs.len();
        // Different twins go out in parallel (each twin's messages stay in order: only its
        // oldest one was claimed above).
        use futures_util::stream::{self, StreamExt};
        let results: Vec<Result<()>> = stream::iter(claimed_msgs)
            .map(|m| async move {
                match self.deliver(&m).await {
                    Ok(ack) => self.delivered(&m, ack).await,
                    Err(SyncError::Peer(peer::PeerError::Remote { code, .. }))
                        if code == "twin_deleted" =>
                    {
                        self.twin_deleted(&m).await
                    }
                    Err(e) if e.is_pause() => self.ask_again(&m, &e).await,
                    Err(e) => self.failed(&m, &e).await,
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
        Ok(handled)
    }

    /// PostgreSQL, any number of replicas: one statement claims the oldest pending message of
    /// each twin of an active connection; rows another replica is claiming are skipped, not
    /// waited for.
    async fn claim_skip_locked(
        &self,
        now: chrono::DateTime<chrono::FixedOffset>,
        lease: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<sync_outbox::Model>> {
        use sea_orm::{FromQueryResult, Statement};
        let sql = r#"
            UPDATE sync_outbox SET next_attempt_at = $1
            WHERE id IN (
                SELECT o.id FROM sync_outbox o
                WHERE o.done_at IS NULL AND o.next_attempt_at <= $2
                  AND NOT EXISTS (
                      SELECT 1 FROM sync_outbox p
                      WHERE p.done_at IS NULL AND p.tenant_id = o.tenant_id
                        AND p.connection_uid = o.connection_uid AND p.issue_id = o.issue_id
                        AND p.id < o.id)
                  AND EXISTS (
                      SELECT 1 FROM connections c
                      WHERE c.tenant_id = o.tenant_id AND c.uid = o.connection_uid
                        AND c.status = 'active')
                ORDER BY o.id
                LIMIT $3
                FOR UPDATE OF o SKIP LOCKED)
            RETURNING *"#;
        let stmt = Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            sql,
            [lease.into(), now.into(), 200i64.into()],
        );
        let rows = self.db.query_all(stmt).await?;
        let mut out = rows
            .iter()
            .map(|r| sync_outbox::Model::from_query_result(r, ""))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    /// SQLite, one node: read the pending messages, then claim each twin's oldest one with a
    /// conditional UPDATE (it only succeeds if nobody changed the row since it was read).
    async fn claim_optimistic(
        &self,
        now: chrono::DateTime<chrono::FixedOffset>,
        lease: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<sync_outbox::Model>> {
        let due = sync_outbox::Entity::find()
            .filter(sync_outbox::Column::DoneAt.is_null())
            .order_by_asc(sync_outbox::Column::Id)
            .limit(200)
            .all(&self.db)
            .await?;
        let mut seen = std::collections::HashSet::new();
        let mut claimed_msgs = Vec::new();
        let mut active_cache = std::collections::HashMap::new();
        for m in due {
            // Messages of a connection that is not active wait (deactivated: sent on re-activation).
            let key = (m.tenant_id, m.connection_uid.clone());
            let active = match active_cache.get(&key) {
                Some(a) => *a,
                None => {
                    let a = self
                        .end(m.tenant_id, &m.connection_uid)
                        .await?
                        .is_some_and(|c| c.status == "active");
                    active_cache.insert(key, a);
                    a
                }
            };
            if !active {
                continue;
            }
            // Only the oldest pending message of a twin may go: order per twin.
            if !seen.insert((m.tenant_id, m.connection_uid.clone(), m.issue_id.clone()))
                || m.next_attempt_at > now
            {
                continue;
            }
            let claimed = sync_outbox::Entity::update_many()
                .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(lease))
                .filter(sync_outbox::Column::Id.eq(m.id))
                .filter(sync_outbox::Column::NextAttemptAt.eq(m.next_attempt_at))
                .filter(sync_outbox::Column::DoneAt.is_null())
                .exec(&self.db)
                .await?;
            if claimed.rows_affected == 1 {
                claimed_msgs.push(m);
            }
        }
        Ok(claimed_msgs)
    }

    async fn deliver(&self, m: &sync_outbox::Model) -> Result<SyncAck> {
        let t = self
            .tenant(m.tenant_id)
            .await?
            .ok_or(SyncError::NoConnection)?;
        let (node, secret, site) = self.other_node(&t, &m.connection_uid).await?;
        let path = format!("/peer/connections/{}/sync", m.connection_uid);
        let ack: SyncAck = self
            .peer
            .signed_post(
                &node,
                &path,
                &m.connection_uid,
                &secret,
                m.payload.as_bytes(),
            )
            .await?;
        match ack.refusal(&site) {
            Some(why) => Err(SyncError::Invalid(why)),
            None => Ok(ack),
        }
    }

    async fn delivered(&self, m: &sync_outbox::Model, ack: SyncAck) -> Result<()> {
        let row = self
            .row(m.tenant_id, &m.connection_uid, &m.issue_id)
            .await?;
        let t = self.tenant(m.tenant_id).await?;
        if let (Some(row), Some(t)) = (&row, &t) {
            if row.twin_id.is_none() {
                // The first answer: this issue gets its link to the twin. If Jira fails that,
                // the message goes again (the other side answers from its inbox, changing
                // nothing) until the link is made; the twin is recorded only then.
                let linked = self
                    .link(
                        t,
                        &row.issue_key,
                        &ack.twin_key,
                        &ack.twin_url,
                        &m.connection_uid,
                    )
                    .await;
                if let Err(e) = linked {
                    return match e.is_pause() {
                        true => self.ask_again(m, &e).await,
                        false => self.failed(m, &e).await,
                    };
                }
            }
        }
        self.delivered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = Utc::now().fixed_offset();
        sync_outbox::Entity::update_many()
            .col_expr(sync_outbox::Column::DoneAt, Expr::value(now))
            .col_expr(
                sync_outbox::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .filter(sync_outbox::Column::Id.eq(m.id))
            .exec(&self.db)
            .await?;
        if let Some(row) = row {
            let mut glance = row.glance.clone();
            if let Some(t) = t {
                if let Some(label) = self
                    .put_glance(&t, &row.issue_key, glance.as_deref(), Glance::Synchronized)
                    .await
                {
                    glance = Some(label.to_owned());
                }
            }
            let mut a: synced_issues::ActiveModel = row.into();
            a.twin_id = Set(Some(ack.twin_id.clone()));
            a.twin_key = Set(Some(ack.twin_key.clone()));
            a.twin_url = Set(Some(ack.twin_url.clone()));
            a.status = Set("synchronized".into());
            a.error = Set(None);
            a.glance = Set(glance);
            a.last_sync_at = Set(Some(now));
            a.updated_at = Set(now);
            a.update(&self.db).await?;
            connections::Entity::update_many()
                .col_expr(connections::Column::LastActivityAt, Expr::value(now))
                .filter(connections::Column::TenantId.eq(m.tenant_id))
                .filter(connections::Column::Uid.eq(m.connection_uid.clone()))
                .exec(&self.db)
                .await?;
            self.count_twins(m.tenant_id, &m.connection_uid).await?;
        }
        Ok(())
    }

    /// The other side's twin was deleted: this issue stops being synced (it shows Not synced,
    /// with Exalate to start again), its unsent messages are dropped, nothing is an error.
    async fn twin_deleted(&self, m: &sync_outbox::Model) -> Result<()> {
        let row = self
            .row(m.tenant_id, &m.connection_uid, &m.issue_id)
            .await?;
        tracing::info!(uid = %m.connection_uid, issue = %m.issue_id, "twin deleted on the other side: issue no longer synced");
        self.forget(
            m.tenant_id,
            &m.connection_uid,
            &m.issue_id,
            row.as_ref().and_then(|r| r.twin_id.as_deref()),
        )
        .await?;
        if let (Some(t), Some(row)) = (self.tenant(m.tenant_id).await?, row) {
            self.clear_glance(&t, &row.issue_id).await;
        }
        Ok(())
    }

    /// Removes the glance's status property: the panel is back to Not synced. Best effort (the
    /// issue may be gone too).
    async fn clear_glance(&self, t: &Arc<Tenant>, issue_id: &str) {
        let Ok(client) = self.jira.for_tenant(t.clone()) else {
            return;
        };
        let app = self.jira.app_key();
        let path = format!("/rest/api/3/issue/{issue_id}/properties/com.atlassian.jira.issue:{app}:exalate-sync-status:status");
        if let Err(e) = client.delete(&path).await {
            tracing::warn!(issue = issue_id, error = %e, "glance status not cleared");
        }
    }

    /// Stops syncing one issue over one connection and leaves the issue as it is: its row, its
    /// comment and attachment links and its unsent messages go, and so do the messages received
    /// from its twin (a later Exalate starts afresh at sequence 1).
    async fn forget(
        &self,
        tenant_id: i64,
        uid: &str,
        issue_id: &str,
        twin_id: Option<&str>,
    ) -> Result<()> {
        use crate::entities::{attachment_links as al, comment_links as cl};
        let txn = self.db.begin().await?;
        synced_issues::Entity::delete_many()
            .filter(synced_issues::Column::TenantId.eq(tenant_id))
            .filter(synced_issues::Column::ConnectionUid.eq(uid))
            .filter(synced_issues::Column::IssueId.eq(issue_id))
            .exec(&txn)
            .await?;
        cl::Entity::delete_many()
            .filter(cl::Column::TenantId.eq(tenant_id))
            .filter(cl::Column::ConnectionUid.eq(uid))
            .filter(cl::Column::IssueId.eq(issue_id))
            .exec(&txn)
            .await?;
        al::Entity::delete_many()
            .filter(al::Column::TenantId.eq(tenant_id))
            .filter(al::Column::ConnectionUid.eq(uid))
            .filter(al::Column::IssueId.eq(issue_id))
            .exec(&txn)
            .await?;
        // The pair has ended: its messages, sent or not, are history, and a new pair of this
        // issue numbers its messages from 1 again (the outbox allows each number once).
        sync_outbox::Entity::delete_many()
            .filter(sync_outbox::Column::TenantId.eq(tenant_id))
            .filter(sync_outbox::Column::ConnectionUid.eq(uid))
            .filter(sync_outbox::Column::IssueId.eq(issue_id))
            .exec(&txn)
            .await?;
        if let Some(twin) = twin_id {
            sync_inbox::Entity::delete_many()
                .filter(sync_inbox::Column::TenantId.eq(tenant_id))
                .filter(sync_inbox::Column::ConnectionUid.eq(uid))
                .filter(sync_inbox::Column::SenderIssueId.eq(twin))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        self.count_twins(tenant_id, uid).await
    }

    /// The other side is still applying this message (a large attachment) or Jira is rate
    /// limiting: not a failure (never shown as an error), ask again shortly.
    async fn ask_again(&self, m: &sync_outbox::Model, why: &SyncError) -> Result<()> {
        let next = Utc::now().fixed_offset() + chrono::Duration::seconds(2);
        sync_outbox::Entity::update_many()
            .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(next))
            .col_expr(sync_outbox::Column::LastError, Expr::value(why.to_string()))
            .filter(sync_outbox::Column::Id.eq(m.id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn failed(&self, m: &sync_outbox::Model, e: &SyncError) -> Result<()> {
        let attempts = m.attempts + 1;
        let backoff = Duration::from_millis(
            self.retry_base_ms
                .saturating_mul(1u64 << attempts.min(16) as u64)
                .min(60_000),
        );
        let next =
            Utc::now().fixed_offset() + chrono::Duration::from_std(backoff).unwrap_or_default();
        tracing::warn!(uid = %m.connection_uid, issue = %m.issue_id, attempts, error = %e, "sync message not delivered");
        sync_outbox::Entity::update_many()
            .col_expr(sync_outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(next))
            .col_expr(sync_outbox::Column::LastError, Expr::value(e.to_string()))
            .filter(sync_outbox::Column::Id.eq(m.id))
            .exec(&self.db)
            .await?;
        if attempts >= MAX_VISIBLE_ATTEMPTS {
            synced_issues::Entity::update_many()
                .col_expr(synced_issues::Column::Status, Expr::value("error"))
                .col_expr(synced_issues::Column::Error, Expr::value(e.to_string()))
                .filter(synced_issues::Column::TenantId.eq(m.tenant_id))
                .filter(synced_issues::Column::ConnectionUid.eq(m.connection_uid.clone()))
                .filter(synced_issues::Column::IssueId.eq(m.issue_id.clone()))
                .exec(&self.db)
                .await?;
            if let (Some(t), Some(row)) = (
                self.tenant(m.tenant_id).await?,
                self.row(m.tenant_id, &m.connection_uid, &m.issue_id)
                    .await?,
            ) {
                self.set_glance(
                    &t,
                    &m.connection_uid,
                    &row.issue_id,
                    &row.issue_key,
                    row.glance.as_deref(),
                    Glance::Error,
                )
                .await;
            }
        }
        Ok(())
    }

    async fn count_twins(&self, tenant_id: i64, uid: &str) -> Result<()> {
        use sea_orm::PaginatorTrait;
        let n = synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(tenant_id))
            .filter(synced_issues::Column::ConnectionUid.eq(uid))
            .filter(synced_issues::Column::TwinId.is_not_null())
            .count(&self.db)
            .await?;
        connections::Entity::update_many()
            .col_expr(connections::Column::IssuesInSync, Expr::value(n as i64))
            .filter(connections::Column::TenantId.eq(tenant_id))
            .filter(connections::Column::Uid.eq(uid))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn tenant(&self, id: i64) -> Result<Option<Arc<Tenant>>> {
        let row = crate::entities::tenants::Entity::find_by_id(id)
            .one(&self.db)
            .await?;
        match row {
            Some(r) => Ok(self.tenants.get(&r.client_key).await?),
            None => Ok(None),
        }
    }

    /// A remote link on `issue_key` pointing at its twin (idempotent through its globalId).
    async fn link(
        &self,
        t: &Arc<Tenant>,
        issue_key: &str,
        twin_key: &str,
        twin_url: &str,
        uid: &str,
    ) -> Result<()> {
        let client = self.jira.for_tenant(t.clone())?;
        // "TEST-3 on alpha": Jira shows the title after the relationship, so the link says which
        // site the twin is on.
        let conn = connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .filter(connections::Column::Uid.eq(uid))
            .one(&self.db)
            .await?;
        let site = conn
            .as_ref()
            .and_then(|c| {
                c.remote_site_name.clone().or_else(|| {
                    let url = if c.is_local {
                        Some(&t.base_url)
                    } else {
                        c.remote_site_url.as_ref()
                    };
                    url.map(|u| crate::connections::site_name(u))
                })
            })
            .unwrap_or_else(|| crate::connections::site_name(twin_url));
        let title = format!("{twin_key} on {site}");
        let body = json!({
            "globalId": format!("exalate:{uid}:{twin_key}"),
            "application": {"type": "com.exalate", "name": "Exalate"},
            "relationship": "synced with",
            "object": {"url": twin_url, "title": title, "summary": format!("Synced by Exalate with {twin_key} on {site}")}
        });
        client
            .post_json::<_, Value>(&format!("/rest/api/3/issue/{issue_key}/remotelink"), &body)
            .await?;
        Ok(())
    }

    /// The issue glance's status lozenge, through the issue property Jira reads it from; only
    /// written when it differs from what this row last wrote.
    async fn set_glance(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        issue_id: &str,
        issue_key: &str,
        current: Option<&str>,
        to: Glance,
    ) {
        let Some(label) = self.put_glance(t, issue_key, current, to).await else {
            return;
        };
        if current == Some(label) {
            return;
        }
        let _ = synced_issues::Entity::update_many()
            .col_expr(synced_issues::Column::Glance, Expr::value(label))
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .filter(synced_issues::Column::ConnectionUid.eq(uid))
            .filter(synced_issues::Column::IssueId.eq(issue_id))
            .exec(&self.db)
            .await;
    }

    /// Writes the glance label to Jira unless `current` already says it; returns the label the
    /// row should record (`current` when the write failed), for the caller's own row update.
    async fn put_glance(
        &self,
        t: &Arc<Tenant>,
        issue_key: &str,
        current: Option<&str>,
        to: Glance,
    ) -> Option<&'static str> {
        let (label, kind) = to.lozenge();
        if current == Some(label) {
            return Some(label);
        }
        let client = self.jira.for_tenant(t.clone()).ok()?;
        let app = self.jira.app_key();
        let body = serde_json::to_vec(
            &json!({"type": "lozenge", "value": {"label": label, "type": kind}}),
        )
        .expect("json");
        let path = format!("/rest/api/3/issue/{issue_key}/properties/com.atlassian.jira.issue:{app}:exalate-sync-status:status");
        match client
            .send(
                reqwest::Method::PUT,
                &path,
                Some((body.into(), "application/json")),
            )
            .await
        {
            Ok(_) => Some(label),
            Err(e) => {
                tracing::warn!(issue = issue_key, error = %e, "glance status not set");
                None
            }
        }
    }

    // ------------------------------------------------------------------ receiving side

    /// Applies one message (once: the inbox remembers its answer) and answers with the twin.
    /// `signed_by`: the ends of `uid` whose secret verified the message; no other end is used.
    pub async fn receive(
        &self,
        uid: &str,
        signed_by: &[PeerEnd],
        msg: SyncMessage,
        raw: &str,
    ) -> Result<SyncAck> {
        // Refused before anything is recorded (Jira would refuse bad rich text on every retry).
        if let Some(refused) = msg.refusal() {
            return Err(refused);
        }
        let ends = connections::Entity::find()
            .filter(connections::Column::Uid.eq(uid))
            .filter(connections::Column::Id.is_in(signed_by.iter().map(|e| e.id)))
            .filter(connections::Column::Status.eq("active"))
            .all(&self.db)
            .await?;
        let end = ends
            .into_iter()
            .find(|c| {
                c.is_local
                    || c.remote_site_url
                        .as_deref()
                        .map(|u| u.trim_end_matches('/'))
                        == Some(msg.sender_site_url.trim_end_matches('/'))
            })
            .ok_or(SyncError::NoConnection)?;
        let t = self
            .tenant(end.tenant_id)
            .await?
            .ok_or(SyncError::NoConnection)?;
        let target_project = if end.is_local
            && end.local_project_key.as_deref() == Some(msg.sender_project_key.as_str())
        {
            end.remote_project_key.clone()
        } else {
            end.local_project_key.clone()
        }
        .ok_or(SyncError::NoConnection)?;

        // Idempotent: a message seen before gets the same answer, without touching Jira.
        let now = Utc::now().fixed_offset();
        let inserted = sync_inbox::Entity::insert(sync_inbox::ActiveModel {
            tenant_id: Set(t.id),
            connection_uid: Set(uid.to_owned()),
            sender_issue_id: Set(msg.sender_issue_id.clone()),
            seq: Set(msg.seq),
            payload: Set(raw.to_owned()),
            received_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                sync_inbox::Column::TenantId,
                sync_inbox::Column::ConnectionUid,
                sync_inbox::Column::SenderIssueId,
                sync_inbox::Column::Seq,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let inbox = sync_inbox::Entity::find()
            .filter(sync_inbox::Column::TenantId.eq(t.id))
            .filter(sync_inbox::Column::ConnectionUid.eq(uid))
            .filter(sync_inbox::Column::SenderIssueId.eq(msg.sender_issue_id.clone()))
            .filter(sync_inbox::Column::Seq.eq(msg.seq))
            .one(&self.db)
            .await?
            .ok_or_else(|| SyncError::Invalid("inbox row vanished".into()))?;
        if inserted == 0 {
            if let Some(ack) = inbox
                .ack
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
            {
                return Ok(ack);
            }
            // Seen but not applied: either being applied right now (its heartbeat is fresh: the
            // sender is told to come back later) or its applier died (stale: taken over).
            let stale = now - chrono::Duration::seconds(APPLY_HEARTBEAT_SECS * 4);
            let taken = sync_inbox::Entity::update_many()
                .col_expr(sync_inbox::Column::ReceivedAt, Expr::value(now))
                .filter(sync_inbox::Column::Id.eq(inbox.id))
                .filter(sync_inbox::Column::AppliedAt.is_null())
                .filter(sync_inbox::Column::ReceivedAt.lt(stale))
                .exec(&self.db)
                .await?;
            if taken.rows_affected == 0 {
                return Err(SyncError::InProgress);
            }
        }
        // Applied in its own task: a sender that gives up waiting (a large attachment) must not
        // cancel it half-way. A heartbeat keeps the claim fresh while it runs.
        let me = self.clone();
        let (uid_owned, project, inbox_id, msg) = (uid.to_owned(), target_project, inbox.id, msg);
        let work = tokio::spawn(async move {
            let beat = {
                let db = me.db.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(APPLY_HEARTBEAT_SECS as u64)).await;
                        let _ = sync_inbox::Entity::update_many()
                            .col_expr(
                                sync_inbox::Column::ReceivedAt,
                                Expr::value(Utc::now().fixed_offset()),
                            )
                            .filter(sync_inbox::Column::Id.eq(inbox_id))
                            .exec(&db)
                            .await;
                    }
                })
            };
            let result = me.apply(&t, &uid_owned, &project, &msg).await;
            beat.abort();
            if result.is_err() {
                // Release the claim: the sender's retry applies it again straight away.
                let released = Utc::now().fixed_offset()
                    - chrono::Duration::seconds(APPLY_HEARTBEAT_SECS * 4 + 1);
                let _ = sync_inbox::Entity::update_many()
                    .col_expr(sync_inbox::Column::ReceivedAt, Expr::value(released))
                    .filter(sync_inbox::Column::Id.eq(inbox_id))
                    .exec(&me.db)
                    .await;
            }
            let ack = result?;
            sync_inbox::Entity::update_many()
                .col_expr(
                    sync_inbox::Column::Ack,
                    Expr::value(serde_json::to_string(&ack).expect("json")),
                )
                .col_expr(
                    sync_inbox::Column::AppliedAt,
                    Expr::value(Utc::now().fixed_offset()),
                )
                .filter(sync_inbox::Column::Id.eq(inbox_id))
                .exec(&me.db)
                .await?;
            Ok(ack)
        });
        match work.await {
            Ok(r) => r,
            Err(e) => Err(SyncError::Invalid(format!(
                "applying the change failed: {e}"
            ))),
        }
    }

    async fn apply(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        project: &str,
        msg: &SyncMessage,
    ) -> Result<SyncAck> {
        let client = self.jira.for_tenant(t.clone())?;
        let lookup = synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .filter(synced_issues::Column::ConnectionUid.eq(uid))
            .filter(synced_issues::Column::TwinId.eq(msg.sender_issue_id.clone()))
            .one(&self.db)
            .await?;
        // While our own writes to the twin are applied and recorded, its webhooks wait (see
        // issue_changed): otherwise they would see our write as a user's change and echo it.
        let _lease = match &lookup {
            Some(r) => Some(self.leases.acquire(t.id, &r.issue_id).await?),
            None => None,
        };
        let twin = synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .filter(synced_issues::Column::ConnectionUid.eq(uid))
            .filter(synced_issues::Column::TwinId.eq(msg.sender_issue_id.clone()))
            .one(&self.db)
            .await?;
        if msg.deleted {
            // The other side's issue is gone: this pair ends here too, the twin stays as it is.
            if let Some(row) = &twin {
                self.forget(t.id, uid, &row.issue_id, Some(&msg.sender_issue_id))
                    .await?;
                self.clear_glance(t, &row.issue_id).await;
            }
            return Err(SyncError::TwinDeleted(msg.sender_issue_key.clone()));
        }
        let sender_url = format!(
            "{}/browse/{}",
            msg.sender_site_url.trim_end_matches('/'),
            msg.sender_issue_key
        );
        // Created by this very call (not found again after a crash): nothing of anyone's is on
        // it yet.
        let mut fresh = false;
        let (id, key, created, recorded, before) = match twin.clone() {
            Some(row) => {
                let last = parse_replica(&row);
                // Comments are read only when they are part of the change: a person's comment
                // here that is not handled yet has its own webhook waiting for this apply.
                let with_comments = msg.changed.contains(&Field::Comments) || last.is_none();
                let before = match self.snapshot_with(t, &row.issue_id, with_comments).await {
                    Err(SyncError::Jira(JiraError::NotFound(_)))
                        if self.project_visible(t, project_of(&row.issue_key)).await? =>
                    {
                        // Deleted here (the project is still readable, so not a lost
                        // permission): the sync of this pair ends on both sides.
                        self.forget(t.id, uid, &row.issue_id, Some(&msg.sender_issue_id))
                            .await?;
                        return Err(SyncError::TwinDeleted(row.issue_key.clone()));
                    }
                    other => other?,
                };
                // A person's edit here whose webhook has not been handled yet is recorded (and
                // queued for the other side) first, stamped with its time, so that last writer
                // wins below compares the right values and nothing of theirs is lost.
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
                        // Applied below, after the issue exists (mirrored, not overwritten).
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
                    let body = serde_json::to_vec(&json!({"fields": fields})).expect("json");
                    client
                        .send(
                            reqwest::Method::PUT,
                            &format!("/rest/api/3/issue/{}", row.issue_id),
                            Some((body.into(), "application/json")),
                        )
                        .await?;
                    // What Jira stored (it may normalise what we wrote): the twin's webhook will
                    // then find nothing to send back.
                    let after: Value = client
                        .get_json(&format!(
                            "/rest/api/3/issue/{}?fields=summary,description,issuetype",
                            row.issue_id
                        ))
                        .await?;
                    if let Some(r) = Replica::from_issue(&after) {
                        recorded.summary = r.summary;
                        recorded.description = r.description;
                        recorded.issue_type = r.issue_type;
                    }
                }
                (
                    row.issue_id.clone(),
                    row.issue_key.clone(),
                    false,
                    Some((row, recorded)),
                    Some(before),
                )
            }
            None => {
                // The twin carries its origin in an (indexed) issue property, set in the create
                // call itself: if we crashed after Jira created it but before we recorded it,
                // the retry finds it instead of creating a second one.
                let origin = format!("{uid}:{}", msg.sender_issue_id);
                let jql = format!("project = \"{project}\" AND issue.property[{TWIN_PROPERTY}].origin = \"{origin}\"");
                let found: Value = client
                    .post_json(
                        "/rest/api/3/search/jql",
                        &json!({"jql": jql, "fields": ["id"], "maxResults": 1}),
                    )
                    .await?;
                match found["issues"][0]["id"].as_str() {
                    Some(existing) => {
                        let key = found["issues"][0]["key"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        (existing.to_owned(), key, true, None, None)
                    }
                    None => {
                        let type_id = self
                            .issue_type_for(t, project, &msg.replica.issue_type)
                            .await?;
                        let mut fields = json!({"project": {"key": project}, "summary": msg.replica.summary, "issuetype": {"id": type_id}});
                        if let Some(d) = &msg.replica.description {
                            fields["description"] = d.clone();
                        }
                        let body = json!({"fields": fields, "properties": [{"key": TWIN_PROPERTY, "value": {"origin": origin}}]});
                        let created: Value = client.post_json("/rest/api/3/issue", &body).await?;
                        fresh = true;
                        let id = created["id"].as_str().unwrap_or_default().to_owned();
                        let key = created["key"].as_str().unwrap_or_default().to_owned();
                        (id, key, true, None, None)
                    }
                }
            }
        };
        // A twin we just created has no synced row yet, so its webhooks would find nothing to
        // do: from here until the row is recorded they wait for it, and then compare with what
        // is recorded below (the twin as read right now, without anyone's comments or files).
        let _new_twin_lease = match created {
            true => Some(self.leases.acquire(t.id, &id).await?),
            false => None,
        };
        let as_created: Option<Value> = match created {
            true => Some(
                client
                    .get_json(&format!(
                        "/rest/api/3/issue/{id}?fields=summary,description,issuetype,attachment"
                    ))
                    .await?,
            ),
            false => None,
        };
        if created || msg.changed.contains(&Field::Comments) {
            let local = before
                .as_ref()
                .map(|b| b.comments.as_slice())
                .or(fresh.then_some(&[][..]));
            self.apply_comments(t, uid, &id, &msg.replica.comments, local)
                .await?;
        }
        if created || msg.changed.contains(&Field::Attachments) {
            let issue = before.as_ref().map(|b| &b.issue).or(as_created.as_ref());
            self.apply_attachments(t, uid, &id, msg, issue).await?;
        }
        let now = Utc::now().fixed_offset();
        if created {
            // Jira's remote links are upserted by global id: a retry after a failure here
            // (which fails the whole apply) writes the same link again, never a second one.
            self.link(t, &key, &msg.sender_issue_key, &sender_url, uid)
                .await?;
        }
        let current = recorded.as_ref().and_then(|(row, _)| row.glance.clone());
        let glance = self
            .put_glance(t, &key, current.as_deref(), Glance::Synchronized)
            .await
            .map(str::to_owned)
            .or(current);
        match recorded {
            Some((row, recorded)) => {
                // Comments and attachments the app wrote are not part of this side's replica,
                // so what was read before the writes still holds for them.
                let mut a: synced_issues::ActiveModel = row.into();
                a.glance = Set(glance);
                a.last_replica = Set(Some(serde_json::to_string(&recorded).expect("json")));
                a.status = Set("synchronized".into());
                a.error = Set(None);
                a.last_sync_at = Set(Some(now));
                a.updated_at = Set(now);
                a.update(&self.db).await?;
            }
            None => {
                // A new twin: its fields as Jira stored them at creation, stamped like the other
                // side's; comments and attachments of people on it can only have been added
                // since (ours are not part of a replica), so none are recorded. A fresh twin
                // needs no second read: what a person did to it has a webhook waiting for this
                // row. One found again after a crash is read now, and what was done to it while
                // we were down is queued below.
                let (mut recorded, snap) =
                    match (fresh, as_created.as_ref().and_then(Replica::from_issue)) {
                        (true, Some(r)) => (r, None),
                        (_, r) => {
                            let snap = self.snapshot(t, &id).await?;
                            (r.unwrap_or_else(|| snap.replica.clone()), Some(snap))
                        }
                    };
                recorded.stamps = msg.replica.stamps.clone();
                recorded.comments.clear();
                recorded.attachments.clear();
                let row = synced_issues::ActiveModel {
                    tenant_id: Set(t.id),
                    connection_uid: Set(uid.to_owned()),
                    issue_id: Set(id.clone()),
                    issue_key: Set(key.clone()),
                    twin_id: Set(Some(msg.sender_issue_id.clone())),
                    twin_key: Set(Some(msg.sender_issue_key.clone())),
                    twin_url: Set(Some(sender_url.clone())),
                    status: Set("synchronized".into()),
                    glance: Set(glance),
                    last_replica: Set(Some(serde_json::to_string(&recorded).expect("json"))),
                    next_seq: Set(1),
                    last_sync_at: Set(Some(now)),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&self.db)
                .await?;
                if let Some(snap) = snap {
                    let mut current = snap.replica;
                    let changed = current.changed_since(Some(&recorded));
                    if !changed.is_empty() {
                        current.stamp(Some(&recorded), &changed, snap.updated_ms);
                        self.enqueue(t, row, current, changed, project).await?;
                    }
                }
            }
        }
        if created {
            self.count_twins(t.id, uid).await?;
        }
        Ok(SyncAck {
            twin_id: id,
            twin_url: format!("{}/browse/{key}", t.base_url),
            twin_key: key,
        })
    }

    /// Whether the app can still read a project (Jira answers 404 for an issue both when it was
    /// deleted and when the app lost access to it).
    async fn project_visible(&self, t: &Arc<Tenant>, project: &str) -> Result<bool> {
        let client = self.jira.for_tenant(t.clone())?;
        match client
            .get_json::<Value>(&format!("/rest/api/3/project/{project}"))
            .await
        {
            Ok(_) => Ok(true),
            Err(JiraError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Mirrors the other side's comments onto `issue_id` through the link table: new ones are
    /// created (public, with the author's name), edited ones updated, deleted ones deleted.
    async fn apply_comments(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        issue_id: &str,
        comments: &[replica::ReplicaComment],
        // The issue's comments (with properties) when they were just read.
        read: Option<&[Value]>,
    ) -> Result<()> {
        use crate::entities::comment_links as cl;
        let client = self.jira.for_tenant(t.clone())?;
        let links = cl::Entity::find()
            .filter(cl::Column::TenantId.eq(t.id))
            .filter(cl::Column::ConnectionUid.eq(uid))
            .filter(cl::Column::IssueId.eq(issue_id))
            .all(&self.db)
            .await?;
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
                    cl::ActiveModel {
                        tenant_id: Set(t.id),
                        connection_uid: Set(uid.to_owned()),
                        issue_id: Set(issue_id.to_owned()),
                        comment_id: Set(comment_id),
                        twin_comment_id: Set(c.id.clone()),
                        created_at: Set(Utc::now().fixed_offset()),
                        ..Default::default()
                    }
                    .insert(&self.db)
                    .await?;
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
            cl::Entity::delete_by_id(link.id).exec(&self.db).await?;
        }
        Ok(())
    }

    /// Mirrors the other side's attachments: each new one is streamed from the other node (which
    /// streams it from its Jira) straight into an upload here — never held whole in memory — with
    /// its size checked and its SHA-256 recorded; deleted ones are deleted.
    async fn apply_attachments(
        &self,
        t: &Arc<Tenant>,
        uid: &str,
        issue_id: &str,
        msg: &SyncMessage,
        // The issue (with its attachment field) when it was just read.
        read: Option<&Value>,
    ) -> Result<()> {
        use crate::entities::attachment_links as al;
        use futures_util::StreamExt;
        use sha2::{Digest, Sha256};
        let links = al::Entity::find()
            .filter(al::Column::TenantId.eq(t.id))
            .filter(al::Column::ConnectionUid.eq(uid))
            .filter(al::Column::IssueId.eq(issue_id))
            .all(&self.db)
            .await?;
        let client = self.jira.for_tenant(t.clone())?;
        let wanted = &msg.replica.attachments;
        // Files the app uploaded here that no link knows: left by a crash between Jira's upload
        // and our link. A wanted file with the same name and size is adopted, not uploaded again.
        let issue: Value = match read {
            Some(i) => i.clone(),
            None => {
                client
                    .get_json(&format!("/rest/api/3/issue/{issue_id}?fields=attachment"))
                    .await?
            }
        };
        let mut orphans: Vec<(String, String, u64)> = issue["fields"]["attachment"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["author"]["accountType"] == "app")
            .filter_map(|x| {
                Some((
                    x["id"].as_str()?.to_owned(),
                    x["filename"].as_str()?.to_owned(),
                    x["size"].as_u64()?,
                ))
            })
            .filter(|(id, _, _)| !links.iter().any(|l| &l.attachment_id == id))
            .collect();
        for a in wanted
            .iter()
            .filter(|a| !links.iter().any(|l| l.twin_attachment_id == a.id))
        {
            if let Some(pos) = orphans
                .iter()
                .position(|(_, name, size)| *name == a.filename && *size == a.size)
            {
                let (id, _, _) = orphans.remove(pos);
                al::ActiveModel {
                    tenant_id: Set(t.id),
                    connection_uid: Set(uid.to_owned()),
                    issue_id: Set(issue_id.to_owned()),
                    attachment_id: Set(id),
                    twin_attachment_id: Set(a.id.clone()),
                    // Not re-read after the crash: recorded as unknown.
                    sha256: Set(String::new()),
                    created_at: Set(Utc::now().fixed_offset()),
                    ..Default::default()
                }
                .insert(&self.db)
                .await?;
                continue;
            }
            if a.size > self.max_attachment_bytes {
                tracing::warn!(file = %a.filename, size = a.size, "attachment over the size limit: not synced");
                continue;
            }
            let (node, secret, _) = self.other_node(t, uid).await?;
            let path = format!(
                "/peer/connections/{uid}/issues/{}/attachments/{}",
                msg.sender_issue_id, a.id
            );
            let resp = self
                .peer
                .signed_get(&node, &path, uid, &secret, &t.base_url)
                .await?;
            let hasher = Arc::new(std::sync::Mutex::new((Sha256::new(), 0u64)));
            let h = hasher.clone();
            let stream = resp.bytes_stream().map(move |chunk| {
                if let Ok(c) = &chunk {
                    let mut g = h.lock().expect("hash lock");
                    g.0.update(c);
                    g.1 += c.len() as u64;
                }
                chunk
            });
            let uploaded = client
                .upload_attachment(
                    issue_id,
                    &a.filename,
                    // The other organisation says what the file is: never active content.
                    &crate::web::peer_api::safe_content_type(Some(&a.mime_type)),
                    a.size,
                    reqwest::Body::wrap_stream(stream),
                )
                .await?;
            let (hash, bytes) = {
                let g = hasher.lock().expect("hash lock");
                (hex::encode(g.0.clone().finalize()), g.1)
            };
            let new_id = uploaded[0]["id"].as_str().unwrap_or_default().to_owned();
            if bytes != a.size || uploaded[0]["size"].as_u64() != Some(a.size) {
                let _ = client
                    .delete(&format!("/rest/api/3/attachment/{new_id}"))
                    .await;
                return Err(SyncError::Invalid(format!(
                    "{} arrived incomplete ({bytes} of {} bytes)",
                    a.filename, a.size
                )));
            }
            al::ActiveModel {
                tenant_id: Set(t.id),
                connection_uid: Set(uid.to_owned()),
                issue_id: Set(issue_id.to_owned()),
                attachment_id: Set(new_id),
                twin_attachment_id: Set(a.id.clone()),
                sha256: Set(hash),
                created_at: Set(Utc::now().fixed_offset()),
                ..Default::default()
            }
            .insert(&self.db)
            .await?;
        }
        for link in links
            .iter()
            .filter(|l| !wanted.iter().any(|a| a.id == l.twin_attachment_id))
        {
            client
                .delete(&format!("/rest/api/3/attachment/{}", link.attachment_id))
                .await?;
            al::Entity::delete_by_id(link.id).exec(&self.db).await?;
        }
        Ok(())
    }

    /// The node and secret to reach the other end of a connection (this node for a local one),
    /// and the Jira site the twins are on.
    async fn other_node(&self, t: &Tenant, uid: &str) -> Result<(String, Vec<u8>, String)> {
        let conn = self.end(t.id, uid).await?.ok_or(SyncError::NoConnection)?;
        let secret = conn
            .peer_secret_enc
            .as_deref()
            .ok_or(SyncError::NoConnection)?;
        let secret = self.secrets.decrypt(&conn.uid, secret)?.expose().to_vec();
        let node = if conn.is_local {
            self.base_url.clone()
        } else {
            let remote = conn
                .remote_exalate_url
                .clone()
                .ok_or(SyncError::NoConnection)?;
            remote
                .rsplit_once("/e/")
                .map(|(n, _)| n.to_owned())
                .unwrap_or(remote)
        };
        let site = match conn.is_local {
            true => t.base_url.clone(),
            false => conn.remote_site_url.ok_or(SyncError::NoConnection)?,
        };
        Ok((node, secret, site))
    }

    /// Serves an attachment of a synced issue to the other end of the connection (the caller has
    /// verified the signature): only attachments of issues this connection syncs.
    /// `signed_by`: the ends whose secret verified the request; `sender_site`: the requesting
    /// site, whose own end (both sites on this node share issue and file ids) never answers.
    pub async fn attachment_for_peer(
        &self,
        uid: &str,
        signed_by: &[PeerEnd],
        sender_site: &str,
        issue_id: &str,
        attachment_id: &str,
    ) -> Result<reqwest::Response> {
        let rows = synced_issues::Entity::find()
            .filter(synced_issues::Column::ConnectionUid.eq(uid))
            .filter(synced_issues::Column::IssueId.eq(issue_id))
            .filter(synced_issues::Column::TenantId.is_in(signed_by.iter().map(|e| e.tenant_id)))
            .all(&self.db)
            .await?;
        for row in rows {
            let Some(t) = self.tenant(row.tenant_id).await? else {
                continue;
            };
            let local = signed_by
                .iter()
                .any(|e| e.tenant_id == row.tenant_id && e.is_local);
            if !local && t.base_url.trim_end_matches('/') == sender_site.trim_end_matches('/') {
                continue;
            }
            let client = self.jira.for_tenant(t.clone())?;
            let issue: Value = client
                .get_json(&format!("/rest/api/3/issue/{issue_id}?fields=attachment"))
                .await?;
            let has = issue["fields"]["attachment"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["id"].as_str() == Some(attachment_id));
            if has {
                return Ok(client.download_attachment(attachment_id).await?);
            }
        }
        Err(SyncError::NoConnection)
    }

    /// Basic-mode rule: the same issue type by name, else the project's default type, else Task.
    async fn issue_type_for(&self, t: &Arc<Tenant>, project: &str, name: &str) -> Result<String> {
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

    /// The issue panel's view of one issue.
    pub async fn status_of(&self, t: &Tenant, issue_id: &str) -> Result<Vec<synced_issues::Model>> {
        Ok(synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .filter(synced_issues::Column::IssueId.eq(issue_id))
            .all(&self.db)
            .await?)
    }
}
impl SyncService {
    /// The Sync Queue page: what waits to go out and what was received but not applied.
    pub async fn queue(&self, t: &Tenant) -> Result<Value> {
        let names = self.connection_names(t).await?;
        let name = |uid: &str| {
            names
                .iter()
                .find(|(u, _)| u == uid)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        let outgoing = sync_outbox::Entity::find()
            .filter(sync_outbox::Column::TenantId.eq(t.id))
            .filter(sync_outbox::Column::DoneAt.is_null())
            .order_by_asc(sync_outbox::Column::Id)
            .limit(500)
            .all(&self.db)
            .await?;
        let incoming = sync_inbox::Entity::find()
            .filter(sync_inbox::Column::TenantId.eq(t.id))
            .filter(sync_inbox::Column::AppliedAt.is_null())
            .order_by_asc(sync_inbox::Column::Id)
            .limit(500)
            .all(&self.db)
            .await?;
        let keys = synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .all(&self.db)
            .await?;
        let key_of = |uid: &str, issue: &str| {
            keys.iter()
                .find(|k| k.connection_uid == uid && k.issue_id == issue)
                .map(|k| k.issue_key.clone())
                .unwrap_or_else(|| issue.to_owned())
        };
        let mut summary = Vec::new();
        for (uid, cname) in &names {
            let out: Vec<_> = outgoing
                .iter()
                .filter(|m| &m.connection_uid == uid)
                .collect();
            let inc: Vec<_> = incoming
                .iter()
                .filter(|m| &m.connection_uid == uid)
                .collect();
            let oldest = out
                .iter()
                .map(|m| m.created_at)
                .chain(inc.iter().map(|m| m.received_at))
                .min();
            summary.push(json!({"connectionId": uid, "connectionName": cname, "outgoing": out.len(), "incoming": inc.len(),
                                "oldest": oldest.map(|o| o.to_rfc3339())}));
        }
        Ok(json!({
            "summary": summary,
            "outgoing": outgoing.iter().map(|m| json!({
                "connectionId": m.connection_uid, "connectionName": name(&m.connection_uid),
                "issueKey": key_of(&m.connection_uid, &m.issue_id), "seq": m.seq, "attempts": m.attempts,
                "lastError": m.last_error, "createdAt": m.created_at.to_rfc3339(), "nextAttemptAt": m.next_attempt_at.to_rfc3339()})).collect::<Vec<_>>(),
            "incoming": incoming.iter().map(|m| {
                let sender_key = serde_json::from_str::<SyncMessage>(&m.payload).map(|s| s.sender_issue_key).unwrap_or_default();
                json!({"connectionId": m.connection_uid, "connectionName": name(&m.connection_uid),
                       "senderIssueKey": sender_key, "seq": m.seq, "receivedAt": m.received_at.to_rfc3339()})
            }).collect::<Vec<_>>(),
        }))
    }

    async fn connection_names(&self, t: &Tenant) -> Result<Vec<(String, String)>> {
        Ok(connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.uid, c.name))
            .collect())
    }

    /// The Errors page: twins whose messages failed several times.
    pub async fn errors(&self, t: &Tenant) -> Result<Value> {
        let names = self.connection_names(t).await?;
        let rows = synced_issues::Entity::find()
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .filter(synced_issues::Column::Status.eq("error"))
            .order_by_desc(synced_issues::Column::UpdatedAt)
            .all(&self.db)
            .await?;
        Ok(json!({"errors": rows.iter().map(|r| json!({
            "id": r.id.to_string(), "connectionId": r.connection_uid,
            "connectionName": names.iter().find(|(u, _)| *u == r.connection_uid).map(|(_, n)| n.clone()),
            "issueKey": r.issue_key, "twinKey": r.twin_key, "when": r.updated_at.to_rfc3339(), "cause": r.error,
        })).collect::<Vec<_>>()}))
    }

    async fn own_row(&self, t: &Tenant, id: &str) -> Result<synced_issues::Model> {
        let id: i64 = id.parse().map_err(|_| SyncError::NoConnection)?;
        synced_issues::Entity::find_by_id(id)
            .filter(synced_issues::Column::TenantId.eq(t.id))
            .one(&self.db)
            .await?
            .ok_or(SyncError::NoConnection)
    }

    /// Retry: the twin's waiting messages go out now, and it shows In Progress again.
    pub async fn retry(&self, t: &Tenant, id: &str) -> Result<()> {
        let row = self.own_row(t, id).await?;
        let now = Utc::now().fixed_offset();
        sync_outbox::Entity::update_many()
            .col_expr(sync_outbox::Column::NextAttemptAt, Expr::value(now))
            .col_expr(sync_outbox::Column::Attempts, Expr::value(0))
            .filter(sync_outbox::Column::TenantId.eq(t.id))
            .filter(sync_outbox::Column::ConnectionUid.eq(row.connection_uid.clone()))
            .filter(sync_outbox::Column::IssueId.eq(row.issue_id.clone()))
            .filter(sync_outbox::Column::DoneAt.is_null())
            .exec(&self.db)
            .await?;
        let mut a: synced_issues::ActiveModel = row.into();
        a.status = Set("in_progress".into());
        a.error = Set(None);
        a.updated_at = Set(now);
        a.update(&self.db).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Resolve: the admin accepts the error; it leaves the Errors page (messages stay queued).
    pub async fn resolve(&self, t: &Arc<Tenant>, id: &str) -> Result<()> {
        let row = self.own_row(t, id).await?;
        let mut a: synced_issues::ActiveModel = row.clone().into();
        a.status = Set("synchronized".into());
        a.error = Set(None);
        a.updated_at = Set(Utc::now().fixed_offset());
        a.update(&self.db).await?;
        self.set_glance(
            t,
            &row.connection_uid,
            &row.issue_id,
            &row.issue_key,
            row.glance.as_deref(),
            Glance::Synchronized,
        )
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ids_are_what_jira_makes() {
        for good in ["TEST-1", "A_B2-10045", "X-9"] {
            assert!(is_issue_key(good), "{good}");
        }
        for bad in [
            "test-1",
            "1TEST-1",
            "TEST-",
            "TEST-1a",
            "TEST",
            "TE ST-1",
            "TEST-1-2",
            "",
            "../-1",
            "TEST-1\"><script>",
        ] {
            assert!(!is_issue_key(bad), "{bad}");
        }
        assert!(is_jira_id("10001"));
        assert!(!is_jira_id("10001 OR 1=1") && !is_jira_id(""));
    }

    #[test]
    fn an_answer_must_point_at_the_twins_page_on_the_connected_site() {
        let ack = |id: &str, key: &str, url: &str| SyncAck {
            twin_id: id.into(),
            twin_key: key.into(),
            twin_url: url.into(),
        };
        let site = "https://beta.atlassian.net";
        let good = ack("10001", "SUP-1", "https://beta.atlassian.net/browse/SUP-1");
        assert_eq!(good.refusal(site), None);
        assert_eq!(good.refusal("https://beta.atlassian.net/"), None);
        for bad in [
            ack("10001", "SUP-1", "javascript:alert(document.cookie)"),
            ack("10001", "SUP-1", "https://evil.example/browse/SUP-1"),
            ack("10001", "SUP-1", "https://beta.atlassian.net/browse/SUP-2"),
            ack(
                "10001",
                "SUP-1\"><img src=x>",
                "https://beta.atlassian.net/browse/SUP-1\"><img src=x>",
            ),
            ack("x", "SUP-1", "https://beta.atlassian.net/browse/SUP-1"),
        ] {
            assert!(bad.refusal(site).is_some(), "{bad:?}");
        }
    }
}
