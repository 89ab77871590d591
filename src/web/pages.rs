//! Page shells for the descriptor's modules, shown in Jira's iframe. Each one is a Jira-signed GET;
//! it answers a small HTML document that carries a short-lived session token (context qsh) for the
//! frontend's API calls, and loads Connect's `all.js` bridge.

use super::error::ApiError;
use super::extractors::JiraJwt;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use connect_jwt::{Claims, CONTEXT_QSH};

/// (path under /pages/, title) of every module page.
pub const PAGES: &[(&str, &str)] = &[
    ("connections", "Connections"),
    ("admin/connections", "Connections"),
    ("admin/general-settings", "General Settings"),
    ("admin/sync-queue", "Sync Queue"),
    ("admin/errors", "Errors"),
    ("issue-glance", "Sync status"),
    ("accept", "Accept invitation"),
];

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A session token for the frontend: signed with the tenant's secret, bound to the user, usable
/// only on context-qsh endpoints, valid for `session_ttl_secs`.
pub fn session_token(
    state: &AppState,
    auth: &crate::connect::auth::Authenticated,
) -> Result<String, ApiError> {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: auth.tenant.client_key.clone(),
        sub: auth.claims.sub.clone(),
        iat: Some(now),
        exp: Some(now + state.settings.connect.session_ttl_secs),
        qsh: Some(CONTEXT_QSH.to_owned()),
        context: auth.claims.context.clone(),
        ..Claims::default()
    };
    connect_jwt::mint_hs256(&claims, auth.tenant.shared_secret.expose())
        .map_err(|e| ApiError::internal("could not mint a session token", &e))
}

pub async fn page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    JiraJwt(auth): JiraJwt,
) -> Result<HttpResponse, ApiError> {
    let (_, title) = PAGES
        .iter()
        .find(|(p, _)| *p == path.as_str())
        .ok_or_else(|| ApiError::not_found("There is no such Exalate page."))?;
    let token = session_token(&state, &auth)?;
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="exalate-session" content="{token}">
<meta name="exalate-page" content="{page}">
<meta name="exalate-site" content="{site}">
<title>Exalate — {title}</title>
<script src="{all_js}" async></script>
<style>body{{margin:0;padding:24px;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;color:#172B4D;font-size:14px}}h1{{font-size:24px;font-weight:500;margin:0 0 16px}}</style>
</head>
<body>
<h1>{title}</h1>
<p>Exalate is installed on {site}.</p>
</body>
</html>"#,
        token = escape_html(&token),
        page = escape_html(&path),
        site = escape_html(&auth.tenant.base_url),
        title = escape_html(title),
        all_js = escape_html(&state.settings.connect.all_js_url),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page carries a token: never cache it anywhere.
        .insert_header(("Cache-Control", "no-store"))
        .body(html))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
