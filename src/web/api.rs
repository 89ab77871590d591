//! The admin console's API (`/api/*`, called by our frontend with a context token) and the
//! node-to-node protocol (`/peer/*`). Thin handlers over `crate::connections`.

use super::error::ApiError;
use super::extractors::ContextJwt;
use crate::connections::peer::{self, AcceptRequest, CodeRequest, StatusMessage};
use crate::connections::{ConnectionError, InitiateRequest};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

impl From<ConnectionError> for ApiError {
    fn from(e: ConnectionError) -> Self {
        use crate::connections::peer::PeerError;
        let status = match &e {
            ConnectionError::NotAdmin | ConnectionError::WrongSite(_) => StatusCode::FORBIDDEN,
            ConnectionError::NotFound | ConnectionError::IssueNotFound(..) => StatusCode::NOT_FOUND,
            ConnectionError::InvitationUsed | ConnectionError::InvitationExpired => {
                StatusCode::GONE
            }
            ConnectionError::NotActive => StatusCode::CONFLICT,
            ConnectionError::Peer(PeerError::Remote { status, .. })
                if (400..500).contains(status) =>
            {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ConnectionError::Peer(PeerError::NotAllowed(_)) => StatusCode::BAD_REQUEST,
            ConnectionError::Peer(_) | ConnectionError::Jira(_) => StatusCode::BAD_GATEWAY,
            ConnectionError::Db(_) | ConnectionError::Crypto(_) | ConnectionError::Tenant(_) => {
                return ApiError::internal("connections failed", &e)
            }
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<crate::sync::SyncError> for ApiError {
    fn from(e: crate::sync::SyncError) -> Self {
        use crate::sync::SyncError as S;
        let (status, code) = match &e {
            S::NoConnection => (StatusCode::NOT_FOUND, "connection_not_found"),
            S::IssueNotInConnection(_) => (StatusCode::NOT_FOUND, "issue_not_found"),
            // Jira asked us to slow down: not a failure, the sender asks again later.
            S::Jira(crate::jira::JiraError::RateLimited(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "jira_rate_limited")
            }
            S::Jira(_) => (StatusCode::BAD_GATEWAY, "jira_unavailable"),
            S::Peer(_) => (StatusCode::BAD_GATEWAY, "peer_unreachable"),
            S::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_sync_message"),
            S::InvalidRichText(_) => (StatusCode::BAD_REQUEST, "invalid_adf"),
            S::InProgress => (StatusCode::CONFLICT, "in_progress"),
            S::TwinDeleted(_) => (StatusCode::GONE, "twin_deleted"),
            S::Db(_) | S::Crypto(_) | S::Tenant(_) => return ApiError::internal("sync failed", &e),
        };
        ApiError::new(status, code, e.to_string())
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/settings", web::get().to(settings))
        .route("/api/projects", web::get().to(projects))
        .route("/api/connections", web::get().to(list))
        .route("/api/connections", web::post().to(initiate))
        .route("/api/connections/discover", web::post().to(discover))
        .route("/api/connections/{id}/activate", web::post().to(activate))
        .route(
            "/api/connections/{id}/deactivate",
            web::post().to(deactivate),
        )
        .route("/api/connections/{id}", web::delete().to(delete))
        .route(
            "/api/connections/{id}/first-sync",
            web::post().to(first_sync),
        )
        .route("/api/issues/{key}/status", web::get().to(issue_status))
        .route("/api/issues/{key}/exalate", web::post().to(exalate_issue))
        .route("/api/issues/{key}/retry", web::post().to(exalate_issue))
        .route(
            "/api/invitations/validate",
            web::post().to(validate_invitation),
        )
        .route("/api/invitations/accept", web::post().to(accept_invitation))
        .route(
            "/api/connect-requests/{code}",
            web::get().to(inspect_request),
        )
        .route(
            "/api/connect-requests/{code}/accept",
            web::post().to(accept_request),
        )
        .route("/api/sync/queue", web::get().to(sync_queue))
        .route("/api/sync/errors", web::get().to(sync_errors))
        .route("/api/sync/errors/{id}/retry", web::post().to(sync_retry))
        .route(
            "/api/sync/errors/{id}/resolve",
            web::post().to(sync_resolve),
        )
        .route("/peer/discover", web::get().to(peer_discover))
        .route("/peer/invitations/inspect", web::post().to(peer_inspect))
        .route("/peer/invitations/accept", web::post().to(peer_accept))
        .route(
            "/peer/connections/{uid}/issues/{issue}/attachments/{attachment}",
            web::get().to(peer_attachment),
        )
        .route("/peer/connections/{uid}/sync", web::post().to(peer_sync))
        .route(
            "/peer/connections/{uid}/status",
            web::post().to(peer_status),
        )
        .route("/e/{public_id}", web::get().to(exalate_url));
}

fn account(auth: &crate::connect::auth::Authenticated) -> Option<&str> {
    auth.claims.sub.as_deref()
}

async fn settings(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .require_admin(&auth.tenant, account(&auth))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "exalateUrl": state.connections.exalate_url(&auth.tenant),
        "nodeVersion": env!("CARGO_PKG_VERSION"),
    })))
}

#[derive(Deserialize)]
struct ProjectQuery {
    #[serde(default)]
    query: String,
}

async fn projects(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    q: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .require_admin(&auth.tenant, account(&auth))
        .await?;
    let client = state
        .jira
        .for_tenant(auth.tenant.clone())
        .map_err(ConnectionError::from)?;
    let query = connect_jwt::encode_rfc3986(q.query.trim());
    let page: crate::jira::types::PageBeanProject = client
        .get_json(&format!(
            "/rest/api/3/project/search?query={query}&maxResults=50&orderBy=name"
        ))
        .await
        .map_err(ConnectionError::from)?;
    let projects: Vec<_> = page
        .values
        .iter()
        .map(|p| json!({"id": p.id, "key": p.key, "name": p.name}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"projects": projects})))
}

async fn list(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
) -> Result<HttpResponse, ApiError> {
    let list = state.connections.list(&auth.tenant, account(&auth)).await?;
    Ok(HttpResponse::Ok().json(json!({"connections": list})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoverBody {
    destination_url: String,
}

async fn discover(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    body: web::Json<DiscoverBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .require_admin(&auth.tenant, account(&auth))
        .await?;
    let found = state
        .connections
        .discover(&auth.tenant, &body.destination_url)
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitiateBody {
    destination_url: Option<String>,
    #[serde(default = "basic")]
    mode: String,
    local_project_key: String,
    remote_project_key: Option<String>,
    #[serde(default)]
    admin_access: bool,
}

fn basic() -> String {
    "basic".into()
}

async fn initiate(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    body: web::Json<InitiateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let out = state
        .connections
        .initiate(
            &auth.tenant,
            account(&auth),
            InitiateRequest {
                destination_url: b.destination_url,
                mode: b.mode,
                local_project_key: b.local_project_key,
                remote_project_key: b.remote_project_key,
                admin_access: b.admin_access,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(out))
}

async fn activate(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .connections
        .set_active(&auth.tenant, account(&auth), &id, true)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"connection": c})))
}

async fn deactivate(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .connections
        .set_active(&auth.tenant, account(&auth), &id, false)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"connection": c})))
}

async fn delete(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .delete(&auth.tenant, account(&auth), &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirstSyncBody {
    issue_key: String,
}

async fn first_sync(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    id: web::Path<String>,
    body: web::Json<FirstSyncBody>,
) -> Result<HttpResponse, ApiError> {
    let out = state
        .connections
        .first_sync(&auth.tenant, account(&auth), &id, &body.issue_key)
        .await?;
    state.sync.start(&auth.tenant, &id, &body.issue_key).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The issue panel, for any user who can open the issue (no admin needed to see sync status).
async fn issue_status(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.connections.issue_status(&auth.tenant, &key).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExalateBody {
    connection_id: String,
}

/// The Exalate (and Retry) button of the issue panel: start or resend the sync of this issue.
async fn exalate_issue(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    key: web::Path<String>,
    body: web::Json<ExalateBody>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .sync
        .start(&auth.tenant, &body.connection_id, &key)
        .await?;
    Ok(HttpResponse::Accepted().json(json!({"status": row.status})))
}

fn inspected_json(found: &peer::InspectResponse) -> serde_json::Value {
    json!({
        "otherSideUrl": found.initiator.site_url,
        "otherSideName": found.initiator.site_name,
        "otherSideProject": found.initiator.project_key.as_ref().map(|k| json!({"key": k, "name": found.initiator.project_name})),
    })
}

async fn validate_invitation(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    body: web::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let found = state
        .connections
        .inspect(&auth.tenant, account(&auth), &body.code)
        .await?;
    Ok(HttpResponse::Ok().json(inspected_json(&found)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcceptBody {
    code: String,
    project_key: String,
}

async fn accept_invitation(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    body: web::Json<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .connections
        .accept(&auth.tenant, account(&auth), &body.code, &body.project_key)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"connection": c})))
}

/// The destination side of "Yes, I have admin access": the admin check comes first, before
/// anything about the request is revealed.
async fn inspect_request(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = state
        .connections
        .inspect(&auth.tenant, account(&auth), &code)
        .await?;
    Ok(HttpResponse::Ok().json(inspected_json(&found)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectBody {
    project_key: String,
}

async fn accept_request(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    code: web::Path<String>,
    body: web::Json<ProjectBody>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .connections
        .accept(&auth.tenant, account(&auth), &code, &body.project_key)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"connection": c})))
}

// ------------------------------------------------------------------ peer protocol

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoverQuery {
    site: Option<String>,
    public_id: Option<String>,
}

async fn peer_discover(
    state: web::Data<AppState>,
    q: web::Query<DiscoverQuery>,
) -> Result<HttpResponse, ApiError> {
    match state
        .connections
        .lookup_local_site(q.site.as_deref(), q.public_id.as_deref())
        .await?
    {
        Some(found) => Ok(HttpResponse::Ok().json(found)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_site",
            "Exalate is not installed on that site on this node.",
        )),
    }
}

async fn peer_inspect(
    state: web::Data<AppState>,
    body: web::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.connections.peer_inspect(&body.code).await?))
}

async fn peer_accept(
    state: web::Data<AppState>,
    body: web::Json<AcceptRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.connections.peer_accept(&body).await?))
}

/// Checks a signed peer request: HMAC over method, path, timestamp, nonce and body, inside the
/// time window, each nonce once.
async fn verify_peer(
    state: &AppState,
    req: &HttpRequest,
    uid: &str,
    body: &[u8],
) -> Result<(), ApiError> {
    let secret = known_peer(state, uid).await?;
    verify_peer_with(state, req, &secret, body).await
}

/// The secret of connection `uid`, or 401 for a connection this node does not have.
async fn known_peer(state: &AppState, uid: &str) -> Result<Vec<u8>, ApiError> {
    state.connections.peer_secret(uid).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "peer_signature",
            "Unknown connection.",
        )
    })
}

/// Checks a peer request's signature with its connection's secret, its time window and its nonce.
async fn verify_peer_with(
    state: &AppState,
    req: &HttpRequest,
    secret: &[u8],
    body: &[u8],
) -> Result<(), ApiError> {
    let refused = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "peer_signature", m.to_owned());
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let window = state.settings.peer.timestamp_window_secs;
    peer::verify(
        secret,
        &peer::Signed {
            method: req.method().as_str(),
            path: req.path(),
            timestamp: h(peer::H_TIMESTAMP),
            nonce: h(peer::H_NONCE),
            signature: h(peer::H_SIGNATURE),
            body,
        },
        chrono::Utc::now().timestamp(),
        window,
    )
    .map_err(|e| refused(&e.to_string()))?;
    peer::remember_nonce(
        &state.connections.db,
        h(peer::H_NONCE).unwrap_or(""),
        window,
    )
    .await
    .map_err(|e| refused(&e.to_string()))
}

async fn peer_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    uid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    verify_peer(&state, &req, &uid, &body).await?;
    let msg: StatusMessage = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request("malformed_json", "The body is not a status message.")
    })?;
    if !matches!(msg.status.as_str(), "active" | "deactivated" | "deleted") {
        return Err(ApiError::bad_request("invalid_status", "Unknown status."));
    }
    state.connections.peer_status(&uid, &msg.status).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A sync message from the other end: applied once, answered with the twin.
async fn peer_sync(
    state: web::Data<AppState>,
    req: HttpRequest,
    uid: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // A message carries the issue's comments, so it may be far larger than any other request;
    // the larger limit applies only to a connection that exists (its signature is checked next).
    let secret = known_peer(&state, &uid).await?;
    let body = payload
        .to_bytes_limited(state.settings.peer.max_message_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The sync message is larger than this node accepts (peer.max_message_bytes).",
            )
        })?
        .map_err(|e| ApiError::bad_request("malformed_body", e.to_string()))?;
    verify_peer_with(&state, &req, &secret, &body).await?;
    let msg: crate::sync::SyncMessage = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("malformed_json", "The body is not a sync message."))?;
    let raw = String::from_utf8_lossy(&body);
    let ack = state.sync.receive(&uid, msg, &raw).await?;
    Ok(HttpResponse::Ok().json(ack))
}

async fn sync_queue(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .require_admin(&auth.tenant, account(&auth))
        .await?;
    Ok(HttpResponse::Ok().json(state.sync.queue(&auth.tenant).await?))
}

async fn sync_errors(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .require_admin(&auth.tenant, account(&auth))
        .await?;
    Ok(HttpResponse::Ok().json(state.sync.errors(&auth.tenant).await?))
}

async fn sync_retry(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .require_admin(&auth.tenant, account(&auth))
        .await?;
    state.sync.retry(&auth.tenant, &id).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "in_progress"})))
}

async fn sync_resolve(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .connections
        .require_admin(&auth.tenant, account(&auth))
        .await?;
    state.sync.resolve(&auth.tenant, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Streams an attachment of a synced issue to the other end (signed GET), straight from Jira.
async fn peer_attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (uid, issue, attachment) = path.into_inner();
    verify_peer(&state, &req, &uid, b"").await?;
    let resp = state
        .sync
        .attachment_for_peer(&uid, &issue, &attachment)
        .await?;
    let mut out = HttpResponse::Ok();
    if let Some(ct) = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
    {
        out.content_type(ct.to_owned());
    }
    let len = resp.content_length();
    let stream = resp.bytes_stream();
    Ok(match len {
        Some(n) => out.body(actix_web::body::SizedStream::new(n, stream)),
        None => out.streaming(stream),
    })
}

/// An Exalate URL opened in a browser: what it is, and how to use it.
async fn exalate_url(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = state
        .connections
        .lookup_local_site(None, Some(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("There is no Exalate site at this address."))?;
    Ok(HttpResponse::Ok().json(json!({
        "exalateUrl": found.exalate_url,
        "siteUrl": found.site_url,
        "siteName": found.site_name,
        "message": "Enter this Exalate URL as the destination instance URL in Exalate → Connections → Initiate connection.",
    })))
}
