//! Nothing lost when things break: a storm of 429s and 5xx from both Jira sites, the other
//! Exalate node down for a while, and two app replicas sharing one PostgreSQL queue. Each test
//! asserts what users see on the other site: every issue and comment exactly once.

use crate::connections::{world, world_with};
use crate::crash::{
    alpha_and_beta, api, connect_by_code, free_port, install_app, start_app, token, wait_up,
};
use crate::helpers::{spawn_app_with, TestApp};
use crate::sync::{connect_remote, eventually};
use jira_emulator::site::{Principal, Site};
use jira_emulator::Emulator;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");

fn admin() -> Principal {
    Principal::User {
        account_id: "557058:f0a1b2c3-0000-4000-8000-00000000a001".into(),
    }
}

fn doc(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

/// `n` issues on alpha's TEST project, each with one comment, straight in the emulator (so the
/// test's own set-up is not hit by the faults it switches on).
pub(crate) fn seed(site: &Site, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let created = site
                .create_issue(&admin(), &json!({"fields": {"project": {"key": "TEST"}, "summary": format!("{prefix} {i}"), "issuetype": {"name": "Task"}}}))
                .unwrap();
            let key = created["key"].as_str().unwrap().to_owned();
            site.add_comment(&admin(), &key, &json!({"body": doc(&format!("comment of {prefix} {i}"))}))
                .unwrap();
            key
        })
        .collect()
}

/// Summary → number of comments of the issues on `site` whose summary starts with `prefix`.
fn twins(emu: &Emulator, site: &str, prefix: &str) -> Vec<(String, usize)> {
    let d = emu.site(site).site.lock();
    let mut out: Vec<(String, usize)> = d
        .issues
        .values()
        .filter(|i| i.summary.starts_with(prefix))
        .map(|i| (i.summary.clone(), i.comments.len()))
        .collect();
    out.sort();
    out
}

pub(crate) async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Exactly once: `n` issues named `prefix 0..n`, each with exactly `comments` comments.
fn assert_exactly_once(found: &[(String, usize)], prefix: &str, n: usize, comments: usize) {
    let mut want: Vec<String> = (0..n).map(|i| format!("{prefix} {i}")).collect();
    want.sort();
    let got: Vec<String> = found.iter().map(|(s, _)| s.clone()).collect();
    assert_eq!(got, want, "each issue exactly once");
    for (s, c) in found {
        assert_eq!(*c, comments, "{s} has {c} comments");
    }
}

pub(crate) async fn set_faults(w: &crate::connections::World, site: &str, body: Value) {
    let r = w
        .app
        .http
        .put(format!("{site}/_emulator/faults"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn a_storm_of_429s_and_5xx_on_both_sites_loses_and_duplicates_nothing() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let keys = seed(&w.emu.site("alpha").site, "Storm", 12);
    // 30% of every REST call to either site fails: half 429 (with Retry-After), half 503.
    let storm = json!({"rules": [
        {"kind": "rate_limit", "probability": 0.15, "retryAfterSecs": 1},
        {"kind": "error", "status": 503, "probability": 0.1765}
    ]});
    set_faults(&w, &w.alpha, storm.clone()).await;
    set_faults(&w, &w.beta, storm).await;
    for key in &keys {
        // The button reads the issue first; a user whose click failed clicks again.
        let mut tries = 0;
        loop {
            let (s, v) = w
                .api(
                    "POST",
                    &format!("/api/issues/{key}/exalate"),
                    &alpha,
                    Some(json!({"connectionId": uid})),
                )
                .await;
            if s == 202 {
                break;
            }
            tries += 1;
            assert!(s >= 500 && tries < 10, "{key}: {s} {v}");
        }
    }
    wait_for(
        "every issue and comment on beta",
        Duration::from_secs(90),
        || {
            let t = twins(&w.emu, "beta", "Storm ");
            t.len() >= 12 && t.iter().all(|(_, c)| *c >= 1)
        },
    )
    .await;
    // Edits during the storm arrive too.
    let site = &w.emu.site("alpha").site;
    for key in keys.iter().take(4) {
        site.add_comment(&admin(), key, &json!({"body": doc("second comment")}))
            .unwrap();
    }
    wait_for(
        "the second comments on beta",
        Duration::from_secs(90),
        || {
            twins(&w.emu, "beta", "Storm ")
                .iter()
                .filter(|(_, c)| *c == 2)
                .count()
                >= 4
        },
    )
    .await;
    set_faults(&w, &w.alpha, json!({"rules": []})).await;
    set_faults(&w, &w.beta, json!({"rules": []})).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let found = twins(&w.emu, "beta", "Storm ");
    let mut want: Vec<String> = (0..12).map(|i| format!("Storm {i}")).collect();
    want.sort();
    assert_eq!(
        found.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        want
    );
    let shape = |found: &[(String, usize)]| {
        (
            found.len(),
            found.iter().filter(|(_, c)| *c == 2).count(),
            found.iter().filter(|(_, c)| *c == 1).count(),
        )
    };
    assert_eq!(
        shape(&found),
        (12, 4, 8),
        "comments exactly once: {found:?}"
    );
    // And nothing came back to alpha (no echo, no duplicate).
    let home = twins(&w.emu, "alpha", "Storm ");
    assert_eq!(shape(&home), (12, 4, 8), "alpha unchanged: {home:?}");
    w.emu.stop().await;
}

#[tokio::test]
async fn the_other_node_down_for_a_while_gets_everything_once_it_is_back() {
    // Two Exalate nodes, one per site, each with its own database: beta's is stopped (kill -9)
    // while alpha keeps changing, then started again.
    let (emu, alpha, beta) = alpha_and_beta(None).await;
    let keys_url = format!("{alpha}/_emulator/install-keys");
    let (pa, pb) = (free_port(), free_port());
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let http = reqwest::Client::new();
    let mut node_a = start_app(da.path(), pa, &keys_url);
    let mut node_b = start_app(db.path(), pb, &keys_url);
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    wait_up(&http, &base_a).await;
    wait_up(&http, &base_b).await;
    for (site, base) in [(&alpha, &base_a), (&beta, &base_b)] {
        install_app(&http, site, base).await;
    }
    let (ta, tb) = (token(&http, &alpha).await, token(&http, &beta).await);
    let uid = connect_by_code(&http, (&base_a, &ta), (&base_b, &tb)).await;
    let keys = seed(&emu.site("alpha").site, "Down", 6);
    for key in &keys[..3] {
        crate::crash::exalate_on(&http, &base_a, &ta, key, &uid).await;
    }
    wait_for("the first three on beta", Duration::from_secs(30), || {
        twins(&emu, "beta", "Down ").len() == 3
    })
    .await;

    node_b.kill().unwrap();
    node_b.wait().unwrap();
    // While beta's node is down: new issues exalated, comments added, a summary edited.
    for key in &keys[3..] {
        crate::crash::exalate_on(&http, &base_a, &ta, key, &uid).await;
    }
    let site = &emu.site("alpha").site;
    for key in &keys[..2] {
        site.add_comment(&admin(), key, &json!({"body": doc("while beta was down")}))
            .unwrap();
    }
    site.edit_issue(
        &admin(),
        &keys[2],
        &json!({"fields": {"summary": "Down 2 (edited)"}}),
    )
    .unwrap();
    // The admin sees the queue waiting, with the reason.
    let started = Instant::now();
    loop {
        let (s, q) = api(&http, &base_a, "GET", "/api/sync/queue", &ta, Value::Null).await;
        assert_eq!(s, 200, "{q}");
        let waiting = q["outgoing"].as_array().map(Vec::len).unwrap_or(0);
        let reason = q["outgoing"][0]["lastError"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if waiting >= 5 && reason.contains("could not be reached") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "queue: {q}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        twins(&emu, "beta", "Down ").len(),
        3,
        "nothing arrives while down"
    );

    node_b = start_app(db.path(), pb, &keys_url);
    wait_up(&http, &base_b).await;
    wait_for(
        "everything on beta after the restart",
        Duration::from_secs(60),
        || {
            let t = twins(&emu, "beta", "Down ");
            t.len() == 6
                && t.iter().any(|(s, _)| s == "Down 2 (edited)")
                && t.iter().filter(|(_, c)| *c == 2).count() == 2
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let found = twins(&emu, "beta", "Down ");
    assert_eq!(found.len(), 6, "{found:?}");
    assert_eq!(
        found.iter().filter(|(_, c)| *c == 2).count(),
        2,
        "{found:?}"
    );
    assert_eq!(
        found.iter().filter(|(_, c)| *c == 1).count(),
        4,
        "{found:?}"
    );
    let (_, q) = api(&http, &base_a, "GET", "/api/sync/queue", &ta, Value::Null).await;
    assert_eq!(q["outgoing"].as_array().map(Vec::len), Some(0), "{q}");
    let (_, e) = api(&http, &base_a, "GET", "/api/sync/errors", &ta, Value::Null).await;
    assert_eq!(e["errors"].as_array().map(Vec::len), Some(0), "{e}");
    node_a.kill().ok();
    node_b.kill().ok();
    node_a.wait().ok();
    node_b.wait().ok();
    emu.stop().await;
}

/// A second replica of the world's app: same database, same key, same public URL (as behind a
/// load balancer), four twins at a time like the first.
pub(crate) async fn second_replica(w: &crate::connections::World) -> TestApp {
    let first = &w.app.settings;
    let (url, key, base, keys_url) = (
        first.database.url.clone(),
        first.security.encryption_key.clone(),
        first.server.base_url.clone(),
        first.connect.install_keys_url.clone(),
    );
    spawn_app_with(move |s| {
        s.database.url = url;
        s.security.encryption_key = key;
        s.server.base_url = base;
        s.connect.install_keys_url = keys_url;
        s.sync.concurrency = 4;
    })
    .await
}

#[tokio::test]
async fn two_replicas_on_postgresql_share_the_queue_without_duplicates() {
    if !std::env::var("EXALATE_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("two replicas share a queue on PostgreSQL only: skipped on SQLite");
        return;
    }
    let w = world_with(|s| s.sync.concurrency = 4).await;
    let second = second_replica(&w).await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let keys = seed(&w.emu.site("alpha").site, "Shared", 60);
    // Jira answering at 20 ms per call keeps each delivery busy long enough for both to work.
    let slow = json!({"rules": [{"kind": "latency", "latencyMs": 20}]});
    set_faults(&w, &w.alpha, slow.clone()).await;
    set_faults(&w, &w.beta, slow).await;
    crate::sync::exalate_all(&w, &alpha, &uid, &keys, 8).await;
    wait_for("all 60 on beta", Duration::from_secs(120), || {
        let t = twins(&w.emu, "beta", "Shared ");
        t.len() >= 60 && t.iter().all(|(_, c)| *c >= 1)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_exactly_once(&twins(&w.emu, "beta", "Shared "), "Shared", 60, 1);
    let (a, b) = (
        w.app.state.sync.delivered.load(Ordering::Relaxed),
        second.state.sync.delivered.load(Ordering::Relaxed),
    );
    assert_eq!(a + b, 60, "every message delivered once ({a} + {b})");
    assert!(a > 0 && b > 0, "both replicas took work ({a} + {b})");
    // The twins on beta are linked back: edits keep flowing through either replica.
    eventually(&w, &w.alpha, "key = TEST-1", |_| true).await;
    w.emu.stop().await;
}

#[tokio::test]
async fn rate_limits_slow_the_sync_down_but_never_show_as_errors() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let keys = seed(&w.emu.site("alpha").site, "Paced", 6);
    // Half of beta's answers are 429 with Retry-After: 1.
    set_faults(
        &w,
        &w.beta,
        json!({"rules": [{"kind": "rate_limit", "probability": 0.5, "retryAfterSecs": 1}]}),
    )
    .await;
    for key in &keys {
        crate::sync::exalate(&w, &alpha, key, &uid).await;
    }
    let started = Instant::now();
    loop {
        let (_, e) = w.api("GET", "/api/sync/errors", &alpha, None).await;
        assert_eq!(e["errors"].as_array().map(Vec::len), Some(0), "{e}");
        let t = twins(&w.emu, "beta", "Paced ");
        if t.len() == 6 && t.iter().all(|(_, c)| *c == 1) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{t:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    set_faults(&w, &w.beta, json!({"rules": []})).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_exactly_once(&twins(&w.emu, "beta", "Paced "), "Paced", 6, 1);
    w.emu.stop().await;
}
