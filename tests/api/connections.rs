//! The Basic-mode connection flows against two emulated sites: "Yes, I have admin access" with the
//! admin check on the destination, the invitation code, a local connection, and every bad input.

use crate::helpers::*;
use jira_emulator::{Emulator, EmulatorConfig, SiteConfig};
use serde_json::{json, Value};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");
const USER: (&str, &str) = ("user@example.com", "user-token");
const APP: &str = "com.exalate.jiracloud";

pub struct World {
    pub emu: Emulator,
    pub app: TestApp,
    pub alpha: String,
    pub beta: String,
}

pub async fn world_with(
    customise: impl FnOnce(&mut exalate::configuration::Settings) + Send + 'static,
) -> World {
    let emu = Emulator::start(EmulatorConfig {
        sites: vec![
            SiteConfig {
                name: "alpha".into(),
                listen: "127.0.0.1:0".into(),
            },
            SiteConfig {
                name: "beta".into(),
                listen: "127.0.0.1:0".into(),
            },
        ],
        ..Default::default()
    })
    .await
    .unwrap();
    let alpha = emu.site("alpha").base_url.clone();
    let beta = emu.site("beta").base_url.clone();
    let keys = format!("{alpha}/_emulator/install-keys");
    let app = spawn_app_with(move |s| {
        s.connect.install_keys_url = keys;
        customise(s);
    })
    .await;
    for site in [&alpha, &beta] {
        let resp = app
            .http
            .get(format!("{site}/rest/plugins/1.0/"))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .send()
            .await
            .unwrap();
        let token = resp.headers()["upm-token"].to_str().unwrap().to_owned();
        let resp = app
            .http
            .post(format!("{site}/rest/plugins/1.0/?token={token}"))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .json(&json!({"pluginUri": format!("{}/atlassian-connect.json", app.address)}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 202);
    }
    World {
        emu,
        app,
        alpha,
        beta,
    }
}

pub async fn world() -> World {
    world_with(|_| {}).await
}

impl World {
    /// The token our frontend would get from `AP.context.getToken()` for this user on this site.
    pub async fn token(&self, site: &str, who: (&str, &str)) -> String {
        let v: Value = self
            .app
            .http
            .get(format!("{site}/_emulator/context-token?app={APP}"))
            .basic_auth(who.0, Some(who.1))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .app
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.app.address),
            )
            .header("Authorization", format!("JWT {token}"));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn list(&self, token: &str) -> Vec<Value> {
        let (s, v) = self.api("GET", "/api/connections", token, None).await;
        assert_eq!(s, 200, "{v}");
        v["connections"].as_array().unwrap().clone()
    }
}

fn code_of(redirect: &str) -> String {
    let url = url::Url::parse(redirect).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "ac.request")
        .map(|(_, v)| v.into_owned())
        .expect("ac.request")
}

#[tokio::test]
async fn yes_path_checks_admin_on_the_destination_then_connects() {
    let w = world().await;
    let alpha_admin = w.token(&w.alpha, ADMIN).await;
    let (s, d) = w
        .api(
            "POST",
            "/api/connections/discover",
            &alpha_admin,
            Some(json!({"destinationUrl": w.beta})),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["kind"], "remote");

    let (s, v) = w
        .api("POST", "/api/connections", &alpha_admin, Some(json!({"destinationUrl": w.beta, "mode": "basic", "localProjectKey": "TEST", "adminAccess": true})))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["connection"]["status"], "pending");
    let redirect = v["redirectUrl"].as_str().unwrap().to_owned();
    assert!(
        redirect.starts_with(&format!(
            "{}/plugins/servlet/ac/{APP}/exalate-accept?ac.request=",
            w.beta
        )),
        "{redirect}"
    );
    let code = code_of(&redirect);
    // The redirect target is a real page of the app on beta.
    let page = w
        .app
        .http
        .get(&redirect)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);

    // A non-admin on beta is refused before anything is shown, and nothing changes.
    let beta_user = w.token(&w.beta, USER).await;
    let (s, v) = w
        .api(
            "GET",
            &format!("/api/connect-requests/{code}"),
            &beta_user,
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("not_admin")),
        "{v}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Jira admin permission"));
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connect-requests/{code}/accept"),
            &beta_user,
            Some(json!({"projectKey": "SUP"})),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(w.list(&alpha_admin).await[0]["status"], "pending");

    // The admin of beta sees who asks, picks a project, confirms.
    let beta_admin = w.token(&w.beta, ADMIN).await;
    let (s, v) = w
        .api(
            "GET",
            &format!("/api/connect-requests/{code}"),
            &beta_admin,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["otherSideUrl"], w.alpha);
    let (s, v) = w
        .api(
            "POST",
            &format!("/api/connect-requests/{code}/accept"),
            &beta_admin,
            Some(json!({"projectKey": "NOPE"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("project_not_found"))
    );
    let (s, v) = w
        .api(
            "POST",
            &format!("/api/connect-requests/{code}/accept"),
            &beta_admin,
            Some(json!({"projectKey": "SUP"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connection"]["status"], "active");
    let uid = v["connection"]["id"].as_str().unwrap().to_owned();

    let a = &w.list(&alpha_admin).await[0];
    assert_eq!(a["status"], "active");
    assert_eq!(a["id"], uid);
    assert_eq!(a["otherSideUrl"], w.beta);
    assert_eq!(a["localProject"]["key"], "TEST");
    assert_eq!(a["remoteProject"]["key"], "SUP");
    let b = &w.list(&beta_admin).await[0];
    assert_eq!(
        (
            b["status"].as_str(),
            b["localProject"]["key"].as_str(),
            b["remoteProject"]["key"].as_str()
        ),
        (Some("active"), Some("SUP"), Some("TEST"))
    );

    // The same request cannot be used again (beta retrying is idempotent).
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connect-requests/{code}/accept"),
            &beta_admin,
            Some(json!({"projectKey": "SUP"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(w.list(&beta_admin).await.len(), 1, "no duplicate end");
    let (s, v) = w
        .api(
            "GET",
            &format!("/api/connect-requests/{code}"),
            &beta_admin,
            None,
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (410, Some("invitation_used"))
    );

    // First sync: the key must exist in the connection's project.
    let (s, v) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/first-sync"),
            &alpha_admin,
            Some(json!({"issueKey": "TEST-1"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("is being synchronized"));
    let (s, v) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/first-sync"),
            &alpha_admin,
            Some(json!({"issueKey": "TEST-999"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["message"].as_str()),
        (404, Some("Issue TEST-999 does not exist in Test (TEST)."))
    );

    // Deactivating on alpha is told to beta through a signed peer message.
    let (s, v) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/deactivate"),
            &alpha_admin,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["connection"]["status"], "deactivated");
    assert_eq!(w.list(&beta_admin).await[0]["status"], "deactivated");
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/activate"),
            &alpha_admin,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(w.list(&beta_admin).await[0]["status"], "active");
    // Cross-tenant: beta's token cannot delete alpha's end (it only sees its own).
    let (s, _) = w
        .api(
            "DELETE",
            &format!("/api/connections/{uid}"),
            &beta_admin,
            None,
        )
        .await;
    assert_eq!(s, 204, "beta deletes its own end");
    assert_eq!(w.list(&alpha_admin).await[0]["status"], "error");
    assert!(w.list(&beta_admin).await.is_empty());
    w.emu.stop().await;
}

#[tokio::test]
async fn invitation_code_path_is_single_use() {
    let w = world().await;
    let alpha_admin = w.token(&w.alpha, ADMIN).await;
    let beta_admin = w.token(&w.beta, ADMIN).await;
    // "I don't have a URL": straight to an invitation code.
    let (s, v) = w.api("POST", "/api/connections", &alpha_admin, Some(json!({"destinationUrl": null, "mode": "basic", "localProjectKey": "TEST", "adminAccess": false}))).await;
    assert_eq!(s, 201, "{v}");
    let code = v["invitationCode"].as_str().unwrap().to_owned();
    assert!(v.get("redirectUrl").is_none());
    // The code is stored only as a hash.
    use sea_orm::EntityTrait;
    let stored = exalate::entities::invitations::Entity::find()
        .all(&w.app.db)
        .await
        .unwrap();
    assert!(stored.iter().all(|i| !code.contains(&i.code_hash)));

    let (s, v) = w
        .api(
            "POST",
            "/api/invitations/validate",
            &beta_admin,
            Some(json!({"code": format!("  {code}\n")})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["otherSideUrl"], w.alpha);
    assert_eq!(v["otherSideProject"]["key"], "TEST");
    // alpha cannot accept its own invitation.
    let (s, v) = w
        .api(
            "POST",
            "/api/invitations/accept",
            &alpha_admin,
            Some(json!({"code": code, "projectKey": "SUP"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("own_invitation"))
    );
    let (s, v) = w
        .api(
            "POST",
            "/api/invitations/accept",
            &beta_admin,
            Some(json!({"code": code, "projectKey": "TEST"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(w.list(&alpha_admin).await[0]["status"], "active");
    // Used: nothing more happens.
    let (s, v) = w
        .api(
            "POST",
            "/api/invitations/validate",
            &beta_admin,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (410, Some("invitation_used"))
    );
    // Wrong and mangled codes.
    for bad in ["", "hello", "exa1.aGk.AAAA", &code.replace('a', "b")] {
        let (s, v) = w
            .api(
                "POST",
                "/api/invitations/validate",
                &beta_admin,
                Some(json!({"code": bad})),
            )
            .await;
        assert!(matches!(s, 400 | 410), "{bad}: {s} {v}");
    }
    assert_eq!(w.list(&beta_admin).await.len(), 1);
    w.emu.stop().await;
}

#[tokio::test]
async fn expired_invitations_are_refused() {
    let w = world_with(|s| s.connections.invitation_ttl_secs = -1).await;
    let alpha_admin = w.token(&w.alpha, ADMIN).await;
    let beta_admin = w.token(&w.beta, ADMIN).await;
    let (_, v) = w
        .api(
            "POST",
            "/api/connections",
            &alpha_admin,
            Some(
                json!({"destinationUrl": w.beta, "localProjectKey": "TEST", "adminAccess": false}),
            ),
        )
        .await;
    let code = v["invitationCode"].as_str().unwrap().to_owned();
    let (s, v) = w
        .api(
            "POST",
            "/api/invitations/accept",
            &beta_admin,
            Some(json!({"code": code, "projectKey": "SUP"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (410, Some("invitation_expired")),
        "{v}"
    );
    assert!(w.list(&beta_admin).await.is_empty());
    assert_eq!(w.list(&alpha_admin).await[0]["status"], "pending");
    w.emu.stop().await;
}

#[tokio::test]
async fn local_connection_between_two_projects_of_one_site() {
    let w = world().await;
    let alpha_admin = w.token(&w.alpha, ADMIN).await;
    let (s, d) = w
        .api(
            "POST",
            "/api/connections/discover",
            &alpha_admin,
            Some(json!({"destinationUrl": format!("{}/", w.alpha)})),
        )
        .await;
    assert_eq!((s, d["kind"].as_str()), (200, Some("local")));
    let (s, v) = w.api("POST", "/api/connections", &alpha_admin, Some(json!({"destinationUrl": w.alpha, "localProjectKey": "TEST", "remoteProjectKey": "TEST", "adminAccess": true}))).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("same_project"))
    );
    let (s, v) = w.api("POST", "/api/connections", &alpha_admin, Some(json!({"destinationUrl": w.alpha, "localProjectKey": "TEST", "remoteProjectKey": "SUP", "adminAccess": true}))).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["connection"]["status"], "active");
    assert_eq!(v["connection"]["name"], "TEST_to_SUP");
    assert_eq!(v["connection"]["remoteProject"]["name"], "Support");
    // Another site's admin cannot see or touch it.
    let uid = v["connection"]["id"].as_str().unwrap().to_owned();
    let beta_admin = w.token(&w.beta, ADMIN).await;
    for (method, path) in [
        ("POST", format!("/api/connections/{uid}/deactivate")),
        ("POST", format!("/api/connections/{uid}/activate")),
        ("DELETE", format!("/api/connections/{uid}")),
    ] {
        let (s, v) = w.api(method, &path, &beta_admin, None).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (404, Some("connection_not_found")),
            "{method} {path}"
        );
    }
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/first-sync"),
            &beta_admin,
            Some(json!({"issueKey": "TEST-1"})),
        )
        .await;
    assert_eq!(s, 404);
    assert!(w.list(&beta_admin).await.is_empty());
    assert_eq!(w.list(&alpha_admin).await[0]["status"], "active");
    // The Exalate URL of this site also means "local".
    let (_, settings) = w.api("GET", "/api/settings", &alpha_admin, None).await;
    let exalate_url = settings["exalateUrl"].as_str().unwrap().to_owned();
    assert!(exalate_url.starts_with(&format!("{}/e/", w.app.address)));
    let (s, d) = w
        .api(
            "POST",
            "/api/connections/discover",
            &alpha_admin,
            Some(json!({"destinationUrl": exalate_url})),
        )
        .await;
    assert_eq!((s, d["kind"].as_str()), (200, Some("local")), "{d}");
    let (s, d) = w
        .api(
            "POST",
            "/api/connections/discover",
            &alpha_admin,
            Some(json!({"destinationUrl": exalate_url.replace("/e/", "/x/")})),
        )
        .await;
    assert_eq!(s, 400, "{d}");
    w.emu.stop().await;
}

#[tokio::test]
async fn hostile_or_unknown_destinations_are_refused_clearly() {
    // Other nodes on loopback are allowed here by address (as a lab would list them).
    let w = world_with(|s| {
        s.peer.allowed_hosts = vec!["127.0.0.1".into()];
        s.peer.allow_http = true;
    })
    .await;
    let t = w.token(&w.alpha, ADMIN).await;
    for (url, code) in [
        ("http://169.254.169.254/latest/meta-data", "invalid_url"),
        ("https://evil.example.com", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("javascript:alert(1)", "invalid_url"),
        ("not a url", "invalid_url"),
        ("", "invalid_url"),
        ("https://unknown-site.atlassian.net", "destination_unknown"),
        ("http://10.0.0.1/e/abc", "invalid_url"),
        (&format!("{}?x=1", w.beta), "invalid_url"),
    ] {
        let (s, v) = w
            .api(
                "POST",
                "/api/connections/discover",
                &t,
                Some(json!({"destinationUrl": url})),
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{url}: {v}"
        );
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    // An allowed node that is down: a clear, retryable error.
    let (s, v) = w
        .api(
            "POST",
            "/api/connections/discover",
            &t,
            Some(json!({"destinationUrl": "http://127.0.0.1:9/e/abc123"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (502, Some("peer_unreachable")),
        "{v}"
    );
    // Visual and Script are not available.
    let (s, v) = w
        .api(
            "POST",
            "/api/connections",
            &t,
            Some(json!({"destinationUrl": w.beta, "mode": "script", "localProjectKey": "TEST"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("mode_not_available"))
    );
    assert!(w.list(&t).await.is_empty(), "nothing was created");
    w.emu.stop().await;
}

#[tokio::test]
async fn non_admins_and_forged_tokens_get_nothing() {
    let w = world().await;
    let user = w.token(&w.alpha, USER).await;
    for (method, path, body) in [
        ("GET", "/api/connections", None),
        ("GET", "/api/settings", None),
        ("GET", "/api/projects?query=t", None),
        (
            "POST",
            "/api/connections/discover",
            Some(json!({"destinationUrl": w.beta})),
        ),
        (
            "POST",
            "/api/connections",
            Some(json!({"destinationUrl": w.beta, "localProjectKey": "TEST", "adminAccess": true})),
        ),
        (
            "POST",
            "/api/invitations/validate",
            Some(json!({"code": "exa1.x.y"})),
        ),
    ] {
        let (s, v) = w.api(method, path, &user, body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("not_admin")),
            "{method} {path}: {v}"
        );
        let (s, _) = w.api(method, path, "forged.token.here", body).await;
        assert_eq!(s, 401, "{method} {path}");
    }
    let (_, me) = w.api("GET", "/api/whoami", &user, None).await;
    assert_eq!(me["isAdmin"], false);
    let admin = w.token(&w.alpha, ADMIN).await;
    let (_, me) = w.api("GET", "/api/whoami", &admin, None).await;
    assert_eq!(me["isAdmin"], true);
    let (s, v) = w.api("GET", "/api/projects?query=sup", &admin, None).await;
    assert_eq!(s, 200);
    assert_eq!(v["projects"][0]["key"], "SUP");
    w.emu.stop().await;
}

/// The secret both ends of connection `uid` sign their peer requests with.
pub(crate) async fn peer_secret(w: &World, uid: &str) -> Vec<u8> {
    w.app
        .state
        .connections
        .peer_ends(uid)
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("a connection with a peer secret")
        .1
}

/// A request to this node's peer endpoint `path` as the other node sends it: signed with
/// `secret` at time `ts` with `nonce`.
pub(crate) async fn peer_post(
    w: &World,
    path: &str,
    secret: &[u8],
    ts: i64,
    nonce: &str,
    body: &[u8],
) -> reqwest::Response {
    let sig = exalate::connections::peer::sign(secret, "POST", path, ts, nonce, body);
    w.app
        .http
        .post(format!("{}{path}", w.app.address))
        .header("X-Exalate-Timestamp", ts.to_string())
        .header("X-Exalate-Nonce", nonce)
        .header("X-Exalate-Signature", sig)
        .header(
            "X-Exalate-Content-SHA256",
            exalate::connections::peer::body_digest(body),
        )
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn peer_messages_must_be_signed_and_fresh() {
    let w = world().await;
    let alpha_admin = w.token(&w.alpha, ADMIN).await;
    let beta_admin = w.token(&w.beta, ADMIN).await;
    let (_, v) = w
        .api(
            "POST",
            "/api/connections",
            &alpha_admin,
            Some(json!({"destinationUrl": null, "localProjectKey": "TEST"})),
        )
        .await;
    let code = v["invitationCode"].as_str().unwrap().to_owned();
    let (_, v) = w
        .api(
            "POST",
            "/api/invitations/accept",
            &beta_admin,
            Some(json!({"code": code, "projectKey": "SUP"})),
        )
        .await;
    let uid = v["connection"]["id"].as_str().unwrap().to_owned();
    let path = format!("/peer/connections/{uid}/status");
    let body = br#"{"status":"deactivated"}"#;
    // Unsigned, and signed with a wrong secret: refused.
    let resp = w
        .app
        .http
        .post(format!("{}{path}", w.app.address))
        .header("Content-Type", "application/json")
        .body(&body[..])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let ts = chrono::Utc::now().timestamp();
    let resp = peer_post(&w, &path, b"guess", ts, "n-1", body).await;
    assert_eq!(resp.status().as_u16(), 401);
    // A correctly signed message works once; the same message again is a replay.
    let secret = peer_secret(&w, &uid).await;
    let resp = peer_post(&w, &path, &secret, ts, "n-2", body).await;
    assert_eq!(resp.status().as_u16(), 204);
    let resp = peer_post(&w, &path, &secret, ts, "n-2", body).await;
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.text().await.unwrap().contains("replay"));
    // Old timestamps are refused even with a valid signature.
    let resp = peer_post(&w, &path, &secret, ts - 3600, "n-3", body).await;
    assert_eq!(resp.status().as_u16(), 401);
    w.emu.stop().await;
}

#[tokio::test]
async fn issue_panel_lists_the_connections_of_the_issue_project() {
    let w = world().await;
    let alpha_admin = w.token(&w.alpha, ADMIN).await;
    let (s, v) = w.api("POST", "/api/connections", &alpha_admin, Some(json!({"destinationUrl": w.alpha, "localProjectKey": "TEST", "remoteProjectKey": "SUP"}))).await;
    assert_eq!(s, 201, "{v}");
    // Any user of the site can see an issue's panel.
    let user = w.token(&w.alpha, USER).await;
    let (s, v) = w.api("GET", "/api/issues/TEST-1/status", &user, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["syncs"][0]["status"], "not_synced");
    assert_eq!(v["connections"][0]["name"], "TEST_to_SUP");
    let (_, v) = w.api("GET", "/api/issues/SUP-1/status", &user, None).await;
    assert_eq!(
        v["connections"].as_array().unwrap().len(),
        1,
        "both projects of a local connection"
    );
    let (s, _) = w
        .api("GET", "/api/issues/TEST-999/status", &user, None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = w.api("GET", "/api/issues/..%2Fx/status", &user, None).await;
    assert_eq!(s, 404);
    let (s, v) = w
        .api(
            "POST",
            "/api/issues/TEST-1/exalate",
            &user,
            Some(json!({"connectionId": "x"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("connection_not_found"))
    );
    w.emu.stop().await;
}
