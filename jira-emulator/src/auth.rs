//! Who is calling: an app (Connect JWT, verified like Jira verifies it), a person (basic auth with
//! email and API token, or the browser session cookie), or nobody.

use crate::error::JiraApiError;
use crate::site::{Principal, Site};
use actix_web::HttpRequest;
use base64::Engine;

pub const SESSION_COOKIE: &str = "emulator.session";

/// Cookies are shared by every port of 127.0.0.1: one name per site keeps sessions apart.
pub fn session_cookie_name(site: &Site) -> String {
    format!("{SESSION_COOKIE}.{}", site.name)
}

/// `Ok(None)`: anonymous. `Err`: credentials were sent but are wrong (Jira answers 401).
pub fn authenticate(req: &HttpRequest, site: &Site) -> Result<Option<Principal>, JiraApiError> {
    let authorization = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok());
    if let Some(basic) = authorization.and_then(|h| h.strip_prefix("Basic ")) {
        return basic_user(site, basic)
            .map(Some)
            .ok_or_else(JiraApiError::unauthorized);
    }
    if let Some(token) = connect_jwt::token_from_request(authorization, req.query_string()) {
        return app_principal(req, site, &token).map(Some);
    }
    if let Some(c) = req.cookie(&session_cookie_name(site)) {
        if let Some(account_id) = site.sessions.lock().expect("sessions").get(c.value()) {
            return Ok(Some(Principal::User {
                account_id: account_id.clone(),
            }));
        }
    }
    Ok(None)
}

pub fn basic_user(site: &Site, b64: &str) -> Option<Principal> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (email, token) = raw.split_once(':')?;
    let d = site.lock();
    d.users
        .iter()
        .find(|u| {
            u.email_address.as_deref() == Some(email) && u.api_token.as_deref() == Some(token)
        })
        .map(|u| Principal::User {
            account_id: u.account_id.clone(),
        })
}

/// Verifies an app's request token: HS256 with the install's shared secret, `iss` = app key,
/// qsh of exactly this request, not expired.
fn app_principal(req: &HttpRequest, site: &Site, raw: &str) -> Result<Principal, JiraApiError> {
    let token = connect_jwt::decode_unverified(raw).map_err(|_| JiraApiError::unauthorized())?;
    let inst = {
        let d = site.lock();
        d.installation(&token.claims.iss)
            .filter(|i| i.installed && i.enabled)
            .cloned()
            .ok_or_else(JiraApiError::unauthorized)?
    };
    token
        .verify_hs256(inst.shared_secret.as_bytes())
        .map_err(|_| JiraApiError::unauthorized())?;
    let qsh = connect_jwt::query_string_hash(&connect_jwt::canonical_request(
        req.method().as_str(),
        req.uri().path(),
        req.query_string(),
        "",
    ));
    token
        .validate(&connect_jwt::Validation {
            now: chrono::Utc::now().timestamp(),
            leeway: 30,
            qsh: Some(connect_jwt::QshRule::Exact(&qsh)),
            audience: None,
        })
        .map_err(|e| {
            tracing::debug!(error = %e, path = req.path(), "app token refused");
            JiraApiError::unauthorized()
        })?;
    Ok(Principal::App {
        app_key: inst.app_key,
        account_id: inst.app_account_id,
        scopes: inst.scopes,
    })
}

/// Connect scopes are hierarchical: ADMIN ⊃ PROJECT_ADMIN ⊃ DELETE ⊃ WRITE ⊃ READ.
pub fn scope_allows(scopes: &[String], method: &str) -> bool {
    let rank = |s: &str| match s.to_ascii_uppercase().as_str() {
        "READ" => 1,
        "WRITE" => 2,
        "DELETE" => 3,
        "PROJECT_ADMIN" => 4,
        "ADMIN" => 5,
        _ => 0,
    };
    let have = scopes.iter().map(|s| rank(s)).max().unwrap_or(0);
    let need = match method {
        "GET" | "HEAD" | "OPTIONS" => 1,
        "DELETE" => 3,
        _ => 2,
    };
    have >= need
}

pub fn is_admin(site: &Site, p: &Principal) -> bool {
    match p {
        Principal::User { account_id } => site.lock().user(account_id).is_some_and(|u| u.admin),
        Principal::App { scopes, .. } => scopes.iter().any(|s| s.eq_ignore_ascii_case("ADMIN")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scope_hierarchy() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(super::scope_allows(&s(&["READ"]), "GET"));
        assert!(!super::scope_allows(&s(&["READ"]), "POST"));
        assert!(super::scope_allows(&s(&["WRITE"]), "PUT"));
        assert!(!super::scope_allows(&s(&["WRITE"]), "DELETE"));
        assert!(super::scope_allows(&s(&["ADMIN"]), "DELETE"));
    }
}
