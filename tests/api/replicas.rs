//! Two app replicas on one PostgreSQL behind a round-robin proxy (webhooks, peer messages and
//! console calls spread across both), with people editing both sides while the app writes: every
//! change arrives exactly once, nothing is lost, and the app never writes a value back that is
//! already there (an echo).

use crate::connections::{world_with, World};
use crate::helpers::spawn_app_with;
use crate::sync::{adf, connect_remote, exalate_all};
use jira_emulator::site::Principal;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");

/// A TCP round-robin in front of the replicas: each new connection goes to the next one.
async fn round_robin(backends: Arc<Mutex<Vec<String>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = {
                let b = backends.lock().unwrap();
                if b.is_empty() {
                    continue;
                }
                b[next.fetch_add(1, Ordering::Relaxed) % b.len()].clone()
            };
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A person editing in Jira (the emulator's seeded admin), not the app.
fn person() -> Principal {
    Principal::User {
        account_id: "557058:f0a1b2c3-0000-4000-8000-00000000a001".into(),
    }
}

/// (summary, description text, comment texts) of every issue of `site` whose summary holds
/// `prefix`, sorted.
fn state(w: &World, site: &str, prefix: &str) -> Vec<(String, String, Vec<String>)> {
    let d = w.emu.site(site).site.lock();
    let mut out: Vec<_> = d
        .issues
        .values()
        .filter(|i| i.summary.contains(prefix))
        .map(|i| {
            let mut comments: Vec<String> = i
                .comments
                .iter()
                .map(|c| jira_emulator::render::adf_to_text(&c.body))
                .collect();
            comments.sort();
            (
                i.summary.clone(),
                i.description
                    .as_ref()
                    .map(jira_emulator::render::adf_to_text)
                    .unwrap_or_default(),
                comments,
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn two_replicas_behind_a_proxy_lose_nothing_and_never_echo_while_people_edit() {
    if !std::env::var("EXALATE_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("two replicas share a database on PostgreSQL only: skipped on SQLite");
        return;
    }
    let backends = Arc::new(Mutex::new(Vec::new()));
    let public = round_robin(backends.clone()).await;
    let base = public.clone();
    let w = world_with(move |s| {
        s.server.base_url = base;
        s.sync.concurrency = 4;
    })
    .await;
    backends
        .lock()
        .unwrap()
        .push(w.app.address.trim_start_matches("http://").to_owned());
    let first = w.app.settings.clone();
    let second = spawn_app_with(move |s| {
        s.database.url = first.database.url;
        s.security.encryption_key = first.security.encryption_key;
        s.server.base_url = first.server.base_url;
        s.connect.install_keys_url = first.connect.install_keys_url;
        s.sync.concurrency = 4;
    })
    .await;
    backends
        .lock()
        .unwrap()
        .push(second.address.trim_start_matches("http://").to_owned());

    let uid = connect_remote(&w).await;
    let alpha_token = w.token(&w.alpha, ADMIN).await;
    let n = 30;
    let alpha = w.emu.site("alpha").site.clone();
    let beta = w.emu.site("beta").site.clone();
    let keys: Vec<String> = (0..n)
        .map(|i| {
            let v = alpha
                .create_issue(&person(), &json!({"fields": {"project": {"key": "TEST"}, "summary": format!("Pair {i}"), "issuetype": {"name": "Task"}}}))
                .unwrap();
            v["key"].as_str().unwrap().to_owned()
        })
        .collect();
    exalate_all(&w, &alpha_token, &uid, &keys, 8).await;
    let started = Instant::now();
    while state(&w, "beta", "Pair ").len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "twins on beta"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let twin_of = |i: usize| -> String {
        let d = beta.lock();
        d.issues
            .values()
            .find(|x| x.summary == format!("Pair {i}"))
            .map(|x| x.key.clone())
            .expect("twin")
    };
    let twins: Vec<String> = (0..n).map(twin_of).collect();
    let quiet_before = (
        writes_that_changed_nothing(&w, &w.alpha).await,
        writes_that_changed_nothing(&w, &w.beta).await,
    );

    // Three rounds of people's edits on both sides while the app is still writing the last.
    // Latency keeps each app write in flight long enough for the races to happen.
    let slow = json!({"rules": [{"kind": "latency", "latencyMs": 15}]});
    for site in [&w.alpha, &w.beta] {
        w.app
            .http
            .put(format!("{site}/_emulator/faults"))
            .json(&slow)
            .send()
            .await
            .unwrap();
    }
    for round in 0..3 {
        for i in 0..n {
            alpha
                .edit_issue(
                    &person(),
                    &keys[i],
                    &json!({"fields": {"summary": format!("Pair {i} r{round}")}}),
                )
                .unwrap();
            beta
                .edit_issue(&person(), &twins[i], &json!({"fields": {"description": adf(&format!("described on beta {i} r{round}"))}}))
                .unwrap();
            alpha
                .add_comment(
                    &person(),
                    &keys[i],
                    &json!({"body": adf(&format!("alpha says {i} r{round}"))}),
                )
                .unwrap();
            beta.add_comment(
                &person(),
                &twins[i],
                &json!({"body": adf(&format!("beta says {i} r{round}"))}),
            )
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every pair converges: the last summary from alpha, the last description from beta, and
    // all six comments on each side, each exactly once.
    let started = Instant::now();
    loop {
        let (a, b) = (state(&w, "alpha", "Pair "), state(&w, "beta", "Pair "));
        let done = a.len() == n
            && b.len() == n
            && a.iter().zip(&b).all(|(x, y)| {
                x.0 == y.0
                    && x.0.ends_with(" r2")
                    && x.1 == y.1
                    && x.1.starts_with("described on beta")
                    && x.1.ends_with(" r2")
                    && x.2.len() == 6
                    && y.2.len() == 6
            });
        if done {
            for (x, y) in a.iter().zip(&b) {
                for side in [&x.2, &y.2] {
                    let mut unique = side.clone();
                    unique.dedup();
                    assert_eq!(&unique, side, "a comment twice on {}", x.0);
                }
            }
            break;
        }
        let lagging: Vec<_> = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| x != y || x.2.len() != 6)
            .take(3)
            .collect();
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "not converged: {lagging:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let quiet_after = (
        writes_that_changed_nothing(&w, &w.alpha).await,
        writes_that_changed_nothing(&w, &w.beta).await,
    );
    assert_eq!(
        quiet_after, quiet_before,
        "the app wrote values that were already there (echo)"
    );
    let (a, b) = (
        w.app.state.sync.delivered.load(Ordering::Relaxed),
        second.state.sync.delivered.load(Ordering::Relaxed),
    );
    assert!(a > 0 && b > 0, "both replicas took work ({a} + {b})");
    w.emu.stop().await;
}

/// The emulator's count of the app's issue edits that changed nothing (an echo of its own write).
async fn writes_that_changed_nothing(w: &World, site: &str) -> u64 {
    let c: Value = w
        .app
        .http
        .get(format!("{site}/_emulator/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c["noopWrites"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("app:"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0)
}
