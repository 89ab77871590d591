//! Connections between two Jira sites (or two projects of one site) in Basic mode: discovery of
//! the destination, the "Yes, I have admin access" redirect and the invitation code paths, the
//! admin check on every site involved, and the lifecycle Pending → Active ⇄ Deactivated.

pub mod admin_check;
mod handshake;
pub mod invitations;
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

    /// Understands what the admin typed as destination: this site (local connection), another
    /// site on this node, or an Exalate URL of any allowed node.
    pub async fn discover(&self, t: &Arc<Tenant>, raw: &str) -> Result<Discovered> {
        let url = normalise_url(raw);
        if url.is_empty() {
            return Err(ConnectionError::InvalidUrl(
                "Enter the URL of the destination Jira site or its Exalate URL.".into(),
            ));
        }
        let parsed = url::Url::parse(&url).map_err(|_| {
            ConnectionError::InvalidUrl(format!(
                "{url} is not a valid URL. Enter it like https://your-site.atlassian.net."
            ))
        })?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(ConnectionError::InvalidUrl(
                "Enter the site URL without a query or fragment.".into(),
            ));
        }
        // An Exalate URL: <node>/e/<publicId>.
        if let Some((node, public_id)) = url.rsplit_once("/e/") {
            if !public_id.is_empty() && public_id.chars().all(|c| c.is_ascii_alphanumeric()) {
                let found = self
                    .peer
                    .discover(node, &[("publicId", public_id)])
                    .await
                    .map_err(|e| match e {
                        PeerError::Remote { status: 404, .. } => {
                            ConnectionError::UnknownDestination(url.clone())
                        }
                        other => other.into(),
                    })?;
                let found = self.foreign_discovery(found)?;
                return Ok(self.classify(t, found.site_url, found.site_name));
            }
        }
        // A Jira site URL: must be an allowed Jira host (no internal addresses).
        let site = self
            .jira
            .allowlist()
            .check(&parsed)
            .map(|_| url.clone())
            .map_err(|e| ConnectionError::InvalidUrl(format!("{url} cannot be used: {e}.")))?;
        if same_site(&site, &t.base_url)
            || t.display_url
                .as_deref()
                .is_some_and(|d| same_site(&site, d))
        {
            let title = self.titles.title(&self.jira, t).await;
            return Ok(self.classify(t, t.base_url.clone(), title));
        }
        // Another site: ask our own node's discovery (the same protocol other nodes answer).
        match self.peer.discover(&self.base_url, &[("site", &site)]).await {
            Ok(found) => {
                let found = self.foreign_discovery(found)?;
                Ok(self.classify(t, found.site_url, found.site_name))
            }
            Err(PeerError::Remote { status: 404, .. }) => {
                Err(ConnectionError::UnknownDestination(site))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A discovery answer is checked like everything another node says about itself.
    fn foreign_discovery(&self, found: peer::DiscoverResponse) -> Result<peer::DiscoverResponse> {
        let end = self.foreign_end(&EndInfo {
            site_url: found.site_url,
            site_name: found.site_name,
            exalate_url: found.exalate_url,
            project_key: None,
            project_name: None,
        })?;
        Ok(peer::DiscoverResponse {
            site_url: end.site_url,
            site_name: end.site_name,
            exalate_url: end.exalate_url,
        })
    }

    fn classify(&self, t: &Tenant, site_url: String, name: String) -> Discovered {
        let kind = if same_site(&site_url, &t.base_url) {
            "local"
        } else {
            "remote"
        };
        Discovered {
            kind,
            destination_url: site_url,
            destination_name: name,
        }
    }

    /// Answers `GET /peer/discover` for tenants of this node.
    pub async fn lookup_local_site(
        &self,
        site: Option<&str>,
        public_id: Option<&str>,
    ) -> Result<Option<peer::DiscoverResponse>> {
        use crate::entities::tenants as tn;
        let mut q = tn::Entity::find().filter(tn::Column::State.eq(TenantState::Enabled.as_str()));
        q = match (site, public_id) {
            (_, Some(id)) => q.filter(tn::Column::PublicId.eq(id)),
            (Some(s), None) => q.filter(tn::Column::BaseUrl.eq(normalise_url(s))),
            _ => return Ok(None),
        };
        let Some(m) = q.one(&self.db).await? else {
            return Ok(None);
        };
        let site_name = match self.tenants.get(&m.client_key).await? {
            Some(t) => self.titles.title(&self.jira, &t).await,
            None => site_name(&m.base_url),
        };
        Ok(Some(peer::DiscoverResponse {
            site_name,
            exalate_url: format!("{}/e/{}", self.base_url, m.public_id),
            site_url: m.base_url,
        }))
    }

    async fn insert_connection(&self, m: connections::ActiveModel) -> Result<connections::Model> {
        Ok(m.insert(&self.db).await?)
    }

    fn new_connection(
        &self,
        t: &Tenant,
        name: String,
        status: &str,
        role: &str,
    ) -> connections::ActiveModel {
        let now = Utc::now().fixed_offset();
        connections::ActiveModel {
            uid: Set(uuid::Uuid::new_v4().simple().to_string()),
            tenant_id: Set(t.id),
            name: Set(name),
            mode: Set("basic".into()),
            role: Set(role.into()),
            status: Set(status.into()),
            is_local: Set(false),
            issues_in_sync: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }

    /// "Initiate": a local connection is active at once; otherwise a pending connection and either
    /// the redirect to the destination site ("Yes") or an invitation code ("No").
    pub async fn initiate(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        req: InitiateRequest,
    ) -> Result<Initiated> {
        self.require_admin(t, account).await?;
        if req.mode != "basic" {
            return Err(ConnectionError::ModeNotAvailable);
        }
        let local_name = self.project_name(t, &req.local_project_key).await?;
        let local_key = req.local_project_key.trim().to_owned();
        let destination = match req
            .destination_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(u) => Some(self.discover(t, u).await?),
            None => None,
        };
        if let Some(d) = destination.as_ref().filter(|d| d.kind == "local") {
            let remote_key = req
                .remote_project_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .ok_or(ConnectionError::RemoteProjectRequired)?
                .to_owned();
            if remote_key.eq_ignore_ascii_case(&local_key) {
                return Err(ConnectionError::SameProject);
            }
            let remote_name = self.project_name(t, &remote_key).await?;
            let mut m =
                self.new_connection(t, format!("{local_key}_to_{remote_key}"), "active", "local");
            m.is_local = Set(true);
            m.remote_site_name = Set(Some(self.titles.title(&self.jira, t).await));
            m.local_project_key = Set(Some(local_key));
            m.local_project_name = Set(Some(local_name));
            m.remote_project_key = Set(Some(remote_key));
            m.remote_project_name = Set(Some(remote_name));
            m.remote_site_url = Set(Some(d.destination_url.clone()));
            m.remote_exalate_url = Set(Some(self.exalate_url(t)));
            // Sync messages of a local connection go through the same signed protocol.
            if let sea_orm::ActiveValue::Set(uid) = &m.uid {
                let secret = InvitationCode::generate("").secret;
                m.peer_secret_enc = Set(Some(self.secrets.encrypt(uid, secret.as_bytes())));
            }
            let saved = self.insert_connection(m).await?;
            tracing::info!(site = %t.base_url, connection = %saved.name, "local connection created");
            return Ok(Initiated {
                connection: (&saved).into(),
                redirect_url: None,
                invitation_code: None,
            });
        }
        let remote_label = destination
            .as_ref()
            .map(|d| d.destination_name.clone())
            .unwrap_or_else(|| "invited".into());
        let own_title = self.titles.title(&self.jira, t).await;
        let mut m = self.new_connection(
            t,
            connection_name(&own_title, &remote_label),
            "pending",
            "initiator",
        );
        m.local_project_key = Set(Some(local_key));
        m.local_project_name = Set(Some(local_name));
        m.remote_site_url = Set(destination.as_ref().map(|d| d.destination_url.clone()));
        m.peer_secret_enc = Set(None);
        let saved = self.insert_connection(m).await?;
        tracing::info!(site = %t.base_url, connection = %saved.name, "connection initiated (pending)");
        let code = InvitationCode::generate(&self.base_url);
        let (kind, ttl) = match (&destination, req.admin_access) {
            (Some(_), true) => ("redirect", self.redirect_ttl_secs),
            _ => ("code", self.invitation_ttl_secs),
        };
        let now = Utc::now().fixed_offset();
        inv::ActiveModel {
            connection_id: Set(saved.id),
            code_hash: Set(code.hash()),
            kind: Set(kind.into()),
            expires_at: Set(now + chrono::Duration::seconds(ttl)),
            used_at: Set(None),
            used_by: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        let encoded = code.encode();
        let (redirect_url, invitation_code) = match (kind, &destination) {
            ("redirect", Some(d)) => (
                Some(format!(
                    "{}/plugins/servlet/ac/{}/exalate-accept?ac.request={}",
                    d.destination_url,
                    connect_jwt::encode_rfc3986(&self.app_key),
                    connect_jwt::encode_rfc3986(&encoded)
                )),
                None,
            ),
            _ => (None, Some(encoded)),
        };
        Ok(Initiated {
            connection: (&saved).into(),
            redirect_url,
            invitation_code,
        })
    }

    // ------------------------------------------------------------------ console

    pub async fn list(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
    ) -> Result<Vec<ConnectionView>> {
        self.require_admin(t, account).await?;
        let rows = connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .order_by_desc(connections::Column::CreatedAt)
            .all(&self.db)
            .await?;
        Ok(rows.iter().map(ConnectionView::from).collect())
    }

    async fn own(&self, t: &Tenant, uid: &str) -> Result<connections::Model> {
        connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .filter(connections::Column::Uid.eq(uid))
            .one(&self.db)
            .await?
            .ok_or(ConnectionError::NotFound)
    }

    /// Activates or deactivates this end and tells the other end (best effort: a peer that is
    /// down leaves a visible error on this end, and the next toggle retries).
    pub async fn set_active(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        uid: &str,
        active: bool,
    ) -> Result<ConnectionView> {
        self.require_admin(t, account).await?;
        let conn = self.own(t, uid).await?;
        if conn.status == "pending" {
            return Err(ConnectionError::NotActive);
        }
        let status = if active { "active" } else { "deactivated" };
        let error = self.notify_peer(&conn, status).await;
        let mut m: connections::ActiveModel = conn.into();
        m.status = Set(status.into());
        m.error_reason = Set(error);
        m.updated_at = Set(Utc::now().fixed_offset());
        let saved = m.update(&self.db).await?;
        tracing::info!(site = %t.base_url, connection = %saved.name, status, "connection status changed");
        Ok((&saved).into())
    }

    pub async fn delete(&self, t: &Arc<Tenant>, account: Option<&str>, uid: &str) -> Result<()> {
        self.require_admin(t, account).await?;
        let conn = self.own(t, uid).await?;
        if conn.status != "pending" {
            let _ = self.notify_peer(&conn, "deleted").await;
        }
        inv::Entity::delete_many()
            .filter(inv::Column::ConnectionId.eq(conn.id))
            .exec(&self.db)
            .await?;
        connections::Entity::delete_by_id(conn.id)
            .exec(&self.db)
            .await?;
        tracing::info!(site = %t.base_url, connection = %conn.name, "connection deleted");
        Ok(())
    }

    async fn notify_peer(&self, conn: &connections::Model, status: &str) -> Option<String> {
        if conn.is_local {
            return None;
        }
        let (Some(enc), Some(remote)) = (&conn.peer_secret_enc, &conn.remote_exalate_url) else {
            return None;
        };
        let node = remote
            .rsplit_once("/e/")
            .map(|(n, _)| n.to_owned())
            .unwrap_or_else(|| remote.clone());
        let secret = match self.secrets.decrypt(&conn.uid, enc) {
            Ok(s) => s,
            Err(e) => return Some(e.to_string()),
        };
        match self
            .peer
            .status(&node, &conn.uid, secret.expose(), status)
            .await
        {
            Ok(()) => None,
            Err(e) => Some(format!(
                "The other side could not be told about this change: {e}"
            )),
        }
    }

    /// `POST /peer/connections/{uid}/status`, already signature-checked by the caller: changes
    /// only the ends whose secret signed it (`ends`, from [`ConnectionService::peer_ends`]).
    pub async fn peer_status(&self, ends: &[PeerEnd], status: &str) -> Result<()> {
        for end in ends.iter().filter(|e| !e.is_local) {
            let Some(conn) = connections::Entity::find_by_id(end.id)
                .one(&self.db)
                .await?
            else {
                continue;
            };
            let mut m: connections::ActiveModel = conn.into();
            match status {
                "active" => {
                    m.status = Set("active".into());
                    m.error_reason = Set(None);
                }
                "deactivated" => {
                    m.status = Set("deactivated".into());
                    m.error_reason =
                        Set(Some("The other side deactivated this connection.".into()));
                }
                _ => {
                    m.status = Set("error".into());
                    m.error_reason = Set(Some("The other side deleted this connection.".into()));
                }
            }
            m.updated_at = Set(Utc::now().fixed_offset());
            m.update(&self.db).await?;
        }
        Ok(())
    }

    /// The ends of connection `uid` that this node holds, with their decrypted secrets. A uid
    /// may be held twice (both sites on this node, one secret); anything a peer request may do
    /// is limited to the ends whose secret verifies its signature.
    pub async fn peer_ends(&self, uid: &str) -> Result<Vec<(PeerEnd, Vec<u8>)>> {
        let rows = connections::Entity::find()
            .filter(connections::Column::Uid.eq(uid))
            .filter(connections::Column::PeerSecretEnc.is_not_null())
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(enc) = &r.peer_secret_enc else {
                continue;
            };
            let secret = self.secrets.decrypt(&r.uid, enc)?.expose().to_vec();
            out.push((
                PeerEnd {
                    id: r.id,
                    tenant_id: r.tenant_id,
                    is_local: r.is_local,
                },
                secret,
            ));
        }
        Ok(out)
    }

    /// The first-issue step after "Connection established": checks the issue exists in the
    /// connection's project; the caller then starts its sync.
    pub async fn first_sync(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        uid: &str,
        issue_key: &str,
    ) -> Result<serde_json::Value> {
        self.require_admin(t, account).await?;
        let conn = self.own(t, uid).await?;
        if conn.status != "active" {
            return Err(ConnectionError::NotActive);
        }
        let key = issue_key.trim().to_ascii_uppercase();
        let project_key = conn.local_project_key.clone().unwrap_or_default();
        let project_label = format!(
            "{} ({})",
            conn.local_project_name.clone().unwrap_or_default(),
            project_key
        );
        let valid = key.split_once('-').is_some_and(|(p, n)| {
            p == project_key && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
        });
        if !valid {
            return Err(ConnectionError::IssueNotFound(key, project_label));
        }
        let client = self.jira.for_tenant(t.clone())?;
        match client
            .get_json::<serde_json::Value>(&format!("/rest/api/3/issue/{key}?fields=summary"))
            .await
        {
            Ok(_) => Ok(serde_json::json!({
                "issueKey": key,
                "issueUrl": format!(
                    "{}/browse/{key}",
                    t.display_url.as_deref().unwrap_or(&t.base_url).trim_end_matches('/')
                ),
                "message": format!("{key} is being synchronized. Open it to follow its status in the Exalate panel."),
            })),
            Err(JiraError::NotFound(_)) => Err(ConnectionError::IssueNotFound(key, project_label)),
            Err(e) => Err(e.into()),
        }
    }
}

impl ConnectionService {
    /// The issue panel: which connections this issue's project belongs to, and its sync state
    /// with each.
    /// `viewer`: who opened the panel; Jira is asked whether they may browse the issue, since
    /// the app reads it with its own rights.
    pub async fn issue_status(
        &self,
        t: &Arc<Tenant>,
        viewer: Option<&str>,
        issue_key: &str,
    ) -> Result<serde_json::Value> {
        let key = issue_key.trim().to_ascii_uppercase();
        let Some((project, _)) = key.split_once('-').filter(|(p, n)| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric())
                && n.chars().all(|c| c.is_ascii_digit())
                && !n.is_empty()
        }) else {
            return Err(ConnectionError::IssueNotFound(key, "this site".into()));
        };
        let client = self.jira.for_tenant(t.clone())?;
        let issue = match client
            .get_json::<serde_json::Value>(&format!("/rest/api/3/issue/{key}?fields=project"))
            .await
        {
            Ok(v) => v,
            Err(JiraError::NotFound(_)) => {
                return Err(ConnectionError::IssueNotFound(key, "this site".into()))
            }
            Err(e) => return Err(e.into()),
        };
        let issue_id = issue["id"].as_str().unwrap_or_default().to_owned();
        let browses = match viewer {
            Some(who) => client
                .issue_permissions(
                    who,
                    issue_id.parse().unwrap_or_default(),
                    &["BROWSE_PROJECTS"],
                )
                .await?
                .iter()
                .any(|p| p == "BROWSE_PROJECTS"),
            None => false,
        };
        if !browses {
            return Err(ConnectionError::IssueNotFound(key, "this site".into()));
        }
        let synced = crate::entities::synced_issues::Entity::find()
            .filter(crate::entities::synced_issues::Column::TenantId.eq(t.id))
            .filter(crate::entities::synced_issues::Column::IssueId.eq(issue_id))
            .all(&self.db)
            .await?;
        let rows = connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .filter(connections::Column::Status.eq("active"))
            .all(&self.db)
            .await?;
        let matching: Vec<&connections::Model> = rows
            .iter()
            .filter(|c| {
                c.local_project_key.as_deref() == Some(project)
                    || (c.is_local && c.remote_project_key.as_deref() == Some(project))
            })
            .collect();
        Ok(serde_json::json!({
            "issueKey": key,
            "syncs": matching.iter().map(|c| match synced.iter().find(|s| s.connection_uid == c.uid) {
                Some(s) => serde_json::json!({
                    "connectionId": c.uid, "connectionName": c.name, "status": s.status,
                    "twinKey": s.twin_key, "twinUrl": s.twin_url,
                    "lastSync": s.last_sync_at.map(|t| t.to_rfc3339()), "error": s.error}),
                None => serde_json::json!({"connectionId": c.uid, "connectionName": c.name, "status": "not_synced"}),
            }).collect::<Vec<_>>(),
            "connections": matching.iter().map(|c| serde_json::json!({"id": c.uid, "name": c.name})).collect::<Vec<_>>(),
        }))
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
