//! The Connect lifecycle as Jira drives it: signed installs create tenants, every forged variant is
//! refused with nothing stored, re-installs and uninstalls keep data, enabled/disabled toggle.

use crate::helpers::*;
use connect_jwt::{Audience, Claims};
use serde_json::json;
use std::time::{Duration, Instant};

async fn assert_refused(app: &TestApp, resp: reqwest::Response, status: u16, code: &str) {
    let (s, c) = error_code(resp).await;
    assert_eq!((s, c.as_str()), (status, code));
    assert_eq!(app.tenant_count().await, 0, "nothing may be stored");
}

#[tokio::test]
async fn signed_install_creates_a_tenant_with_its_secret_encrypted() {
    let app = spawn_app().await;
    let started = Instant::now();
    let t = app.install().await;
    // The hook never calls Jira back (the site URL does not even resolve here), so it is fast.
    assert!(started.elapsed() < Duration::from_secs(2));
    let row = app.tenant_row(&t.client_key).await.expect("tenant stored");
    assert_eq!(row.base_url, t.base_url);
    assert_eq!(row.state, "enabled");
    assert_eq!(row.product_type, "jira");
    assert!(!row.public_id.is_empty());
    assert!(
        !row.shared_secret_enc.contains(&t.secret),
        "secret must be encrypted at rest"
    );
    // The tenant is usable at once: a Jira-signed page request passes.
    let token = app.jira_token(&t, "GET", "/pages/admin/connections");
    let resp = app
        .get("/pages/admin/connections", Some(&format!("JWT {token}")))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn unsigned_and_forged_installs_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let t = app.new_tenant();
    let body = app.lifecycle_body(&t, "installed");
    let path = "/lifecycle/installed";

    // No token at all.
    let r = app.post_lifecycle(path, &body, None).await;
    assert_refused(&app, r, 401, "jwt_missing").await;

    // The pre-signed-install style: HS256 with the secret from the body itself.
    let hs = connect_jwt::mint_hs256(
        &app.install_claims(&t.client_key, path),
        t.secret.as_bytes(),
    )
    .unwrap();
    let r = app.post_lifecycle(path, &body, Some(&hs)).await;
    assert_refused(&app, r, 401, "jwt_signed_install").await;

    // Signed with another RSA key but claiming Atlassian's kid.
    let forged =
        connect_jwt::mint_rs256(&app.install_claims(&t.client_key, path), ATTACKER_KEY, KID)
            .unwrap();
    let r = app.post_lifecycle(path, &body, Some(&forged)).await;
    assert_refused(&app, r, 401, "jwt_signature").await;

    // A kid the key service does not know.
    let unknown = connect_jwt::mint_rs256(
        &app.install_claims(&t.client_key, path),
        PRIVATE_KEY,
        "no-such-kid",
    )
    .unwrap();
    let r = app.post_lifecycle(path, &body, Some(&unknown)).await;
    assert_refused(&app, r, 401, "jwt_key").await;

    // A kid that tries to escape the key URL.
    let sneaky = connect_jwt::mint_rs256(
        &app.install_claims(&t.client_key, path),
        PRIVATE_KEY,
        "../admin",
    )
    .unwrap();
    let r = app.post_lifecycle(path, &body, Some(&sneaky)).await;
    assert_refused(&app, r, 401, "jwt_key").await;

    // Wrong audience (a token minted for another app).
    let mut c = app.install_claims(&t.client_key, path);
    c.aud = Some(Audience::One("https://other-app.example.com".into()));
    let r = app
        .post_lifecycle(
            path,
            &body,
            Some(&connect_jwt::mint_rs256(&c, PRIVATE_KEY, KID).unwrap()),
        )
        .await;
    assert_refused(&app, r, 401, "jwt_audience").await;

    // No audience.
    let mut c = app.install_claims(&t.client_key, path);
    c.aud = None;
    let r = app
        .post_lifecycle(
            path,
            &body,
            Some(&connect_jwt::mint_rs256(&c, PRIVATE_KEY, KID).unwrap()),
        )
        .await;
    assert_refused(&app, r, 401, "jwt_audience").await;

    // Expired beyond the leeway.
    let mut c = app.install_claims(&t.client_key, path);
    c.exp = Some(now() - 120);
    let r = app
        .post_lifecycle(
            path,
            &body,
            Some(&connect_jwt::mint_rs256(&c, PRIVATE_KEY, KID).unwrap()),
        )
        .await;
    assert_refused(&app, r, 401, "jwt_expired").await;

    // No expiry.
    let mut c = app.install_claims(&t.client_key, path);
    c.exp = None;
    let r = app
        .post_lifecycle(
            path,
            &body,
            Some(&connect_jwt::mint_rs256(&c, PRIVATE_KEY, KID).unwrap()),
        )
        .await;
    assert_refused(&app, r, 401, "jwt_missing_exp").await;

    // qsh of another request (a token replayed from the uninstall hook).
    let c = app.install_claims(&t.client_key, "/lifecycle/uninstalled");
    let r = app
        .post_lifecycle(
            path,
            &body,
            Some(&connect_jwt::mint_rs256(&c, PRIVATE_KEY, KID).unwrap()),
        )
        .await;
    assert_refused(&app, r, 401, "jwt_qsh_mismatch").await;

    // A valid token for another clientKey used to install this one.
    let c = app.install_claims("someone-else", path);
    let r = app
        .post_lifecycle(
            path,
            &body,
            Some(&connect_jwt::mint_rs256(&c, PRIVATE_KEY, KID).unwrap()),
        )
        .await;
    assert_refused(&app, r, 401, "jwt_signed_install").await;

    // alg none.
    let none = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(&serde_json::to_vec(&app.install_claims(&t.client_key, path)).unwrap())
    );
    let r = app.post_lifecycle(path, &body, Some(&none)).await;
    assert_refused(&app, r, 401, "jwt_signed_install").await;

    // Garbage.
    let r = app.post_lifecycle(path, &body, Some("not.a.jwt")).await;
    assert_refused(&app, r, 401, "jwt_malformed").await;
}

fn base64url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn malformed_install_bodies_are_400_and_store_nothing() {
    let app = spawn_app().await;
    let t = app.new_tenant();
    let token = app.install_token(&t.client_key, "/lifecycle/installed");
    let url = format!("{}/lifecycle/installed", app.address);
    let send = |body: String| {
        app.http
            .post(&url)
            .header("Authorization", format!("JWT {token}"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let r = send("{not json".into()).await.unwrap();
    assert_refused(&app, r, 400, "malformed_json").await;
    let r = send(json!({"clientKey": t.client_key}).to_string())
        .await
        .unwrap();
    assert_refused(&app, r, 400, "malformed_json").await;

    let mut body = app.lifecycle_body(&t, "installed");
    body["key"] = json!("some.other.app");
    let r = send(body.to_string()).await.unwrap();
    assert_refused(&app, r, 400, "invalid_payload").await;

    let mut body = app.lifecycle_body(&t, "installed");
    body["sharedSecret"] = json!("short");
    let r = send(body.to_string()).await.unwrap();
    assert_refused(&app, r, 400, "invalid_payload").await;

    let mut body = app.lifecycle_body(&t, "installed");
    body["eventType"] = json!("uninstalled");
    let r = send(body.to_string()).await.unwrap();
    assert_refused(&app, r, 400, "invalid_payload").await;

    for hostile in [
        "http://169.254.169.254/latest",
        "https://evil.example.com",
        "file:///etc/passwd",
        "https://user:pw@x.atlassian.net",
    ] {
        let mut body = app.lifecycle_body(&t, "installed");
        body["baseUrl"] = json!(hostile);
        let r = send(body.to_string()).await.unwrap();
        assert_refused(&app, r, 400, "site_not_allowed").await;
    }

    // A huge body is refused before it is parsed.
    let mut body = app.lifecycle_body(&t, "installed");
    body["description"] = json!("x".repeat(2 * 1024 * 1024));
    let r = send(body.to_string()).await.unwrap();
    assert_refused(&app, r, 413, "body_too_large").await;
}

#[tokio::test]
async fn reinstall_changes_the_secret_only_when_properly_signed() {
    let app = spawn_app().await;
    let t = app.install().await;
    let public_id = app.tenant_row(&t.client_key).await.unwrap().public_id;
    let new = TestTenant {
        secret: format!("{}-rotated", t.secret),
        ..t.clone()
    };
    let body = app.lifecycle_body(&new, "installed");

    // An attacker who knows the clientKey tries to swap the secret.
    let forged = connect_jwt::mint_rs256(
        &app.install_claims(&t.client_key, "/lifecycle/installed"),
        ATTACKER_KEY,
        KID,
    )
    .unwrap();
    let r = app
        .post_lifecycle("/lifecycle/installed", &body, Some(&forged))
        .await;
    assert_eq!(r.status().as_u16(), 401);
    let page = "/pages/admin/general-settings";
    let old_ok = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await;
    assert_eq!(old_ok.status().as_u16(), 200, "old secret still valid");
    let new_refused = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&new, "GET", page))),
        )
        .await;
    assert_eq!(new_refused.status().as_u16(), 401);

    // Jira re-installs for real with a new secret.
    let r = app
        .post_lifecycle(
            "/lifecycle/installed",
            &body,
            Some(&app.install_token(&t.client_key, "/lifecycle/installed")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    let old = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await;
    assert_eq!(error_code(old).await, (401, "jwt_signature".into()));
    let newer = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&new, "GET", page))),
        )
        .await;
    assert_eq!(newer.status().as_u16(), 200);
    assert_eq!(app.tenant_count().await, 1);
    assert_eq!(
        app.tenant_row(&t.client_key).await.unwrap().public_id,
        public_id
    );
}

#[tokio::test]
async fn uninstall_keeps_data_and_reinstall_restores_it() {
    let app = spawn_app().await;
    let t = app.install().await;
    let before = app.tenant_row(&t.client_key).await.unwrap();
    let page = "/pages/admin/connections";

    // Unsigned uninstall: refused, the tenant keeps working.
    let body = app.lifecycle_body(&t, "uninstalled");
    let r = app
        .post_lifecycle("/lifecycle/uninstalled", &body, None)
        .await;
    assert_eq!(r.status().as_u16(), 401);
    let hs = app.jira_token(&t, "POST", "/lifecycle/uninstalled");
    let r = app
        .post_lifecycle("/lifecycle/uninstalled", &body, Some(&hs))
        .await;
    assert_eq!(
        r.status().as_u16(),
        401,
        "uninstall must be signed by Atlassian"
    );
    assert_eq!(
        app.tenant_row(&t.client_key).await.unwrap().state,
        "enabled"
    );

    let r = app
        .post_lifecycle(
            "/lifecycle/uninstalled",
            &body,
            Some(&app.install_token(&t.client_key, "/lifecycle/uninstalled")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    let row = app.tenant_row(&t.client_key).await.expect("data kept");
    assert_eq!(row.state, "uninstalled");
    assert!(row.uninstalled_at.is_some());
    let resp = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await;
    assert_eq!(error_code(resp).await, (401, "tenant_uninstalled".into()));

    // Re-install: same row, same public id, served again.
    let r = app
        .post_lifecycle(
            "/lifecycle/installed",
            &app.lifecycle_body(&t, "installed"),
            Some(&app.install_token(&t.client_key, "/lifecycle/installed")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    let after = app.tenant_row(&t.client_key).await.unwrap();
    assert_eq!(
        (after.id, after.public_id.as_str()),
        (before.id, before.public_id.as_str())
    );
    assert_eq!(after.state, "enabled");
    let resp = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn disabled_and_enabled_are_verified_with_the_shared_secret() {
    let app = spawn_app().await;
    let t = app.install().await;
    let page = "/pages/admin/connections";

    // Signed with a wrong secret: refused.
    let wrong = TestTenant {
        secret: "wrong-secret-0123456789".into(),
        ..t.clone()
    };
    let r = app
        .post_lifecycle(
            "/lifecycle/disabled",
            &app.lifecycle_body(&t, "disabled"),
            Some(&app.jira_token(&wrong, "POST", "/lifecycle/disabled")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        app.tenant_row(&t.client_key).await.unwrap().state,
        "enabled"
    );

    let r = app
        .post_lifecycle(
            "/lifecycle/disabled",
            &app.lifecycle_body(&t, "disabled"),
            Some(&app.jira_token(&t, "POST", "/lifecycle/disabled")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    let resp = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await;
    assert_eq!(error_code(resp).await, (403, "tenant_disabled".into()));

    let r = app
        .post_lifecycle(
            "/lifecycle/enabled",
            &app.lifecycle_body(&t, "enabled"),
            Some(&app.jira_token(&t, "POST", "/lifecycle/enabled")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 204);
    let resp = app
        .get(
            page,
            Some(&format!("JWT {}", app.jira_token(&t, "GET", page))),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn install_keys_are_fetched_once_and_cached() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.install().await;
    }
    let fetches = app
        .keys
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == format!("/{KID}"))
        .count();
    assert_eq!(fetches, 1);
    assert_eq!(app.tenant_count().await, 3);
}

#[tokio::test]
async fn a_lifecycle_token_for_another_hook_does_not_work() {
    let app = spawn_app().await;
    let t = app.install().await;
    // The enabled token replayed on disabled.
    let r = app
        .post_lifecycle(
            "/lifecycle/disabled",
            &app.lifecycle_body(&t, "disabled"),
            Some(&app.jira_token(&t, "POST", "/lifecycle/enabled")),
        )
        .await;
    assert_eq!(error_code(r).await, (401, "jwt_qsh_mismatch".into()));
    let _ = Claims::default();
}
