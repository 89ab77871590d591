//! The HTTP surface: thin handlers that extract, call a domain function, and map the result.

use super::error::ApiError;
use super::extractors::{ContextJwt, JiraJwt};
use super::pages;
use crate::connect::auth::RequestParts;
use crate::connect::lifecycle::LifecyclePayload;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health_check", web::get().to(health_check))
        .route("/atlassian-connect.json", web::get().to(descriptor))
        .route("/static/exalate-icon.svg", web::get().to(icon))
        .route("/assets/app/{path:.*}", web::get().to(super::assets::asset))
        .route("/lifecycle/installed", web::post().to(installed))
        .route("/lifecycle/uninstalled", web::post().to(uninstalled))
        .route("/lifecycle/enabled", web::post().to(enabled))
        .route("/lifecycle/disabled", web::post().to(disabled))
        .route("/webhooks/jira", web::post().to(webhook))
        .route("/api/whoami", web::get().to(whoami))
        .route("/pages/{page:.*}", web::get().to(pages::page))
        .configure(super::api::configure)
        .configure(super::peer_api::configure);
}

async fn health_check() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn descriptor(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.descriptor.bytes.clone())
}

async fn icon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(include_str!("../../static/exalate-icon.svg"))
}

fn parts(req: &HttpRequest) -> RequestParts<'_> {
    RequestParts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.query_string(),
        authorization: req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok()),
    }
}

async fn installed(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LifecyclePayload>,
) -> Result<HttpResponse, ApiError> {
    state
        .lifecycle()
        .installed(parts(&req), body.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn uninstalled(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LifecyclePayload>,
) -> Result<HttpResponse, ApiError> {
    state
        .lifecycle()
        .uninstalled(parts(&req), body.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn enabled(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LifecyclePayload>,
) -> Result<HttpResponse, ApiError> {
    state
        .lifecycle()
        .toggled(parts(&req), body.into_inner(), true)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn disabled(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LifecyclePayload>,
) -> Result<HttpResponse, ApiError> {
    state
        .lifecycle()
        .toggled(parts(&req), body.into_inner(), false)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Webhooks are hints: the sync engine fetches the current issue itself before acting. A failure
/// answers 500 so Jira delivers the webhook again.
async fn webhook(
    state: web::Data<AppState>,
    JiraJwt(auth): JiraJwt,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let event = body
        .get("webhookEvent")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_webhook", "The webhook has no webhookEvent.")
        })?;
    tracing::debug!(client_key = %auth.tenant.client_key, event, "webhook received");
    state.sync.on_webhook(&auth.tenant, &body).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the frontend is acting for. Called with the page's session token or `AP.context.getToken()`.
async fn whoami(state: web::Data<AppState>, ContextJwt(auth): ContextJwt) -> HttpResponse {
    let is_admin = state
        .connections
        .require_admin(&auth.tenant, auth.claims.sub.as_deref())
        .await
        .is_ok();
    HttpResponse::Ok().json(json!({
        "clientKey": auth.tenant.client_key,
        "baseUrl": auth.tenant.base_url,
        "accountId": auth.claims.sub,
        "isAdmin": is_admin,
    }))
}
