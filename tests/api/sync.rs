//! Issue sync through the emulator, asserting what users see on the other site: create, edit both
//! ways, issue-type fallback, no ping-pong, a local connection.

use crate::connections::{peer_post, peer_secret, world, World};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");

pub(crate) async fn jira(
    w: &World,
    site: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = w
        .app
        .http
        .request(method.parse().unwrap(), format!("{site}{path}"))
        .basic_auth(ADMIN.0, Some(ADMIN.1));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// `GET /rest/api/3/issue/{key}` on `site`: the status and the issue.
async fn get_issue(w: &World, site: &str, key: &str) -> (u16, Value) {
    jira(w, site, "GET", &format!("/rest/api/3/issue/{key}"), None).await
}

/// Waits until `jql` on `site` finds an issue for which `pred` holds; returns it.
pub(crate) async fn eventually(
    w: &World,
    site: &str,
    jql: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let (_, v) = jira(
            w,
            site,
            "POST",
            "/rest/api/3/search/jql",
            Some(json!({"jql": jql, "fields": ["summary", "description", "issuetype"]})),
        )
        .await;
        if let Some(hit) = v["issues"]
            .as_array()
            .and_then(|a| a.iter().find(|i| pred(i)))
        {
            return hit.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing matched {jql} on {site}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Exalates TEST-2 ("Add dark mode to the settings page") and waits for its twin on beta.
pub(crate) async fn exalate_test_2(w: &World, alpha: &str, uid: &str) -> String {
    exalate(w, alpha, "TEST-2", uid).await;
    let twin = eventually(w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Add dark mode to the settings page"
    })
    .await;
    twin["key"].as_str().unwrap().to_owned()
}

/// The Exalate button: starts syncing `key` over connection `uid` (answered 202).
pub(crate) async fn exalate(w: &World, token: &str, key: &str, uid: &str) {
    let (s, v) = w
        .api(
            "POST",
            &format!("/api/issues/{key}/exalate"),
            token,
            Some(json!({"connectionId": uid})),
        )
        .await;
    assert_eq!(s, 202, "{key}: {v}");
}

/// A bulk Exalate from the console: every key of `keys` over connection `uid`, `parallel` requests
/// in flight.
pub(crate) async fn exalate_all(
    w: &World,
    token: &str,
    uid: &str,
    keys: &[String],
    parallel: usize,
) {
    use futures_util::stream::{self, StreamExt};
    stream::iter(keys)
        .map(|key| exalate(w, token, key, uid))
        .buffer_unordered(parallel)
        .collect::<Vec<_>>()
        .await;
}

/// Waits until the issue panel of `key` (first connection) says `want`.
async fn wait_panel(w: &World, token: &str, key: &str, want: &str) {
    let path = format!("/api/issues/{key}/status");
    let started = Instant::now();
    loop {
        let (_, st) = w.api("GET", &path, token, None).await;
        if st["syncs"][0]["status"] == want {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{key}: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

pub(crate) async fn connect_remote(w: &World) -> String {
    invite_and_accept(w).await.1
}

/// Alpha invites beta with a code ("No, I don't have admin access") and beta accepts it:
/// (the code, the connection's uid).
pub(crate) async fn invite_and_accept(w: &World) -> (String, String) {
    let alpha = w.token(&w.alpha, ADMIN).await;
    let beta = w.token(&w.beta, ADMIN).await;
    let (_, v) = w
        .api(
            "POST",
            "/api/connections",
            &alpha,
            Some(json!({"destinationUrl": w.beta, "localProjectKey": "TEST"})),
        )
        .await;
    let code = v["invitationCode"].as_str().unwrap().to_owned();
    let (s, v) = w
        .api(
            "POST",
            "/api/invitations/accept",
            &beta,
            Some(json!({"code": code, "projectKey": "SUP"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    (code, v["connection"]["id"].as_str().unwrap().to_owned())
}

/// The emulator's counters of `site` (`/_emulator/counters`).
pub(crate) async fn counters(w: &World, site: &str) -> Value {
    w.app
        .http
        .get(format!("{site}/_emulator/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) async fn app_writes(w: &World, site: &str) -> u64 {
    let c = counters(w, site).await;
    c["writes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("app:"))
                .map(|(_, v)| v.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// From now on, the app writes nothing more on either site for a while: no ping-pong.
async fn assert_quiet(w: &World) {
    let writes = || async { (app_writes(w, &w.alpha).await, app_writes(w, &w.beta).await) };
    let settled = writes().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(writes().await, settled, "the app keeps writing: ping-pong");
}

#[tokio::test]
async fn exalated_issue_appears_on_the_other_site_and_edits_flow_both_ways() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    exalate(&w, &alpha, "TEST-1", &uid).await;

    // On beta, in SUP: same summary and description; Bug exists in SUP, so Bug.
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Customer cannot log in after password reset"
    })
    .await;
    let twin_key = twin["key"].as_str().unwrap().to_owned();
    assert_eq!(twin["fields"]["issuetype"]["name"], "Bug");
    assert_eq!(
        twin["fields"]["description"],
        adf("After resetting the password, the login page says the link has expired.")
    );

    // The panel on both sides, and remote links to the twin.
    let started = Instant::now();
    loop {
        let (_, st) = w
            .api("GET", "/api/issues/TEST-1/status", &alpha, None)
            .await;
        if st["syncs"][0]["status"] == "synchronized" {
            assert_eq!(st["syncs"][0]["twinKey"], twin_key.as_str());
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, links) = jira(
        &w,
        &w.beta,
        "GET",
        &format!("/rest/api/3/issue/{twin_key}/remotelink"),
        None,
    )
    .await;
    // The remote link names the site the twin is on (its Jira title).
    assert_eq!(links[0]["object"]["title"], "TEST-1 on alpha");
    let (_, links) = jira(
        &w,
        &w.alpha,
        "GET",
        "/rest/api/3/issue/TEST-1/remotelink",
        None,
    )
    .await;
    assert_eq!(links[0]["object"]["title"], format!("{twin_key} on beta"));
    let (_, prop) = jira(&w, &w.alpha, "GET", "/rest/api/3/issue/TEST-1/properties/com.atlassian.jira.issue:com.exalate.jiracloud:exalate-sync-status:status", None).await;
    assert_eq!(prop["value"]["value"]["label"], "Synchronized");

    // An edit on alpha reaches beta (webhook → replica diff → outbox → peer → Jira).
    jira(
        &w,
        &w.alpha,
        "PUT",
        "/rest/api/3/issue/TEST-1",
        Some(json!({"fields": {"summary": "Login broken after reset (edited on alpha)"}})),
    )
    .await;
    eventually(&w, &w.beta, &format!("key = {twin_key}"), |i| {
        i["fields"]["summary"] == "Login broken after reset (edited on alpha)"
    })
    .await;
    // And an edit on beta reaches alpha.
    jira(
        &w,
        &w.beta,
        "PUT",
        &format!("/rest/api/3/issue/{twin_key}"),
        Some(json!({"fields": {"description": adf("Fixed in 2.3.1 (edited on beta)")}})),
    )
    .await;
    eventually(&w, &w.alpha, "key = TEST-1", |i| {
        i["fields"]["description"] == adf("Fixed in 2.3.1 (edited on beta)")
    })
    .await;

    // No ping-pong: once settled, the app writes nothing more on either side.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_quiet(&w).await;
    let (_, conns) = w.api("GET", "/api/connections", &alpha, None).await;
    assert_eq!(conns["connections"][0]["issuesInSync"], 1);
    w.emu.stop().await;
}

#[tokio::test]
async fn issue_types_fall_back_to_the_default_type_then_task() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    // An Epic on TEST: SUP has no Epic, its default type is Bug.
    let (_, created) = jira(&w, &w.alpha, "POST", "/rest/api/3/issue", Some(json!({"fields": {"project": {"key": "TEST"}, "summary": "Big epic", "issuetype": {"name": "Epic"}}}))).await;
    let key = created["key"].as_str().unwrap().to_owned();
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/issues/{key}/exalate"),
            &alpha,
            Some(json!({"connectionId": uid})),
        )
        .await;
    assert_eq!(s, 202);
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Big epic"
    })
    .await;
    assert_eq!(
        twin["fields"]["issuetype"]["name"], "Bug",
        "SUP's default type"
    );
    assert!(twin["fields"]["description"].is_null());
    w.emu.stop().await;
}

#[tokio::test]
async fn local_connection_syncs_between_two_projects_of_one_site() {
    let w = world().await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let (s, v) = w.api("POST", "/api/connections", &alpha, Some(json!({"destinationUrl": w.alpha, "localProjectKey": "SUP", "remoteProjectKey": "TEST"}))).await;
    assert_eq!(s, 201, "{v}");
    let uid = v["connection"]["id"].as_str().unwrap().to_owned();
    // A Story of TEST goes to SUP (no Story there, default Bug); SUP-1 (Task) goes to TEST as Task.
    exalate(&w, &alpha, "TEST-2", &uid).await;
    let twin = eventually(&w, &w.alpha, "project = SUP", |i| {
        i["fields"]["summary"] == "Add dark mode to the settings page"
    })
    .await;
    assert_eq!(twin["fields"]["issuetype"]["name"], "Bug");
    exalate(&w, &alpha, "SUP-1", &uid).await;
    let twin = eventually(&w, &w.alpha, "project = TEST", |i| {
        i["fields"]["summary"] == "Printer on floor 3 is out of toner"
    })
    .await;
    assert_eq!(twin["fields"]["issuetype"]["name"], "Task");
    w.emu.stop().await;
}

#[tokio::test]
async fn changes_made_while_deactivated_are_sent_on_reactivation() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/deactivate"),
            &alpha,
            None,
        )
        .await;
    assert_eq!(s, 200);
    jira(
        &w,
        &w.alpha,
        "PUT",
        "/rest/api/3/issue/TEST-2",
        Some(json!({"fields": {"summary": "Dark mode (changed while deactivated)"}})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, v) = jira(
        &w,
        &w.beta,
        "GET",
        &format!("/rest/api/3/issue/{twin_key}?fields=summary"),
        None,
    )
    .await;
    assert_eq!(
        v["fields"]["summary"], "Add dark mode to the settings page",
        "held back while deactivated"
    );
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/activate"),
            &alpha,
            None,
        )
        .await;
    assert_eq!(s, 200);
    eventually(&w, &w.beta, &format!("key = {twin_key}"), |i| {
        i["fields"]["summary"] == "Dark mode (changed while deactivated)"
    })
    .await;
    w.emu.stop().await;
}

async fn comments_of(w: &World, site: &str, key: &str) -> Vec<Value> {
    let (_, v) = jira(
        w,
        site,
        "GET",
        &format!("/rest/api/3/issue/{key}/comment"),
        None,
    )
    .await;
    v["comments"].as_array().cloned().unwrap_or_default()
}

fn text_of(c: &Value) -> String {
    jira_emulator::render::adf_to_text(&c["body"])
}

async fn wait_comments(
    w: &World,
    site: &str,
    key: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let cs = comments_of(w, site, key).await;
        if pred(&cs) {
            return cs;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "comments on {key}: {cs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn comments_are_mirrored_public_with_their_author_and_restricted_ones_stay_home() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    exalate(&w, &alpha, "TEST-1", &uid).await;
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Customer cannot log in after password reset"
    })
    .await;
    let twin_key = twin["key"].as_str().unwrap().to_owned();
    // The seeded comment came along, with its author's name.
    let cs = wait_comments(&w, &w.beta, &twin_key, |cs| cs.len() == 1).await;
    assert_eq!(
        text_of(&cs[0]),
        "Alice Admin wrote:\nI can reproduce this on Chrome and Firefox."
    );
    assert!(cs[0].get("visibility").is_none(), "created public");

    // Add, then a restricted one (never sent), then edit and delete.
    let (_, c) = jira(
        &w,
        &w.alpha,
        "POST",
        "/rest/api/3/issue/TEST-1/comment",
        Some(json!({"body": adf("Second comment")})),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    jira(&w, &w.alpha, "POST", "/rest/api/3/issue/TEST-1/comment", Some(json!({"body": adf("internal only"), "visibility": {"type": "role", "value": "Administrators"}}))).await;
    wait_comments(&w, &w.beta, &twin_key, |cs| {
        cs.iter().any(|c| text_of(c).ends_with("Second comment"))
    })
    .await;
    jira(
        &w,
        &w.alpha,
        "PUT",
        &format!("/rest/api/3/issue/TEST-1/comment/{cid}"),
        Some(json!({"body": adf("Second comment, edited")})),
    )
    .await;
    wait_comments(&w, &w.beta, &twin_key, |cs| {
        cs.iter()
            .any(|c| text_of(c).ends_with("Second comment, edited"))
    })
    .await;
    jira(
        &w,
        &w.alpha,
        "DELETE",
        &format!("/rest/api/3/issue/TEST-1/comment/{cid}"),
        None,
    )
    .await;
    let cs = wait_comments(&w, &w.beta, &twin_key, |cs| cs.len() == 1).await;
    assert!(
        cs.iter().all(|c| !text_of(c).contains("internal only")),
        "a restricted comment never leaves its site"
    );

    // A comment on beta flows back to alpha; nothing is duplicated once things settle.
    jira(
        &w,
        &w.beta,
        "POST",
        &format!("/rest/api/3/issue/{twin_key}/comment"),
        Some(json!({"body": adf("Reply from support")})),
    )
    .await;
    wait_comments(&w, &w.alpha, "TEST-1", |cs| {
        cs.iter()
            .any(|c| text_of(c) == "Alice Admin wrote:\nReply from support")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        comments_of(&w, &w.alpha, "TEST-1").await.len(),
        3,
        "original, restricted, reply"
    );
    assert_eq!(
        comments_of(&w, &w.beta, &twin_key).await.len(),
        2,
        "twin of the original, reply"
    );
    w.emu.stop().await;
}

async fn attach(w: &World, site: &str, key: &str, name: &str, bytes: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str("application/octet-stream")
            .unwrap(),
    );
    let resp = w
        .app
        .http
        .post(format!("{site}/rest/api/3/issue/{key}/attachments"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header("X-Atlassian-Token", "no-check")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    v[0]["id"].as_str().unwrap().to_owned()
}

/// The stored attachments of an issue (filename → SHA-256), from the emulator's control API.
async fn stored_attachments(w: &World, site: &str, key: &str) -> Vec<(String, String)> {
    let v: Value = w
        .app
        .http
        .get(format!("{site}/_emulator/issues/{key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["filename"].as_str().unwrap().to_owned(),
                a["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn attachments_are_copied_byte_for_byte_and_deletions_follow() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let att = attach(&w, &w.alpha, "TEST-1", "screenshot.bin", data).await;
    exalate(&w, &alpha, "TEST-1", &uid).await;
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Customer cannot log in after password reset"
    })
    .await;
    let twin_key = twin["key"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let source = stored_attachments(&w, &w.alpha, "TEST-1").await;
    loop {
        let copied = stored_attachments(&w, &w.beta, &twin_key).await;
        if !copied.is_empty() {
            assert_eq!(copied, source, "same name, same bytes");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "attachment never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One added on beta goes to alpha; deleting the original on alpha deletes its twin.
    attach(
        &w,
        &w.beta,
        &twin_key,
        "reply.txt",
        b"from support".to_vec(),
    )
    .await;
    jira(
        &w,
        &w.alpha,
        "DELETE",
        &format!("/rest/api/3/attachment/{att}"),
        None,
    )
    .await;
    let started = Instant::now();
    loop {
        let a = stored_attachments(&w, &w.alpha, "TEST-1").await;
        let b = stored_attachments(&w, &w.beta, &twin_key).await;
        if a.len() == 1 && a[0].0 == "reply.txt" && b.len() == 1 && b[0].0 == "reply.txt" {
            assert_eq!(a, b);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "alpha {a:?} beta {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        stored_attachments(&w, &w.alpha, "TEST-1").await.len(),
        1,
        "nothing duplicated"
    );
    assert_eq!(stored_attachments(&w, &w.beta, &twin_key).await.len(), 1);
    w.emu.stop().await;
}

#[tokio::test]
async fn what_a_person_does_the_moment_the_twin_appears_reaches_the_other_side_once() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    // Beta's Jira is slow to take the app's writes once the twin exists (remote link, status
    // property: ~1.4 s), so the person replying and retitling is faster than the app.
    let faults = format!("{}/_emulator/faults", w.beta);
    let slow = |method: &str| json!({"pathPrefix": "/rest/api/3/issue/", "method": method, "principal": "app", "kind": "latency", "latencyMs": 700});
    w.app
        .http
        .put(&faults)
        .json(&json!({"rules": [slow("POST"), slow("PUT")]}))
        .send()
        .await
        .unwrap();
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    let (s, _) = jira(
        &w,
        &w.beta,
        "POST",
        &format!("/rest/api/3/issue/{twin_key}/comment"),
        Some(json!({"body": adf("Picked up by support")})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = jira(
        &w,
        &w.beta,
        "PUT",
        &format!("/rest/api/3/issue/{twin_key}"),
        Some(json!({"fields": {"summary": "Dark mode for settings (support triaged)"}})),
    )
    .await;
    assert_eq!(s, 204);
    let replied = |cs: &[Value]| {
        cs.iter()
            .filter(|c| text_of(c).ends_with("Picked up by support"))
            .count()
    };
    wait_comments(&w, &w.alpha, "TEST-2", |cs| replied(cs) == 1).await;
    eventually(&w, &w.alpha, "key = TEST-2", |i| {
        i["fields"]["summary"] == "Dark mode for settings (support triaged)"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(replied(&comments_of(&w, &w.alpha, "TEST-2").await), 1);
    assert_eq!(comments_of(&w, &w.beta, &twin_key).await.len(), 1);
    w.emu.stop().await;
}

#[tokio::test]
async fn remote_links_jira_failed_to_create_are_made_on_retry_once() {
    let w = crate::connections::world_with(|s| s.sync.retry_base_ms = 50).await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    // The app's first POST below an issue on each site is the remote link (TEST-2 has no
    // comments or attachments): Jira fails it once on both sides.
    for site in [&w.alpha, &w.beta] {
        w.app
            .http
            .put(format!("{site}/_emulator/faults"))
            .json(&json!({"rules": [{"pathPrefix": "/rest/api/3/issue/", "method": "POST", "principal": "app", "kind": "error", "status": 503, "remaining": 1}]}))
            .send()
            .await
            .unwrap();
    }
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    let links = |site: String, key: String| {
        let w = &w;
        async move {
            let (_, v) = jira(
                w,
                &site,
                "GET",
                &format!("/rest/api/3/issue/{key}/remotelink"),
                None,
            )
            .await;
            v.as_array()
                .into_iter()
                .flatten()
                .map(|l| l["object"]["title"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let started = Instant::now();
    loop {
        let a = links(w.alpha.clone(), "TEST-2".into()).await;
        let b = links(w.beta.clone(), twin_key.clone()).await;
        if a == [format!("{twin_key} on beta")] && b == ["TEST-2 on alpha"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "alpha {a:?} beta {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, found) = jira(
        &w,
        &w.beta,
        "POST",
        "/rest/api/3/search/jql",
        Some(json!({"jql": "project = SUP AND summary ~ \"dark mode\"", "fields": ["summary"]})),
    )
    .await;
    assert_eq!(found["issues"].as_array().unwrap().len(), 1, "one twin");
    w.emu.stop().await;
}

#[tokio::test]
async fn a_deleted_twin_ends_the_sync_quietly_and_exalate_starts_it_afresh() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    wait_panel(&w, &alpha, "TEST-2", "synchronized").await;
    // Beta's deletion webhook is lost, so only the next message finds out.
    w.app
        .http
        .put(format!("{}/_emulator/faults", w.beta))
        .json(&json!({"webhooks": {"dropProbability": 1.0}}))
        .send()
        .await
        .unwrap();
    let (s, _) = jira(
        &w,
        &w.beta,
        "DELETE",
        &format!("/rest/api/3/issue/{twin_key}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    // The next change on alpha finds the twin gone: TEST-2 is Not synced, nothing is an error,
    // and no new twin appears on its own.
    jira(
        &w,
        &w.alpha,
        "PUT",
        "/rest/api/3/issue/TEST-2",
        Some(json!({"fields": {"summary": "Dark mode, second attempt"}})),
    )
    .await;
    wait_panel(&w, &alpha, "TEST-2", "not_synced").await;
    let (_, errors) = w.api("GET", "/api/sync/errors", &alpha, None).await;
    assert_eq!(
        errors["errors"].as_array().map(Vec::len),
        Some(0),
        "{errors}"
    );
    let (_, queue) = w.api("GET", "/api/sync/queue", &alpha, None).await;
    assert_eq!(
        queue["outgoing"].as_array().map(Vec::len),
        Some(0),
        "{queue}"
    );
    let (_, prop) = jira(&w, &w.alpha, "GET", "/rest/api/3/issue/TEST-2/properties/com.atlassian.jira.issue:com.exalate.jiracloud:exalate-sync-status:status", None).await;
    assert!(prop.get("value").is_none(), "glance cleared: {prop}");
    let search = |jql: &'static str| {
        let w = &w;
        async move {
            let (_, v) = jira(
                w,
                &w.beta,
                "POST",
                "/rest/api/3/search/jql",
                Some(json!({"jql": jql, "fields": ["summary"]})),
            )
            .await;
            v["issues"].as_array().cloned().unwrap_or_default()
        }
    };
    assert!(search("project = SUP AND summary ~ \"dark mode\"")
        .await
        .is_empty());
    // Exalate again: a new twin with today's summary.
    exalate(&w, &alpha, "TEST-2", &uid).await;
    let again = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Dark mode, second attempt"
    })
    .await;
    assert_ne!(again["key"].as_str(), Some(twin_key.as_str()));
    wait_panel(&w, &alpha, "TEST-2", "synchronized").await;
    let (_, st) = w
        .api("GET", "/api/issues/TEST-2/status", &alpha, None)
        .await;
    assert_eq!(st["syncs"][0]["twinKey"], again["key"]);
    assert_eq!(
        search("project = SUP AND summary ~ \"dark mode\"")
            .await
            .len(),
        1
    );
    w.emu.stop().await;
}

#[tokio::test]
async fn deleting_an_issue_tells_its_twin_at_once_and_the_twin_stays() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let beta = w.token(&w.beta, ADMIN).await;
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    wait_panel(&w, &beta, &twin_key, "synchronized").await;
    wait_panel(&w, &alpha, "TEST-2", "synchronized").await;
    let (s, _) = jira(&w, &w.alpha, "DELETE", "/rest/api/3/issue/TEST-2", None).await;
    assert_eq!(s, 204);
    // Beta's panel turns Not synced without anyone touching the twin, which stays.
    wait_panel(&w, &beta, &twin_key, "not_synced").await;
    let (s, twin) = get_issue(&w, &w.beta, &twin_key).await;
    assert_eq!(s, 200);
    assert_eq!(
        twin["fields"]["summary"],
        "Add dark mode to the settings page"
    );
    let (_, prop) = jira(&w, &w.beta, "GET", &format!("/rest/api/3/issue/{twin_key}/properties/com.atlassian.jira.issue:com.exalate.jiracloud:exalate-sync-status:status"), None).await;
    assert!(prop.get("value").is_none(), "glance cleared: {prop}");
    for token in [&alpha, &beta] {
        let (_, errors) = w.api("GET", "/api/sync/errors", token, None).await;
        assert_eq!(
            errors["errors"].as_array().map(Vec::len),
            Some(0),
            "{errors}"
        );
        let (_, queue) = w.api("GET", "/api/sync/queue", token, None).await;
        assert_eq!(
            queue["outgoing"].as_array().map(Vec::len),
            Some(0),
            "{queue}"
        );
    }
    // An edit of the twin now stays on beta: nothing is recreated on alpha.
    jira(
        &w,
        &w.beta,
        "PUT",
        &format!("/rest/api/3/issue/{twin_key}"),
        Some(json!({"fields": {"summary": "Dark mode (kept by support)"}})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, found) = jira(
        &w,
        &w.alpha,
        "POST",
        "/rest/api/3/search/jql",
        Some(json!({"jql": "project = TEST AND summary ~ \"dark mode\"", "fields": ["summary"]})),
    )
    .await;
    assert_eq!(found["issues"].as_array().map(Vec::len), Some(0), "{found}");
    w.emu.stop().await;
}

#[tokio::test]
async fn a_deletion_whose_webhook_was_lost_is_found_by_the_sweep() {
    let w = crate::connections::world_with(|s| s.sync.deletion_sweep_secs = 1).await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let beta = w.token(&w.beta, ADMIN).await;
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    wait_panel(&w, &beta, &twin_key, "synchronized").await;
    wait_panel(&w, &alpha, "TEST-2", "synchronized").await;
    // Alpha's deletion webhook is lost; nobody touches the twin afterwards.
    w.app
        .http
        .put(format!("{}/_emulator/faults", w.alpha))
        .json(&json!({"webhooks": {"dropProbability": 1.0}}))
        .send()
        .await
        .unwrap();
    let (s, _) = jira(&w, &w.alpha, "DELETE", "/rest/api/3/issue/TEST-2", None).await;
    assert_eq!(s, 204);
    wait_panel(&w, &beta, &twin_key, "not_synced").await;
    let (s, _) = get_issue(&w, &w.beta, &twin_key).await;
    assert_eq!(s, 200, "the twin stays");
    w.emu.stop().await;
}

#[tokio::test]
async fn failures_show_in_errors_and_retry_delivers_once_the_cause_is_fixed() {
    let w = crate::connections::world_with(|s| {
        s.sync.retry_base_ms = 20;
        s.sync.poll_ms = 50;
    })
    .await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    // Beta's Jira refuses to create issues for now.
    let faults = format!("{}/_emulator/faults", w.beta);
    w.app.http.put(&faults).json(&json!({"rules": [{"pathPrefix": "/rest/api/3/issue", "method": "POST", "kind": "error", "status": 503}]})).send().await.unwrap();
    exalate(&w, &alpha, "TEST-1", &uid).await;
    let started = Instant::now();
    let error_id = loop {
        let (_, v) = w.api("GET", "/api/sync/errors", &alpha, None).await;
        if let Some(e) = v["errors"].as_array().and_then(|a| a.first()) {
            assert_eq!(e["issueKey"], "TEST-1");
            assert!(!e["cause"].as_str().unwrap_or("").is_empty());
            break e["id"].as_str().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no error shown: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (_, q) = w.api("GET", "/api/sync/queue", &alpha, None).await;
    assert_eq!(q["summary"][0]["outgoing"], 1, "{q}");
    assert_eq!(q["outgoing"][0]["issueKey"], "TEST-1");
    let (_, st) = w
        .api("GET", "/api/issues/TEST-1/status", &alpha, None)
        .await;
    assert_eq!(st["syncs"][0]["status"], "error");
    // The issue's glance label in Jira says so too (written right after the status).
    let started = Instant::now();
    loop {
        let (_, prop) = jira(&w, &w.alpha, "GET", "/rest/api/3/issue/TEST-1/properties/com.atlassian.jira.issue:com.exalate.jiracloud:exalate-sync-status:status", None).await;
        if prop["value"]["value"]["label"] == "Error" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{prop}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Non-admins cannot see or retry.
    let user = w.token(&w.alpha, ("user@example.com", "user-token")).await;
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/sync/errors/{error_id}/retry"),
            &user,
            None,
        )
        .await;
    assert_eq!(s, 403);
    // Fixed: Retry delivers, the error and the queue empty, one issue arrives.
    w.app.http.delete(&faults).send().await.unwrap();
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/sync/errors/{error_id}/retry"),
            &alpha,
            None,
        )
        .await;
    assert_eq!(s, 200);
    eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Customer cannot log in after password reset"
    })
    .await;
    let started = Instant::now();
    loop {
        let (_, q) = w.api("GET", "/api/sync/queue", &alpha, None).await;
        let (_, e) = w.api("GET", "/api/sync/errors", &alpha, None).await;
        if q["outgoing"].as_array().unwrap().is_empty()
            && e["errors"].as_array().unwrap().is_empty()
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{q} {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, found) = jira(
        &w,
        &w.beta,
        "POST",
        "/rest/api/3/search/jql",
        Some(json!({"jql": "project = SUP", "fields": ["summary"]})),
    )
    .await;
    let copies = found["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["fields"]["summary"] == "Customer cannot log in after password reset")
        .count();
    assert_eq!(copies, 1, "exactly one twin");
    w.emu.stop().await;
}

#[tokio::test]
async fn a_dropped_webhook_is_caught_by_the_reconciliation_poll_and_duplicates_change_nothing() {
    let w = crate::connections::world_with(|s| s.sync.reconcile_secs = 1).await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    // Every webhook of alpha is lost from now on.
    let faults = format!("{}/_emulator/faults", w.alpha);
    w.app
        .http
        .put(&faults)
        .json(&json!({"webhooks": {"dropProbability": 1.0}}))
        .send()
        .await
        .unwrap();
    jira(
        &w,
        &w.alpha,
        "PUT",
        "/rest/api/3/issue/TEST-2",
        Some(json!({"fields": {"summary": "Dark mode (webhook lost)"}})),
    )
    .await;
    eventually(&w, &w.beta, &format!("key = {twin_key}"), |i| {
        i["fields"]["summary"] == "Dark mode (webhook lost)"
    })
    .await;
    // Every webhook duplicated: still one comment on the other side.
    w.app
        .http
        .put(&faults)
        .json(&json!({"webhooks": {"duplicateProbability": 1.0}}))
        .send()
        .await
        .unwrap();
    jira(
        &w,
        &w.alpha,
        "POST",
        "/rest/api/3/issue/TEST-2/comment",
        Some(json!({"body": adf("said once")})),
    )
    .await;
    wait_comments(&w, &w.beta, &twin_key, |cs| {
        cs.iter().any(|c| text_of(c).ends_with("said once"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let said: Vec<_> = comments_of(&w, &w.beta, &twin_key)
        .await
        .into_iter()
        .filter(|c| text_of(c).ends_with("said once"))
        .collect();
    assert_eq!(said.len(), 1);
    w.emu.stop().await;
}

#[tokio::test]
async fn concurrent_edits_on_both_sides_converge_on_the_later_edit_per_field() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    // Hold both queues so the two edits cross: each side edits before seeing the other's.
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/deactivate"),
            &alpha,
            None,
        )
        .await;
    assert_eq!(s, 200);
    jira(
        &w,
        &w.alpha,
        "PUT",
        "/rest/api/3/issue/TEST-2",
        Some(json!({"fields": {"summary": "Summary from alpha (earlier)", "description": adf("Description from alpha")}})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    jira(
        &w,
        &w.beta,
        "PUT",
        &format!("/rest/api/3/issue/{twin_key}"),
        Some(json!({"fields": {"summary": "Summary from beta (later)"}})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (s, _) = w
        .api(
            "POST",
            &format!("/api/connections/{uid}/activate"),
            &alpha,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let converged = |i: &Value| {
        i["fields"]["summary"] == "Summary from beta (later)"
            && i["fields"]["description"]["content"][0]["content"][0]["text"]
                == "Description from alpha"
    };
    eventually(&w, &w.alpha, "key = TEST-2", converged).await;
    eventually(&w, &w.beta, &format!("key = {twin_key}"), converged).await;
    // And they stay there: no ping-pong between the two values.
    assert_quiet(&w).await;
    eventually(&w, &w.alpha, "key = TEST-2", converged).await;
    eventually(&w, &w.beta, &format!("key = {twin_key}"), converged).await;
    w.emu.stop().await;
}

#[tokio::test]
async fn deleting_a_connection_stops_sync_and_leaves_both_issues_as_they_are() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let twin_key = exalate_test_2(&w, &alpha, &uid).await;
    let (s, _) = w
        .api("DELETE", &format!("/api/connections/{uid}"), &alpha, None)
        .await;
    assert_eq!(s, 204);
    jira(
        &w,
        &w.alpha,
        "PUT",
        "/rest/api/3/issue/TEST-2",
        Some(json!({"fields": {"summary": "Edited after the connection was deleted"}})),
    )
    .await;
    jira(
        &w,
        &w.beta,
        "PUT",
        &format!("/rest/api/3/issue/{twin_key}"),
        Some(json!({"fields": {"summary": "Beta edited after the delete"}})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    eventually(&w, &w.beta, &format!("key = {twin_key}"), |i| {
        i["fields"]["summary"] == "Beta edited after the delete"
    })
    .await;
    eventually(&w, &w.alpha, "key = TEST-2", |i| {
        i["fields"]["summary"] == "Edited after the connection was deleted"
    })
    .await;
    // Nothing queued for a connection that no longer exists, and both issues are still there.
    let (_, q) = w.api("GET", "/api/sync/queue", &alpha, None).await;
    assert_eq!(q["outgoing"].as_array().map(Vec::len), Some(0), "{q}");
    let (s, _) = get_issue(&w, &w.beta, &twin_key).await;
    assert_eq!(s, 200);
    w.emu.stop().await;
}

#[tokio::test]
async fn an_edit_on_the_other_side_keeps_the_images_embedded_in_the_description() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let para = |t: &str| json!({"type": "paragraph", "content": [{"type": "text", "text": t}]});
    let image = json!({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
        {"type": "media", "attrs": {"id": "0f6f3b1c-5c53-4c5e-9a59-4f1f2c0b7d11", "type": "file", "collection": ""}}]});
    let doc = |c: Vec<Value>| json!({"type": "doc", "version": 1, "content": c});
    let (s, created) = jira(&w, &w.alpha, "POST", "/rest/api/3/issue", Some(json!({"fields": {
        "project": {"key": "TEST"}, "summary": "Checkout button overlaps the total", "issuetype": {"name": "Bug"},
        "description": doc(vec![para("Screenshot:"), image.clone(), para("Seen on Chrome.")])}}))).await;
    assert_eq!(s, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    exalate(&w, &alpha, &key, &uid).await;

    // Beta cannot show alpha's file inline: the twin gets the text only.
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Checkout button overlaps the total"
    })
    .await;
    let twin_key = twin["key"].as_str().unwrap().to_owned();
    assert_eq!(
        twin["fields"]["description"],
        doc(vec![para("Screenshot:"), para("Seen on Chrome.")])
    );

    // Someone on beta edits the text; alpha gets the edit and keeps its screenshot in place.
    let edited = doc(vec![
        para("Screenshot:"),
        para("Seen on Chrome and Firefox."),
    ]);
    jira(
        &w,
        &w.beta,
        "PUT",
        &format!("/rest/api/3/issue/{twin_key}"),
        Some(json!({"fields": {"description": edited}})),
    )
    .await;
    let on_alpha = eventually(&w, &w.alpha, &format!("key = {key}"), |i| {
        i["fields"]["description"].to_string().contains("Firefox")
    })
    .await;
    assert_eq!(
        on_alpha["fields"]["description"],
        doc(vec![
            para("Screenshot:"),
            image,
            para("Seen on Chrome and Firefox.")
        ])
    );
    // Nothing comes back to beta from alpha's kept image.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_quiet(&w).await;
    let (_, twin) = get_issue(&w, &w.beta, &twin_key).await;
    assert_eq!(twin["fields"]["description"], edited);
    w.emu.stop().await;
}

#[tokio::test]
async fn a_sync_message_jira_would_refuse_or_with_a_forged_issue_is_refused_and_changes_nothing() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let secret = peer_secret(&w, &uid).await;
    let path = format!("/peer/connections/{uid}/sync");
    // A message from alpha's side (correctly signed) about TEST-1, seq 1.
    let message = |description: Value, comment: Value| {
        json!({
            "seq": 1, "senderSiteUrl": w.alpha, "senderIssueId": "10000", "senderIssueKey": "TEST-1",
            "senderProjectKey": "TEST", "changed": ["summary", "description", "issueType", "comments"],
            "replica": {"summary": "Sent by a peer", "description": description, "issueType": "Bug",
                        "comments": [{"id": "1", "author": "Ann", "body": comment}]}})
    };
    let sign_and_send = |msg: Value, nonce: &'static str| {
        let body = serde_json::to_vec(&msg).unwrap();
        let (w, path, secret) = (&w, &path, &secret);
        async move {
            peer_post(
                w,
                path,
                secret,
                chrono::Utc::now().timestamp(),
                nonce,
                &body,
            )
            .await
        }
    };
    let sup_issues = || async {
        let (_, v) = jira(
            &w,
            &w.beta,
            "POST",
            "/rest/api/3/search/jql",
            Some(json!({"jql": "project = SUP"})),
        )
        .await;
        v["issues"].as_array().unwrap().len()
    };
    let before = sup_issues().await;
    let bad =
        json!({"type": "doc", "version": 1, "content": [{"type": "blink", "text": "<script>"}]});
    for (description, comment, nonce, what) in [
        (bad.clone(), adf("fine"), "n-1", "the description"),
        (adf("fine"), bad.clone(), "n-2", "comment 1"),
        (
            json!("<p>not ADF at all</p>"),
            adf("fine"),
            "n-3",
            "the description",
        ),
    ] {
        let resp = sign_and_send(message(description, comment), nonce).await;
        assert_eq!(resp.status().as_u16(), 400);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_adf", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "TEST-1: {what} is not valid Atlassian Document Format"
            )),
            "{message}"
        );
    }
    // What it says about its issue ends up in links and the panel: only what Jira makes.
    for (field, value, nonce) in [
        (
            "senderIssueKey",
            "TEST-1\"><img src=x onerror=alert(1)>",
            "n-5",
        ),
        ("senderIssueKey", "../../rest/api/3/myself#", "n-6"),
        ("senderIssueId", "10000/../10001", "n-7"),
        ("senderProjectKey", "test", "n-8"),
        ("commentId", "1/../../../myself", "n-9"),
    ] {
        let mut msg = message(adf("fine"), adf("fine"));
        match field {
            "commentId" => msg["replica"]["comments"][0]["id"] = json!(value),
            _ => msg[field] = json!(value),
        }
        let resp = sign_and_send(msg, nonce).await;
        assert_eq!(resp.status().as_u16(), 400, "{field} {value}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_sync_message", "{v}");
    }
    assert_eq!(sup_issues().await, before, "nothing is created on beta");
    // A connection that does not exist is refused (before its body is read).
    let resp = w
        .app
        .http
        .post(format!(
            "{}/peer/connections/no-such-connection/sync",
            w.app.address
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // Nothing was recorded either: the same sequence number, now valid, is applied.
    let resp = sign_and_send(message(adf("Valid now"), adf("A comment")), "n-4").await;
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap()
    );
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Sent by a peer"
    })
    .await;
    assert_eq!(twin["fields"]["description"], adf("Valid now"));
    assert_eq!(sup_issues().await, before + 1);
    w.emu.stop().await;
}

#[tokio::test]
async fn an_issue_with_a_long_discussion_syncs_whole() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let (_, created) = jira(&w, &w.alpha, "POST", "/rest/api/3/issue", Some(json!({"fields": {
        "project": {"key": "TEST"}, "summary": "Long-running incident", "issuetype": {"name": "Bug"}}}))).await;
    let key = created["key"].as_str().unwrap().to_owned();
    // 48 comments near Jira's 32,767-character limit: the issue's replica is ~1.5 MB, more than
    // any webhook or page request is allowed to carry.
    let n = 48;
    for i in 0..n {
        let text = format!("Update {i:02}: {}", "log line. ".repeat(3_000));
        let (s, _) = jira(
            &w,
            &w.alpha,
            "POST",
            &format!("/rest/api/3/issue/{key}/comment"),
            Some(json!({"body": adf(&text)})),
        )
        .await;
        assert_eq!(s, 201);
    }
    exalate(&w, &alpha, &key, &uid).await;
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Long-running incident"
    })
    .await;
    let twin_key = twin["key"].as_str().unwrap().to_owned();
    let cs = wait_comments(&w, &w.beta, &twin_key, |cs| cs.len() >= n).await;
    assert_eq!(cs.len(), n);
    assert!(text_of(&cs[n - 1]).contains(&format!("Update {:02}: log line.", n - 1)));
    wait_panel(&w, &alpha, &key, "synchronized").await;
    // Later changes (each message carries the whole discussion) still flow.
    jira(
        &w,
        &w.alpha,
        "PUT",
        &format!("/rest/api/3/issue/{key}"),
        Some(json!({"fields": {"summary": "Long-running incident (resolved)"}})),
    )
    .await;
    eventually(&w, &w.beta, &format!("key = {twin_key}"), |i| {
        i["fields"]["summary"] == "Long-running incident (resolved)"
    })
    .await;
    assert_eq!(comments_of(&w, &w.beta, &twin_key).await.len(), n);
    w.emu.stop().await;
}

#[tokio::test]
async fn more_comments_than_jira_answers_in_one_page_all_arrive_once() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let (_, created) = jira(
        &w,
        &w.alpha,
        "POST",
        "/rest/api/3/issue",
        Some(json!({"fields": {
        "project": {"key": "TEST"}, "summary": "Busy ticket", "issuetype": {"name": "Task"}}})),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    // Jira Cloud answers 100 comments a page at most.
    let n = 130;
    let mut ids = Vec::new();
    for i in 0..n {
        let (_, c) = jira(
            &w,
            &w.alpha,
            "POST",
            &format!("/rest/api/3/issue/{key}/comment"),
            Some(json!({"body": adf(&format!("Comment {i:03}"))})),
        )
        .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    exalate(&w, &alpha, &key, &uid).await;
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Busy ticket"
    })
    .await;
    let twin_key = twin["key"].as_str().unwrap().to_owned();
    let all_on_beta = || async {
        let mut texts = Vec::new();
        for start in [0, 100] {
            let (_, v) = jira(
                &w,
                &w.beta,
                "GET",
                &format!("/rest/api/3/issue/{twin_key}/comment?startAt={start}"),
                None,
            )
            .await;
            texts.extend(v["comments"].as_array().unwrap().iter().map(text_of));
        }
        texts
    };
    let started = Instant::now();
    while all_on_beta().await.len() < n {
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_panel(&w, &alpha, &key, "synchronized").await;
    let texts = all_on_beta().await;
    let want: Vec<String> = (0..n)
        .map(|i| format!("Alice Admin wrote:\nComment {i:03}"))
        .collect();
    assert_eq!(texts, want);

    // An edit of the summary reads the comments again: none beyond the first page is taken for
    // deleted. Deleting one past the first page deletes its twin only.
    jira(
        &w,
        &w.alpha,
        "PUT",
        &format!("/rest/api/3/issue/{key}"),
        Some(json!({"fields": {"summary": "Busy ticket (triaged)"}})),
    )
    .await;
    jira(
        &w,
        &w.alpha,
        "DELETE",
        &format!("/rest/api/3/issue/{key}/comment/{}", ids[120]),
        None,
    )
    .await;
    let started = Instant::now();
    while all_on_beta().await.len() != n - 1 {
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually(&w, &w.beta, &format!("key = {twin_key}"), |i| {
        i["fields"]["summary"] == "Busy ticket (triaged)"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut want = want;
    want.remove(120);
    assert_eq!(all_on_beta().await, want);
    w.emu.stop().await;
}
