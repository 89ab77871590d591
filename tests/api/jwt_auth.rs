//! Incoming JWT on pages, webhooks and frontend API calls: valid tokens pass, every forged or
//! misdirected variant is a 401 with a reason code — never a 500.

use crate::helpers::*;
use connect_jwt::{Claims, CONTEXT_QSH};
use serde_json::json;

fn claims_for(app: &TestApp, t: &TestTenant, method: &str, path_and_query: &str) -> Claims {
    connect_jwt::request_claims(
        &t.client_key,
        method,
        &format!("{}{path_and_query}", app.base_url),
        &app.base_url,
        now(),
        180,
    )
}

#[tokio::test]
async fn module_page_accepts_header_and_query_tokens() {
    let app = spawn_app().await;
    let t = app.install().await;
    let path = "/pages/issue-glance?issueId=10001&issueKey=TEST-1&projectKey=TEST";
    let token = app.jira_token(&t, "GET", path);

    let resp = app.get(path, Some(&format!("JWT {token}"))).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"<meta name="exalate-page" content="issue-glance">"#));
    assert!(html.contains(r#"<meta name="exalate-issue-key" content="TEST-1">"#));
    assert!(html.contains(r#"<meta name="exalate-session" content=""#));
    assert!(html.contains("connect-cdn.atl-paas.net/all.js"));

    // Jira puts the token in the iframe URL.
    let resp = app.get(&format!("{path}&jwt={token}"), None).await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn awkward_query_strings_verify() {
    let app = spawn_app().await;
    let t = app.install().await;
    for path in [
        "/pages/admin/connections?xdm_e=https%3A%2F%2Fx.atlassian.net&xdm_c=channel-1&cp=&lic=none&cv=1001.0.0",
        "/pages/admin/connections?q=a+b&q=%2B&tilde=~&star=*&empty=&u=%E5%AE%AE%20%F0%9F%98%80",
        "/pages/admin/connections/?a=1",
        "/pages/admin/connections?ac.custom=%26%3D%3F",
    ] {
        let token = app.jira_token(&t, "GET", path);
        let resp = app.get(path, Some(&format!("JWT {token}"))).await;
        assert_eq!(resp.status().as_u16(), 200, "{path}");
    }
}

#[tokio::test]
async fn forged_and_misdirected_tokens_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let t = app.install().await;
    let other = app.install().await;
    let path = "/pages/admin/connections";
    let check = |token: String, code: &'static str| {
        let app = &app;
        async move {
            let resp = app.get(path, Some(&format!("JWT {token}"))).await;
            assert_eq!(
                error_code(resp).await,
                (401, code.to_owned()),
                "expected {code}"
            );
        }
    };

    // Signed with another tenant's secret (cross-tenant).
    check(
        app.sign_claims(&claims_for(&app, &t, "GET", path), &other.secret),
        "jwt_signature",
    )
    .await;
    // Expired past the 30 s leeway; a token 10 s past expiry is still fine.
    let mut c = claims_for(&app, &t, "GET", path);
    c.exp = Some(now() - 60);
    check(app.sign_claims(&c, &t.secret), "jwt_expired").await;
    c.exp = Some(now() - 10);
    let ok = app
        .get(
            path,
            Some(&format!("JWT {}", app.sign_claims(&c, &t.secret))),
        )
        .await;
    assert_eq!(ok.status().as_u16(), 200, "within leeway");
    // No exp.
    let mut c = claims_for(&app, &t, "GET", path);
    c.exp = None;
    check(app.sign_claims(&c, &t.secret), "jwt_missing_exp").await;
    // Not before in the future.
    let mut c = claims_for(&app, &t, "GET", path);
    c.nbf = Some(now() + 600);
    check(app.sign_claims(&c, &t.secret), "jwt_not_yet_valid").await;
    // Token for another page.
    check(
        app.jira_token(&t, "GET", "/pages/admin/errors"),
        "jwt_qsh_mismatch",
    )
    .await;
    // Token for the same page with other query parameters.
    check(
        app.jira_token(&t, "GET", &format!("{path}?admin=true")),
        "jwt_qsh_mismatch",
    )
    .await;
    // POST token on GET.
    check(app.jira_token(&t, "POST", path), "jwt_qsh_mismatch").await;
    // No qsh.
    let mut c = claims_for(&app, &t, "GET", path);
    c.qsh = None;
    check(app.sign_claims(&c, &t.secret), "jwt_missing_qsh").await;
    // context-qsh on a Jira-signed page.
    let mut c = claims_for(&app, &t, "GET", path);
    c.qsh = Some(CONTEXT_QSH.into());
    check(app.sign_claims(&c, &t.secret), "jwt_qsh_mismatch").await;
    // Unknown issuer.
    let stranger = app.new_tenant();
    check(app.jira_token(&stranger, "GET", path), "tenant_unknown").await;
    // alg none and RS256 (algorithm confusion).
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let body = b64(&serde_json::to_vec(&claims_for(&app, &t, "GET", path)).unwrap());
    check(
        format!("{}.{body}.", b64(br#"{"alg":"none"}"#)),
        "jwt_algorithm",
    )
    .await;
    check(
        format!("{}.{body}.c2ln", b64(br#"{"alg":"RS256"}"#)),
        "jwt_algorithm",
    )
    .await;
    check(
        format!("{}.{body}.c2ln", b64(br#"{"alg":"HS512"}"#)),
        "jwt_algorithm",
    )
    .await;
    // Malformed.
    for garbage in [
        "",
        "abc",
        "a.b.c",
        "...",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "a.b.c.d",
        "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOjF9.c2ln",
    ] {
        let resp = app.get(path, Some(&format!("JWT {garbage}"))).await;
        assert_eq!(resp.status().as_u16(), 401, "{garbage:?}");
    }
    // No token; a Bearer header is not a Connect token.
    let resp = app.get(path, None).await;
    assert_eq!(error_code(resp).await, (401, "jwt_missing".into()));
    let resp = app.get(path, Some("Bearer abc")).await;
    assert_eq!(error_code(resp).await, (401, "jwt_missing".into()));
}

#[tokio::test]
async fn random_tokens_never_cause_a_server_error() {
    let app = spawn_app().await;
    let t = app.install().await;
    let good = app.jira_token(&t, "GET", "/pages/connections");
    let mut rng_state = 0x2545_f491_u64;
    for i in 0..300 {
        // Mutate one byte of a valid token, or truncate it.
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let mut bytes = good.clone().into_bytes();
        let pos = (rng_state as usize) % bytes.len();
        if i % 3 == 0 {
            bytes.truncate(pos);
        } else {
            bytes[pos] = b"ABCxyz019-_.%~"[(rng_state >> 32) as usize % 14];
        }
        let token = String::from_utf8(bytes).unwrap();
        if token == good {
            continue;
        }
        let resp = app
            .get(&format!("/pages/connections?jwt={token}"), None)
            .await;
        let status = resp.status().as_u16();
        assert!(status == 401 || status == 200, "{token}: {status}");
    }
}

#[tokio::test]
async fn session_token_works_for_the_frontend_api_only() {
    let app = spawn_app().await;
    let t = app.install().await;
    let page = "/pages/admin/connections";
    let html = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await
        .text()
        .await
        .unwrap();
    let session = html
        .split(r#"<meta name="exalate-session" content=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("session token in page")
        .to_owned();

    let resp = app
        .get("/api/whoami", Some(&format!("JWT {session}")))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let me: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(me["clientKey"], t.client_key);
    assert_eq!(me["accountId"], "557058:admin-account");

    // A context token is not a Jira-signed page request.
    let resp = app.get(page, Some(&format!("JWT {session}"))).await;
    assert_eq!(error_code(resp).await, (401, "jwt_qsh_mismatch".into()));

    // AP.context.getToken() tokens from Jira are accepted on the API too.
    let mut c = claims_for(&app, &t, "GET", "/api/whoami");
    c.qsh = Some(CONTEXT_QSH.into());
    let resp = app
        .get(
            "/api/whoami",
            Some(&format!("JWT {}", app.sign_claims(&c, &t.secret))),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn webhooks_are_authenticated_and_validated() {
    let app = spawn_app().await;
    let t = app.install().await;
    let url = format!("{}/webhooks/jira", app.address);
    let token = app.jira_token(&t, "POST", "/webhooks/jira");
    let event = json!({"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "key": "TEST-1"}});

    let resp = app
        .http
        .post(&url)
        .header("Authorization", format!("JWT {token}"))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);

    let resp = app.http.post(&url).json(&event).send().await.unwrap();
    assert_eq!(error_code(resp).await, (401, "jwt_missing".into()));

    let get_token = app.jira_token(&t, "GET", "/webhooks/jira");
    let resp = app
        .http
        .post(&url)
        .header("Authorization", format!("JWT {get_token}"))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (401, "jwt_qsh_mismatch".into()));

    let resp = app
        .http
        .post(&url)
        .header("Authorization", format!("JWT {token}"))
        .header("Content-Type", "application/json")
        .body("{\"webhookEvent\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (400, "malformed_json".into()));

    let resp = app
        .http
        .post(&url)
        .header("Authorization", format!("JWT {token}"))
        .json(&json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (400, "invalid_webhook".into()));
}

#[tokio::test]
async fn base_url_with_a_path_is_honoured() {
    // Behind a reverse proxy at /exalate: Jira signs paths relative to that base path.
    let app = spawn_app_with(|s| {
        s.server.base_url = format!("{}/exalate", s.server.base_url);
    })
    .await;
    let d: serde_json::Value = app
        .get("/atlassian-connect.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(d["baseUrl"].as_str().unwrap().ends_with("/exalate"));
    // The proxy strips /exalate; install (aud and qsh with the base path) and pages still verify.
    let t = app.install().await;
    let token = app.jira_token(&t, "GET", "/pages/admin/errors?x=1");
    let resp = app
        .get("/pages/admin/errors?x=1", Some(&format!("JWT {token}")))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn authenticated_requests_are_served_from_the_tenant_cache() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let t = app.install().await;
    let page = "/pages/connections";
    let resp = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    // With the table out of the way, only the in-memory cache can answer: the hot path reads no
    // database. (Renamed rather than dropped: foreign keys point at it on PostgreSQL.)
    app.db
        .execute_unprepared("ALTER TABLE tenants RENAME TO tenants_moved_away")
        .await
        .unwrap();
    for _ in 0..20 {
        let resp = app
            .get(
                page,
                Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
            )
            .await;
        assert_eq!(resp.status().as_u16(), 200);
    }
}
