//! The admin console's API (`/api/*`, called by our frontend with a context token). Thin
//! handlers over `crate::connections` and `crate::sync`; the node-to-node protocol is in
//! `peer_api.rs`.

use super::error::ApiError;
use super::extractors::ContextJwt;
use crate::connections::peer::{self, CodeRequest};
use crate::connections::{ConnectionError, InitiateRequest};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
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
            ConnectionError::NotActive
            | ConnectionError::AlreadyAccepted
            | ConnectionError::UidClash => StatusCode::CONFLICT,
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
            S::MayNotEdit(_) => (StatusCode::FORBIDDEN, "issue_not_editable"),
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
            // Another sync of the same issue is taking long: the sender retries later.
            S::Lease(crate::sync::lease::LeaseError::Busy(..)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "issue_busy")
            }
            S::Lease(_) | S::Db(_) | S::Crypto(_) | S::Tenant(_) => {
                return ApiError::internal("sync failed", &e)
            }
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
        .route("/e/{public_id}", web::get().to(exalate_url));
}

fn account(auth: &crate::connect::auth::Authenticated) -> Option<&str> {
    auth.claims.sub.as_deref()
}

/// The signed-in person a request acts for; a token without one may not act on issues.
fn person(auth: &crate::connect::auth::Authenticated) -> Result<&str, ApiError> {
    account(auth).filter(|a| !a.is_empty()).ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "no_user",
            "Log in to Jira to sync issues.",
        )
    })
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
    state
        .sync
        .start(&auth.tenant, &id, &body.issue_key, account(&auth))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The issue panel, for any user who can open the issue (no admin needed to see sync status).
async fn issue_status(
    state: web::Data<AppState>,
    ContextJwt(auth): ContextJwt,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(
        state
            .connections
            .issue_status(&auth.tenant, account(&auth), &key)
            .await?,
    ))
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
        .start(
            &auth.tenant,
            &body.connection_id,
            &key,
            Some(person(&auth)?),
        )
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
    let source = format!("site:{}", auth.tenant.id);
    state.guesses.check(&source)?;
    let found = state
        .connections
        .inspect(&auth.tenant, account(&auth), &body.code)
        .await;
    state.guesses.record(&source, &found);
    Ok(HttpResponse::Ok().json(inspected_json(&found?)))
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
    let source = format!("site:{}", auth.tenant.id);
    state.guesses.check(&source)?;
    let found = state
        .connections
        .inspect(&auth.tenant, account(&auth), &code)
        .await;
    state.guesses.record(&source, &found);
    Ok(HttpResponse::Ok().json(inspected_json(&found?)))
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
