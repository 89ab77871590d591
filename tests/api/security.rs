//! Attacks, each a test named for it: a leaked invitation code, another organisation's hostile
//! node, a Jira user who is not an admin, and what the logs and headers give away. Each asserts
//! what the attacker gets (a 4xx that reveals nothing) and that nothing changed.

use crate::connections::{peer_post, peer_secret, world, world_with, World};
use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");
const USER: (&str, &str) = ("user@example.com", "user-token");

/// What beta's node says about beta in an accept (its Exalate URL from its settings page).
async fn beta_end(w: &World) -> Value {
    let beta = w.token(&w.beta, ADMIN).await;
    let (_, v) = w.api("GET", "/api/settings", &beta, None).await;
    json!({"siteUrl": w.beta, "siteName": "beta", "exalateUrl": v["exalateUrl"],
           "projectKey": "SUP", "projectName": "Support"})
}

async fn peer_accept(w: &World, body: Value) -> (u16, String) {
    let resp = w
        .app
        .http
        .post(format!("{}/peer/invitations/accept", w.app.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn beta_client_key(w: &World) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    exalate::entities::tenants::Entity::find()
        .filter(exalate::entities::tenants::Column::BaseUrl.eq(w.beta.clone()))
        .one(&w.app.db)
        .await
        .unwrap()
        .expect("beta installed")
        .client_key
}

#[tokio::test]
async fn security_a_replayed_invitation_code_hands_out_nothing() {
    let w = world().await;
    let (code, uid) = crate::sync::invite_and_accept(&w).await;
    let acceptor = beta_end(&w).await;
    // The leaked code alone, as the acceptor that used it, and with a made-up proof.
    for proof in [Value::Null, json!("f".repeat(64))] {
        let (s, text) = peer_accept(
            &w,
            json!({"code": code, "acceptor": acceptor, "proof": proof}),
        )
        .await;
        assert_eq!(s, 409, "{text}");
        assert!(text.contains("invitation_used"), "{text}");
        assert!(
            !text.contains("secret") && !text.contains(&uid),
            "reveals nothing: {text}"
        );
    }
    // The real acceptor's retry (its first answer was lost) carries the proof only it can make.
    let client_key = beta_client_key(&w).await;
    let proof = hex::encode(
        w.app
            .state
            .connections
            .secrets
            .derive(format!("accept-proof\n{client_key}\n{code}").as_bytes()),
    );
    let (s, text) = peer_accept(
        &w,
        json!({"code": code, "acceptor": acceptor, "proof": proof}),
    )
    .await;
    assert_eq!(s, 200, "the real acceptor may retry: {text}");
    // ...but never once the code has expired, proof or not.
    use sea_orm::{ConnectionTrait, Statement};
    w.app
        .db
        .execute(Statement::from_string(
            w.app.db.get_database_backend(),
            "UPDATE invitations SET expires_at = '2020-01-01T00:00:00+00:00'".to_owned(),
        ))
        .await
        .unwrap();
    let (s, text) = peer_accept(
        &w,
        json!({"code": code, "acceptor": acceptor, "proof": proof}),
    )
    .await;
    assert_eq!(s, 409, "{text}");
    assert!(!text.contains("secret"), "{text}");
    // The connection is untouched: still active on both ends.
    let alpha = w.token(&w.alpha, ADMIN).await;
    assert_eq!(w.list(&alpha).await[0]["status"], "active");
    w.emu.stop().await;
}

#[tokio::test]
async fn security_an_unsigned_body_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = world().await;
    let (_, uid) = crate::sync::invite_and_accept(&w).await;
    let addr = w.app.address.trim_start_matches("http://").to_owned();
    // 60 MiB announced, 1 KiB sent: a server that reads before it checks would wait for the rest.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /peer/connections/{uid}/sync HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        60 * 1024 * 1024
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[b' '; 1024]).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // Signed, but with a body that is not the one whose digest was signed.
    let secret = peer_secret(&w, &uid).await;
    let path = format!("/peer/connections/{uid}/status");
    let signed_body = br#"{"status":"active"}"#;
    let sig =
        exalate::connections::peer::sign(&secret, "POST", &path, now(), "n-swap", signed_body);
    let resp = w
        .app
        .http
        .post(format!("{}{path}", w.app.address))
        .header("X-Exalate-Timestamp", now().to_string())
        .header("X-Exalate-Nonce", "n-swap")
        .header("X-Exalate-Signature", sig)
        .header(
            "X-Exalate-Content-SHA256",
            exalate::connections::peer::body_digest(signed_body),
        )
        .body(&br#"{"status":"deleted"}"#[..])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let alpha = w.token(&w.alpha, ADMIN).await;
    assert_eq!(w.list(&alpha).await[0]["status"], "active");
    w.emu.stop().await;
}

/// Another organisation's node at `node`: it answers inspect and accept as it likes.
async fn hostile_node(uid: &str, secret: &str, site_url: &str) -> MockServer {
    let node = MockServer::start().await;
    let end = json!({"siteUrl": site_url, "siteName": "hostile",
                     "exalateUrl": format!("{}/e/h0st1le", node.uri()),
                     "projectKey": "HOS", "projectName": "Hostile"});
    Mock::given(method("POST"))
        .and(path("/peer/invitations/inspect"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "initiator": end, "expectedSiteUrl": null, "expiresAt": "2099-01-01T00:00:00+00:00"})))
        .mount(&node)
        .await;
    Mock::given(method("POST"))
        .and(path("/peer/invitations/accept"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "connectionUid": uid, "name": "hostile_to_beta", "secret": secret, "initiator": end})))
        .mount(&node)
        .await;
    node
}

fn code_for(node: &str) -> String {
    exalate::connections::invitations::InvitationCode::generate(node).encode()
}

fn lets_loopback_peers_in(s: &mut exalate::configuration::Settings) {
    s.peer.allowed_hosts = vec!["127.0.0.1".into()];
    s.peer.allow_http = true;
}

#[tokio::test]
async fn security_a_node_answering_with_our_connection_uid_takes_nothing_over() {
    let w = world_with(lets_loopback_peers_in).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let beta = w.token(&w.beta, ADMIN).await;
    let (s, v) = w
        .api(
            "POST",
            "/api/connections",
            &alpha,
            Some(json!({"destinationUrl": w.alpha, "localProjectKey": "TEST", "remoteProjectKey": "SUP"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let local_uid = v["connection"]["id"].as_str().unwrap().to_owned();
    let hostile_secret = "h".repeat(43);
    let node = hostile_node(&local_uid, &hostile_secret, "https://hostile.atlassian.net").await;
    let (s, v) = w
        .api(
            "POST",
            "/api/invitations/accept",
            &beta,
            Some(json!({"code": code_for(&node.uri()), "projectKey": "SUP"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("connection_uid_clash")),
        "{v}"
    );
    assert!(w.list(&beta).await.is_empty(), "nothing created on beta");
    // Messages signed with the hostile node's secret reach nothing of alpha's.
    let path = format!("/peer/connections/{local_uid}/status");
    let resp = peer_post(
        &w,
        &path,
        hostile_secret.as_bytes(),
        now(),
        "n-h1",
        br#"{"status":"deleted"}"#,
    )
    .await;
    assert_eq!(resp.status().as_u16(), 401);
    let path = format!("/peer/connections/{local_uid}/sync");
    let resp = peer_post(&w, &path, hostile_secret.as_bytes(), now(), "n-h2", b"{}").await;
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(w.list(&alpha).await[0]["status"], "active");
    w.emu.stop().await;
}

#[tokio::test]
async fn security_javascript_urls_from_another_node_never_reach_jira_or_the_console() {
    let w = world_with(lets_loopback_peers_in).await;
    let beta = w.token(&w.beta, ADMIN).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let uid = "0123456789abcdef0123456789abcdef";
    let node = hostile_node(uid, &"h".repeat(43), "javascript:alert(document.domain)//").await;
    let code = code_for(&node.uri());
    for (route, body) in [
        ("/api/invitations/validate", json!({"code": code})),
        (
            "/api/invitations/accept",
            json!({"code": code, "projectKey": "SUP"}),
        ),
    ] {
        let (s, v) = w.api("POST", route, &beta, Some(body)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some("invalid_peer_address")),
            "{route}: {v}"
        );
    }
    assert!(w.list(&beta).await.is_empty());
    // Discovery answering a javascript: site for an Exalate URL.
    Mock::given(method("GET"))
        .and(path("/peer/discover"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "siteUrl": "javascript:alert(1)//", "siteName": "x",
            "exalateUrl": format!("{}/e/abc", node.uri())})))
        .mount(&node)
        .await;
    let (s, v) = w
        .api(
            "POST",
            "/api/connections",
            &alpha,
            Some(json!({"destinationUrl": format!("{}/e/abc", node.uri()), "localProjectKey": "TEST", "adminAccess": true})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_peer_address")),
        "{v}"
    );
    assert!(!v.to_string().contains("javascript:"), "{v}");
    assert!(w.list(&alpha).await.is_empty());
    // An acceptor that claims a javascript: site is refused by the initiator too.
    let (_, v) = w
        .api(
            "POST",
            "/api/connections",
            &alpha,
            Some(json!({"destinationUrl": null, "localProjectKey": "TEST"})),
        )
        .await;
    let code = v["invitationCode"].as_str().unwrap().to_owned();
    let (s, text) = peer_accept(
        &w,
        json!({"code": code, "acceptor": {
        "siteUrl": "javascript:alert(document.domain)//", "siteName": "x",
        "exalateUrl": "javascript:alert(1)//e/x"}}),
    )
    .await;
    assert_eq!(s, 400, "{text}");
    assert_eq!(w.list(&alpha).await[0]["status"], "pending");
    w.emu.stop().await;
}

#[tokio::test]
async fn security_peer_addresses_never_reach_this_hosts_other_ports() {
    // Production-like peer settings: only the node's own exact address and *.exalate.* hosts.
    let w = world().await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let beta = w.token(&w.beta, ADMIN).await;
    let internal = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string("internal admin secret"))
        .mount(&internal)
        .await;
    let port = internal.address().port();
    let own = &w.app.address;
    for dest in [
        format!("http://127.0.0.1:{port}/internal/admin/e/abc"),
        format!("http://127.0.0.1:{port}/e/abc"),
        format!("http://localhost:{port}/e/abc"),
        format!("http://[::1]:{port}/e/abc"),
        format!("{own}/internal/admin/e/abc"),
        format!("https://127.0.0.1:{port}/e/abc"),
    ] {
        let (s, v) = w
            .api(
                "POST",
                "/api/connections",
                &alpha,
                Some(
                    json!({"destinationUrl": dest, "localProjectKey": "TEST", "adminAccess": true}),
                ),
            )
            .await;
        assert!((400..500).contains(&s), "{dest}: {s} {v}");
        assert!(!v.to_string().contains("internal admin secret"), "{v}");
    }
    for node in [
        format!("http://127.0.0.1:{port}/any/path?x="),
        format!("http://127.0.0.1:{port}"),
        format!("{own}/any/path?x="),
    ] {
        let (s, v) = w
            .api(
                "POST",
                "/api/invitations/validate",
                &beta,
                Some(json!({"code": code_for(&node)})),
            )
            .await;
        assert!((400..500).contains(&s), "{node}: {s} {v}");
        assert!(!v.to_string().contains("internal admin secret"), "{v}");
    }
    let got = internal.received_requests().await.unwrap_or_default();
    assert!(got.is_empty(), "the internal listener was called: {got:?}");
    assert!(w.list(&alpha).await.is_empty());
    w.emu.stop().await;
}

#[tokio::test]
async fn security_wrong_invitation_codes_are_rate_limited() {
    let w = world_with(|s| s.connections.max_code_guesses_per_minute = 5).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let resp = w
            .app
            .http
            .post(format!("{}/peer/invitations/inspect", w.app.address))
            .json(&json!({"code": exalate::connections::invitations::InvitationCode::generate(&w.app.base_url).encode()}))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 3], "{statuses:?}");
    // The console of one site is limited on its own.
    let beta = w.token(&w.beta, ADMIN).await;
    let own_node_code =
        || exalate::connections::invitations::InvitationCode::generate(&w.app.base_url).encode();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let (s, _) = w
            .api(
                "POST",
                "/api/invitations/validate",
                &beta,
                Some(json!({"code": own_node_code()})),
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let alpha = w.token(&w.alpha, ADMIN).await;
    let (s, _) = w
        .api(
            "POST",
            "/api/invitations/validate",
            &alpha,
            Some(json!({"code": own_node_code()})),
        )
        .await;
    assert_ne!(s, 429, "another site is not limited by beta's guesses");
    w.emu.stop().await;
}

#[tokio::test]
async fn security_answers_carry_security_headers_and_json_errors() {
    let w = world().await;
    let (_, uid) = crate::sync::invite_and_accept(&w).await;
    for path in [
        "/health_check",
        "/atlassian-connect.json",
        "/api/connections",
    ] {
        let resp = w
            .app
            .http
            .get(format!("{}{path}", w.app.address))
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'self' https://*.atlassian.net"),
            "{path}: {csp}"
        );
        assert!(csp.contains("object-src 'none'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    // A signed status message larger than the body limit: our JSON error, not plain text.
    let secret = peer_secret(&w, &uid).await;
    let big = vec![b' '; 2 * 1024 * 1024];
    let resp = peer_post(
        &w,
        &format!("/peer/connections/{uid}/status"),
        &secret,
        now(),
        "n-big",
        &big,
    )
    .await;
    assert_eq!(resp.status().as_u16(), 413);
    let v: Value = resp.json().await.expect("a JSON error body");
    assert_eq!(v["error"]["code"], "body_too_large");
    w.emu.stop().await;
}

#[tokio::test]
async fn security_a_user_who_may_not_see_or_edit_an_issue_cannot_sync_it() {
    let w = world().await;
    let (_, uid) = crate::sync::invite_and_accept(&w).await;
    let user = w.token(&w.alpha, USER).await;
    let account = user_account(&w, &w.alpha, USER).await;
    // user@example.com may browse TEST but not edit its issues.
    set_project_permissions(&w, &w.alpha, "TEST", &account, &["BROWSE_PROJECTS"]).await;
    let (s, v) = w
        .api(
            "POST",
            "/api/issues/TEST-1/exalate",
            &user,
            Some(json!({"connectionId": uid})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("issue_not_editable")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Edit Issues"),
        "{v}"
    );
    // And without Browse, the issue does not exist for them (panel and button alike).
    set_project_permissions(&w, &w.alpha, "TEST", &account, &[]).await;
    let (s, v) = w
        .api(
            "POST",
            "/api/issues/TEST-1/exalate",
            &user,
            Some(json!({"connectionId": uid})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("issue_not_found")),
        "{v}"
    );
    let (s, _) = w.api("GET", "/api/issues/TEST-1/status", &user, None).await;
    assert_eq!(s, 404);
    // Nothing reached beta.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let found = w
        .app
        .http
        .get(format!(
            "{}/rest/api/3/search/jql?jql=project%3DSUP&fields=summary",
            w.beta
        ))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let before = found["issues"].as_array().map_or(0, Vec::len);
    // An admin with the rights syncs the same issue: the check is about the person, not the issue.
    let admin = w.token(&w.alpha, ADMIN).await;
    let (s, v) = w
        .api(
            "POST",
            "/api/issues/TEST-1/exalate",
            &admin,
            Some(json!({"connectionId": uid})),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let started = std::time::Instant::now();
    loop {
        let v: Value = w
            .app
            .http
            .get(format!(
                "{}/rest/api/3/search/jql?jql=project%3DSUP&fields=summary",
                w.beta
            ))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["issues"].as_array().map_or(0, Vec::len) == before + 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.emu.stop().await;
}

async fn user_account(w: &World, site: &str, who: (&str, &str)) -> String {
    let v: Value = w
        .app
        .http
        .get(format!("{site}/rest/api/3/myself"))
        .basic_auth(who.0, Some(who.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["accountId"].as_str().unwrap().to_owned()
}

async fn set_project_permissions(
    w: &World,
    site: &str,
    project: &str,
    account: &str,
    perms: &[&str],
) {
    let resp = w
        .app
        .http
        .put(format!("{site}/_emulator/projects/{project}/permissions"))
        .json(&json!({"accountId": account, "permissions": perms}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
}

#[test]
fn security_refused_requests_never_log_a_code_or_a_token() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_exalate"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("EXALATE_CONFIG")
        .env("EXALATE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        // Everything the app logs, per request too.
        .env("EXALATE__LOG__FILTER", "debug")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code =
        exalate::connections::invitations::InvitationCode::generate("http://127.0.0.1:9").encode();
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJsZWFrZWQtdG9rZW4tY2xpZW50In0.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while http
            .get(format!("{base}/health_check"))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server starts"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let encoded = connect_jwt::encode_rfc3986(&code);
        for (m, url) in [
            ("GET", format!("{base}/api/connect-requests/{code}")),
            ("GET", format!("{base}/api/connect-requests/{encoded}")),
            ("POST", format!("{base}/api/connect-requests/{code}/accept")),
            ("GET", format!("{base}/pages/admin/connections?jwt={token}")),
            (
                "GET",
                format!("{base}/pages/accept?jwt={token}&ac.request={encoded}"),
            ),
        ] {
            let resp = http.request(m.parse().unwrap(), &url).send().await.unwrap();
            assert!(resp.status().is_client_error(), "{url}: {}", resp.status());
        }
        let resp = http
            .post(format!("{base}/api/invitations/validate"))
            .header("Authorization", format!("JWT {token}"))
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error());
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().ok();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).ok();
    child.stderr.take().unwrap().read_to_string(&mut out).ok();
    child.wait().ok();
    // The requests were logged (so this looks at real log lines), without what they carried.
    assert!(
        out.contains("request refused"),
        "no request lines in the log:\n{out}"
    );
    let secret_part = code.rsplit('.').next().unwrap();
    for leaked in [
        code.as_str(),
        secret_part,
        token,
        "c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw",
    ] {
        assert!(!out.contains(leaked), "the log holds {leaked}:\n{out}");
    }
}
