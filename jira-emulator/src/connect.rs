//! Connect as Jira does it: the UPM install API (token from `GET /rest/plugins/1.0/`, then `POST`
//! with the descriptor URL), signed lifecycle callbacks (RS256 with a `kid` for
//! installed/uninstalled, HS256 for enabled/disabled), and the public install keys.

use crate::auth;
use crate::error::{ApiResult, JiraApiError};
use crate::model::{Installation, User};
use crate::site::{Principal, Site};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub const INSTALL_KID: &str = "jira-emulator-install-key-1";
const PRIVATE_KEY: &[u8] = include_bytes!("../keys/install-key.pem");
pub const PUBLIC_KEY: &[u8] = include_bytes!("../keys/install-key.pub.pem");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/rest/plugins/1.0/", web::get().to(upm_list))
        .route("/rest/plugins/1.0/", web::post().to(upm_install))
        .route("/rest/plugins/1.0/pending/{id}", web::get().to(upm_pending))
        .route("/rest/plugins/1.0/{key}", web::get().to(upm_get))
        .route("/rest/plugins/1.0/{key}", web::put().to(upm_toggle))
        .route("/rest/plugins/1.0/{key}", web::delete().to(upm_uninstall))
        .route("/_emulator/install-keys/{kid}", web::get().to(install_key));
}

async fn install_key(path: web::Path<String>) -> HttpResponse {
    if path.as_str() == INSTALL_KID {
        HttpResponse::Ok()
            .content_type("text/plain")
            .body(PUBLIC_KEY)
    } else {
        HttpResponse::NotFound().body("no such key")
    }
}

/// UPM calls need a site administrator (basic auth or the browser session).
fn upm_admin(req: &HttpRequest, site: &Site) -> ApiResult<Principal> {
    match auth::authenticate(req, site)? {
        Some(p @ Principal::User { .. }) if auth::is_admin(site, &p) => Ok(p),
        Some(_) => Err(JiraApiError::forbidden(
            "You must be a site administrator to manage apps.",
        )),
        None => Err(JiraApiError::unauthorized()),
    }
}

fn plugin_json(i: &Installation) -> Value {
    json!({
        "key": format!("{}", i.app_key),
        "name": i.descriptor["name"].as_str().unwrap_or(&i.app_key),
        "enabled": i.enabled,
        "userInstalled": true,
        "version": "1.0.0",
        "links": {"self": format!("/rest/plugins/1.0/{}-key", i.app_key)},
    })
}

async fn upm_list(site: web::Data<Site>, req: HttpRequest) -> ApiResult<HttpResponse> {
    upm_admin(&req, &site)?;
    let token = uuid::Uuid::new_v4().to_string();
    site.upm_tokens
        .lock()
        .expect("upm tokens")
        .push(token.clone());
    let d = site.lock();
    let plugins: Vec<Value> = d
        .installations
        .iter()
        .filter(|i| i.installed)
        .map(plugin_json)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("upm-token", token))
        .content_type("application/vnd.atl.plugins.installed+json")
        .json(json!({"plugins": plugins, "links": {"self": "/rest/plugins/1.0/"}})))
}

fn app_key_of(path: &str) -> &str {
    path.strip_suffix("-key").unwrap_or(path)
}

async fn upm_get(
    site: web::Data<Site>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    upm_admin(&req, &site)?;
    let d = site.lock();
    let i = d
        .installation(app_key_of(&path))
        .filter(|i| i.installed)
        .ok_or_else(|| JiraApiError::not_found("The plugin is not installed."))?;
    Ok(HttpResponse::Ok().json(plugin_json(i)))
}

async fn upm_pending(path: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"id": path.as_str(), "status": {"done": true}}))
}

async fn upm_install(
    site: web::Data<Site>,
    req: HttpRequest,
    query: web::Query<std::collections::HashMap<String, String>>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    upm_admin(&req, &site)?;
    let token = query.get("token").cloned().unwrap_or_default();
    {
        let mut tokens = site.upm_tokens.lock().expect("upm tokens");
        let Some(pos) = tokens.iter().position(|t| *t == token) else {
            return Err(JiraApiError::forbidden(
                "Invalid or missing upm-token: GET /rest/plugins/1.0/ first.",
            ));
        };
        tokens.remove(pos);
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|_| JiraApiError::bad_request("Expected {\"pluginUri\": ...}"))?;
    let uri = v
        .get("pluginUri")
        .and_then(Value::as_str)
        .ok_or_else(|| JiraApiError::bad_request("pluginUri is required"))?;
    let app_key = install(&site, uri).await?;
    Ok(HttpResponse::Accepted().json(json!({
        "type": "INSTALL", "pingAfter": 100, "status": {"done": true, "plugin": {"key": app_key}},
        "links": {"self": format!("/rest/plugins/1.0/pending/{}", uuid::Uuid::new_v4())}
    })))
}

fn lifecycle_url(inst_base: &str, descriptor: &Value, hook: &str) -> Option<String> {
    descriptor["lifecycle"][hook]
        .as_str()
        .map(|p| format!("{}{}", inst_base.trim_end_matches('/'), p))
}

fn lifecycle_body(site: &Site, i: &Installation, event: &str) -> Value {
    let base = site.base_url();
    json!({
        "key": i.app_key, "clientKey": i.client_key, "sharedSecret": i.shared_secret,
        "serverVersion": "100275", "pluginsVersion": "1001.0.0-SNAPSHOT",
        "baseUrl": base, "displayUrl": base, "productType": "jira",
        "description": format!("Atlassian JIRA at {base}"), "eventType": event,
    })
}

/// Fetches the descriptor, creates or refreshes the installation with a new shared secret, and
/// calls the app's `installed` hook; the install only counts when the app answers 2xx.
pub async fn install(site: &Site, descriptor_url: &str) -> ApiResult<String> {
    let descriptor: Value = site
        .http
        .get(descriptor_url)
        .send()
        .await
        .map_err(|e| JiraApiError::bad_request(format!("Could not fetch the app descriptor: {e}")))?
        .error_for_status()
        .map_err(|e| JiraApiError::bad_request(format!("Could not fetch the app descriptor: {e}")))?
        .json()
        .await
        .map_err(|e| JiraApiError::bad_request(format!("The app descriptor is not JSON: {e}")))?;
    let app_key = descriptor["key"]
        .as_str()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| JiraApiError::bad_request("The descriptor has no key."))?
        .to_owned();
    let base_url = descriptor["baseUrl"]
        .as_str()
        .ok_or_else(|| JiraApiError::bad_request("The descriptor has no baseUrl."))?
        .trim_end_matches('/')
        .to_owned();
    if descriptor["authentication"]["type"]
        .as_str()
        .map(str::to_lowercase)
        .as_deref()
        != Some("jwt")
    {
        return Err(JiraApiError::bad_request(
            "Only apps with JWT authentication are supported.",
        ));
    }
    let installed_url = lifecycle_url(&base_url, &descriptor, "installed").ok_or_else(|| {
        JiraApiError::bad_request("The descriptor has no installed lifecycle URL.")
    })?;
    let scopes: Vec<String> = descriptor["scopes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_uppercase))
                .collect()
        })
        .unwrap_or_else(|| vec!["READ".into()]);
    let inst = {
        let mut d = site.lock();
        // clientKey and the app user stay the same across re-installs, like on Jira Cloud.
        let (client_key, app_account_id, properties) = match d.installation(&app_key) {
            Some(old) => (
                old.client_key.clone(),
                old.app_account_id.clone(),
                old.properties.clone(),
            ),
            None => (
                uuid::Uuid::new_v4().to_string(),
                format!("557058:{}", uuid::Uuid::new_v4()),
                Default::default(),
            ),
        };
        if d.user(&app_account_id).is_none() {
            d.users.push(User {
                account_id: app_account_id.clone(),
                email_address: None,
                display_name: descriptor["name"].as_str().unwrap_or(&app_key).to_owned(),
                api_token: None,
                admin: false,
                account_type: "app".into(),
            });
        }
        Installation {
            app_key: app_key.clone(),
            client_key,
            shared_secret: new_secret(),
            base_url: base_url.clone(),
            descriptor: descriptor.clone(),
            descriptor_url: descriptor_url.to_owned(),
            enabled: true,
            installed: true,
            app_account_id,
            scopes,
            properties,
        }
    };
    let body = lifecycle_body(site, &inst, "installed");
    call_signed(site, &inst, &installed_url, &body).await?;
    let mut d = site.lock();
    d.installations.retain(|i| i.app_key != app_key);
    d.installations.push(inst);
    site.persist(&d);
    tracing::info!(site = %site.name, app = %app_key, "app installed");
    Ok(app_key)
}

fn new_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::thread_rng().gen();
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// POSTs a lifecycle payload signed the way Atlassian signs installs (RS256, kid, aud = baseUrl).
async fn call_signed(site: &Site, inst: &Installation, url: &str, body: &Value) -> ApiResult<()> {
    let now = chrono::Utc::now().timestamp();
    let mut claims =
        connect_jwt::request_claims(&inst.client_key, "POST", url, &inst.base_url, now, 180);
    claims.aud = Some(connect_jwt::Audience::Many(vec![inst.base_url.clone()]));
    claims.sub = Some("connect-installer".into());
    let token = connect_jwt::mint_rs256(&claims, PRIVATE_KEY, INSTALL_KID)
        .map_err(|e| JiraApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    post_hook(site, url, &token, body).await
}

/// POSTs enabled/disabled, signed with the install's shared secret.
async fn call_hs256(site: &Site, inst: &Installation, url: &str, body: &Value) -> ApiResult<()> {
    let now = chrono::Utc::now().timestamp();
    let claims =
        connect_jwt::request_claims(&inst.client_key, "POST", url, &inst.base_url, now, 180);
    let token = connect_jwt::mint_hs256(&claims, inst.shared_secret.as_bytes())
        .map_err(|e| JiraApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    post_hook(site, url, &token, body).await
}

async fn post_hook(site: &Site, url: &str, token: &str, body: &Value) -> ApiResult<()> {
    let resp = site
        .http
        .post(url)
        .header("Authorization", format!("JWT {token}"))
        .json(body)
        .send()
        .await
        .map_err(|e| {
            JiraApiError::bad_request(format!(
                "The app's lifecycle URL {url} could not be reached: {e}"
            ))
        })?;
    if !resp.status().is_success() {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        return Err(JiraApiError::bad_request(format!(
            "The app refused the lifecycle call ({status}): {text}"
        )));
    }
    Ok(())
}

async fn upm_uninstall(
    site: web::Data<Site>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    upm_admin(&req, &site)?;
    uninstall(&site, app_key_of(&path)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn uninstall(site: &Site, app_key: &str) -> ApiResult<()> {
    let inst = site
        .lock()
        .installation(app_key)
        .filter(|i| i.installed)
        .cloned()
        .ok_or_else(|| JiraApiError::not_found("The plugin is not installed."))?;
    // Jira uninstalls even when the app does not answer; the call is best effort.
    if let Some(url) = lifecycle_url(&inst.base_url, &inst.descriptor, "uninstalled") {
        if let Err(e) = call_signed(
            site,
            &inst,
            &url,
            &lifecycle_body(site, &inst, "uninstalled"),
        )
        .await
        {
            tracing::warn!(app = %app_key, error = %e, "uninstalled hook failed");
        }
    }
    let mut d = site.lock();
    if let Some(i) = d.installations.iter_mut().find(|i| i.app_key == app_key) {
        i.installed = false;
        i.enabled = false;
    }
    site.persist(&d);
    Ok(())
}

async fn upm_toggle(
    site: web::Data<Site>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    upm_admin(&req, &site)?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|_| JiraApiError::bad_request("Expected {\"enabled\": true|false}"))?;
    let enabled = v
        .get("enabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| JiraApiError::bad_request("enabled is required"))?;
    let app_key = app_key_of(&path).to_owned();
    let inst = site
        .lock()
        .installation(&app_key)
        .filter(|i| i.installed)
        .cloned()
        .ok_or_else(|| JiraApiError::not_found("The plugin is not installed."))?;
    let hook = if enabled { "enabled" } else { "disabled" };
    if let Some(url) = lifecycle_url(&inst.base_url, &inst.descriptor, hook) {
        call_hs256(&site, &inst, &url, &lifecycle_body(&site, &inst, hook)).await?;
    }
    let mut d = site.lock();
    if let Some(i) = d.installations.iter_mut().find(|i| i.app_key == app_key) {
        i.enabled = enabled;
    }
    let out = d.installation(&app_key).map(plugin_json);
    site.persist(&d);
    Ok(HttpResponse::Ok().json(out))
}
