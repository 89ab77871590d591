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
    query: web::Query<std::collections::HashMap<String, String>>,
    JiraJwt(auth): JiraJwt,
) -> Result<HttpResponse, ApiError> {
    let (_, title) = PAGES
        .iter()
        .find(|(p, _)| *p == path.as_str())
        .ok_or_else(|| ApiError::not_found("There is no such Exalate page."))?;
    let token = session_token(&state, &auth)?;
    let meta = |name: &str, value: &str| {
        format!(r#"<meta name="{name}" content="{}">"#, escape_html(value))
    };
    let mut head = vec![
        meta("exalate-session", &token),
        meta("exalate-page", &path),
        meta("exalate-site", &auth.tenant.base_url),
        meta("exalate-base", state.settings.base_url()),
        format!(
            r#"<script src="{}" async></script>"#,
            escape_html(&state.settings.connect.all_js_url)
        ),
    ];
    if let Some(r) = query.get("ac.request") {
        head.push(meta("exalate-accept-request", r));
    }
    if let Some(k) = query.get("issueKey") {
        head.push(meta("exalate-issue-key", k));
    }
    let head = head.join("\n");
    let html = super::assets::shell(&head).unwrap_or_else(|| {
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Exalate — {title}</title>
{head}
<style>body{{margin:0;padding:24px;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;color:#172B4D;font-size:14px}}</style>
</head>
<body>
<h1>{title}</h1>
<p>The Exalate admin console was not built into this binary. Rebuild with Node.js available (without EXALATE_SKIP_FRONTEND_BUILD).</p>
</body>
</html>"#,
            title = escape_html(title),
        )
    });
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
