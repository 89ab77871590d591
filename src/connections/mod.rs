//! Connections between two Jira sites (or two projects of one site) in Basic mode: discovery of
//! the destination, the "Yes, I have admin access" redirect and the invitation code paths, the
//! admin check on every site involved, and the lifecycle Pending → Active ⇄ Deactivated.

pub mod admin_check;
mod discovery;
mod handshake;
mod initiate;
pub mod invitations;
mod issues;
mod lifecycle;
pub mod peer;
pub mod site_titles;

use crate::entities::{connections, invitations as inv};
use crate::jira::{JiraClients, JiraError};
use crate::tenants::crypto::{CryptoError, SecretBox};
use crate::tenants::{Tenant, TenantError, TenantState, TenantStore};
use admin_check::AdminChecks;
use chrono::Utc;
use invitations::InvitationCode;
use peer::{EndInfo, PeerClient, PeerError};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("You need Jira admin permission to use Exalate on this site. Ask a Jira administrator to set up connections.")]
    NotAdmin,
    #[error("{0}")]
    InvalidUrl(String),
    #[error("We couldn't find Exalate on {0}. Install Exalate on that Jira site first, or enter its Exalate URL (Apps → Exalate → General Settings on that site).")]
    UnknownDestination(String),
    #[error("{0}")]
    Peer(#[from] PeerError),
    #[error("The project {0} does not exist on this site, or Exalate cannot see it.")]
    ProjectNotFound(String),
    #[error("Choose two different projects for a local connection.")]
    SameProject,
    #[error("Only Basic mode is available in this version. Visual and Script modes are not available yet.")]
    ModeNotAvailable,
    #[error("Select the project of the other side for a local connection.")]
    RemoteProjectRequired,
    #[error("This invitation code is not valid. Check that you copied all of it.")]
    InvitationInvalid,
    #[error("This invitation code was already used. Ask the other admin for a new one.")]
    InvitationUsed,
    #[error("This invitation code has expired. Ask the other admin for a new one.")]
    InvitationExpired,
    #[error("This connection request was made for another Jira site ({0}).")]
    WrongSite(String),
    #[error("This invitation was created on this site. To connect two projects of this site, initiate a local connection instead.")]
    OwnInvitation,
    #[error("This invitation code was already used. Ask the other admin for a new one.")]
    AlreadyAccepted,
    #[error("The other Exalate node answered with a connection id that is already in use here. Ask its admin to start a new connection.")]
    UidClash,
    /// (The address itself is not repeated: it is another organisation's text.)
    #[error(
        "The other Exalate node gave an address that is not a web address. Nothing was changed."
    )]
    UntrustedAddress,
    #[error("There is no such connection.")]
    NotFound,
    #[error("The connection is not active.")]
    NotActive,
    #[error("Issue {0} does not exist in {1}.")]
    IssueNotFound(String, String),
    #[error("Jira could not answer: {0}")]
    Jira(#[from] JiraError),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

impl ConnectionError {
    pub fn code(&self) -> &'static str {
        match self {
            ConnectionError::NotAdmin => "not_admin",
            ConnectionError::InvalidUrl(_) => "invalid_url",
            ConnectionError::UnknownDestination(_) => "destination_unknown",
            ConnectionError::Peer(PeerError::NotAllowed(_)) => "invalid_url",
            ConnectionError::Peer(PeerError::Unreachable(_)) => "peer_unreachable",
            ConnectionError::Peer(PeerError::Remote { .. }) => "peer_refused",
            ConnectionError::Peer(PeerError::Protocol(_)) => "peer_protocol",
            ConnectionError::ProjectNotFound(_) => "project_not_found",
            ConnectionError::SameProject => "same_project",
            ConnectionError::ModeNotAvailable => "mode_not_available",
            ConnectionError::RemoteProjectRequired => "remote_project_required",
            ConnectionError::InvitationInvalid => "invitation_invalid",
            ConnectionError::InvitationUsed => "invitation_used",
            ConnectionError::InvitationExpired => "invitation_expired",
            ConnectionError::WrongSite(_) => "invitation_other_site",
            ConnectionError::OwnInvitation => "own_invitation",
            ConnectionError::AlreadyAccepted => "invitation_used",
            ConnectionError::UidClash => "connection_uid_clash",
            ConnectionError::UntrustedAddress => "invalid_peer_address",
            ConnectionError::NotFound => "connection_not_found",
            ConnectionError::NotActive => "connection_not_active",
            ConnectionError::IssueNotFound(..) => "issue_not_found",
            ConnectionError::Jira(_) => "jira_unavailable",
            ConnectionError::Db(_) | ConnectionError::Crypto(_) | ConnectionError::Tenant(_) => {
                "internal"
            }
        }
    }
}

type Result<T> = std::result::Result<T, ConnectionError>;

/// One end of a connection that a verified peer request may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerEnd {
    pub id: i64,
    pub tenant_id: i64,
    pub is_local: bool,
}

/// A connection as the admin console shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: String,
    pub name: String,
    pub other_side_url: Option<String>,
    pub mode: String,
    pub local_project: Option<ProjectRef>,
    pub remote_project: Option<ProjectRef>,
    pub status: String,
    pub error_reason: Option<String>,
    pub issues_in_sync: i64,
    pub last_activity: Option<String>,
    pub is_local: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectRef {
    pub key: String,
    pub name: String,
}

impl From<&connections::Model> for ConnectionView {
    fn from(m: &connections::Model) -> Self {
        let pr = |k: &Option<String>, n: &Option<String>| {
            k.as_ref().map(|k| ProjectRef {
                key: k.clone(),
                name: n.clone().unwrap_or_else(|| k.clone()),
            })
        };
        ConnectionView {
            id: m.uid.clone(),
            name: m.name.clone(),
            other_side_url: m.remote_site_url.clone(),
            mode: m.mode.clone(),
            local_project: pr(&m.local_project_key, &m.local_project_name),
            remote_project: pr(&m.remote_project_key, &m.remote_project_name),
            status: m.status.clone(),
            error_reason: m.error_reason.clone(),
            issues_in_sync: m.issues_in_sync,
            last_activity: m.last_activity_at.map(|t| t.to_rfc3339()),
            is_local: m.is_local,
        }
    }
}

/// What "Initiate" produced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Initiated {
    pub connection: ConnectionView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovered {
    pub kind: &'static str,
    pub destination_url: String,
    pub destination_name: String,
}

pub struct InitiateRequest {
    pub destination_url: Option<String>,
    pub mode: String,
    pub local_project_key: String,
    pub remote_project_key: Option<String>,
    pub admin_access: bool,
}

#[derive(Clone)]
pub struct ConnectionService {
    pub db: DatabaseConnection,
    pub secrets: SecretBox,
    pub tenants: TenantStore,
    pub jira: JiraClients,
    pub admin: AdminChecks,
    pub peer: PeerClient,
    pub titles: site_titles::SiteTitles,
    pub app_key: String,
    pub base_url: String,
    pub invitation_ttl_secs: i64,
    pub redirect_ttl_secs: i64,
    /// How long after a code's first use its acceptor may retry (with its proof).
    pub accept_retry_secs: i64,
    pub peer_window_secs: i64,
    /// Whether addresses other nodes give may be plain http (`jira.allow_http`: the emulator).
    pub allow_http_links: bool,
}

/// A short, readable name for a site: the first label of its host (`acme` for
/// `https://acme.atlassian.net`), or host:port for an address.
pub fn site_name(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    match u.host() {
        Some(url::Host::Domain(d)) => d.split('.').next().unwrap_or(d).to_owned(),
        Some(h) => match u.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        },
        None => url.to_owned(),
    }
}

/// `alpha_to_beta`: the two sites' titles, as Exalate names a connection.
fn connection_name(from: &str, to: &str) -> String {
    let part = |s: &str| s.split_whitespace().collect::<Vec<_>>().join("_");
    format!("{}_to_{}", part(from), part(to))
}

fn normalise_url(raw: &str) -> String {
    raw.trim().trim_end_matches('/').to_owned()
}

impl ConnectionService {
    /// This tenant's Exalate URL: the node's public URL and the tenant's public id.
    pub fn exalate_url(&self, t: &Tenant) -> String {
        format!("{}/e/{}", self.base_url, t.public_id)
    }

    pub async fn require_admin(&self, t: &Arc<Tenant>, account_id: Option<&str>) -> Result<()> {
        let Some(account) = account_id.filter(|a| !a.is_empty()) else {
            return Err(ConnectionError::NotAdmin);
        };
        if self.admin.is_admin(&self.jira, t, account).await? {
            Ok(())
        } else {
            Err(ConnectionError::NotAdmin)
        }
    }

    async fn end_info(
        &self,
        t: &Arc<Tenant>,
        project_key: Option<&str>,
        project_name: Option<&str>,
    ) -> EndInfo {
        EndInfo {
            site_url: t.base_url.clone(),
            site_name: self.titles.title(&self.jira, t).await,
            exalate_url: self.exalate_url(t),
            project_key: project_key.map(str::to_owned),
            project_name: project_name.map(str::to_owned),
        }
    }

    /// The project's name, checked with Jira (as the app).
    pub async fn project_name(&self, t: &Arc<Tenant>, key: &str) -> Result<String> {
        let key = key.trim();
        if key.is_empty()
            || key.len() > 64
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConnectionError::ProjectNotFound(key.to_owned()));
        }
        let client = self.jira.for_tenant(t.clone())?;
        match client
            .get_json::<crate::jira::types::Project>(&format!("/rest/api/3/project/{key}"))
            .await
        {
            Ok(p) => Ok(p.name),
            Err(JiraError::NotFound(_)) => Err(ConnectionError::ProjectNotFound(key.to_owned())),
            Err(e) => Err(e.into()),
        }
    }
}

fn same_site(a: &str, b: &str) -> bool {
    normalise_url(a).eq_ignore_ascii_case(&normalise_url(b))
}

/// Errors the other node reported with a known code become the same error here.
fn map_remote(e: PeerError) -> ConnectionError {
    match &e {
        PeerError::Remote { code, message, .. } => match code.as_str() {
            "invitation_invalid" => ConnectionError::InvitationInvalid,
            "invitation_used" => ConnectionError::InvitationUsed,
            "invitation_expired" => ConnectionError::InvitationExpired,
            "own_invitation" => ConnectionError::OwnInvitation,
            "invitation_other_site" => ConnectionError::WrongSite(
                message
                    .split_once('(')
                    .and_then(|(_, rest)| rest.split_once(')'))
                    .map(|(site, _)| site.to_owned())
                    .unwrap_or_default(),
            ),
            _ => e.into(),
        },
        _ => e.into(),
    }
}
