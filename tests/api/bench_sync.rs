//! Sync benchmarks, run by `bash bench/sync.sh` (ignored in the normal test run):
//! latency of an edit on alpha until it is visible on beta at 10 edits/s, Jira calls per synced
//! change, and the initial sync throughput of issues with comments and an attachment with the
//! emulated Jira answering at 20 ms per call.

use crate::connections::{world_with, World};
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

async fn connect(w: &World) -> String {
    let alpha = w.token(&w.alpha, ADMIN).await;
    let beta = w.token(&w.beta, ADMIN).await;
    let (_, v) = w
        .api(
            "POST",
            "/api/connections",
            &alpha,
            Some(json!({"destinationUrl": null, "localProjectKey": "TEST"})),
        )
        .await;
    let code = v["invitationCode"].as_str().unwrap().to_owned();
    let (_, v) = w
        .api(
            "POST",
            "/api/invitations/accept",
            &beta,
            Some(json!({"code": code, "projectKey": "SUP"})),
        )
        .await;
    v["connection"]["id"].as_str().unwrap().to_owned()
}

fn admin() -> jira_emulator::site::Principal {
    jira_emulator::site::Principal::User {
        account_id: "557058:f0a1b2c3-0000-4000-8000-00000000a001".into(),
    }
}

async fn app_requests(w: &World) -> u64 {
    let mut n = 0;
    for site in [&w.alpha, &w.beta] {
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
        n += c["byPrincipal"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.starts_with("app:"))
                    .map(|(_, v)| v.as_u64().unwrap_or(0))
                    .sum::<u64>()
            })
            .unwrap_or(0);
    }
    n
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test]
#[ignore = "benchmark: bash bench/sync.sh"]
async fn bench_sync_latency() {
    let edits = env_usize("BENCH_EDITS", 300);
    let w = world_with(|s| {
        s.jira.requests_per_second = 1000;
        s.sync.poll_ms = 100;
    })
    .await;
    let uid = connect(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    crate::sync::exalate(&w, &alpha, "TEST-1", &uid).await;
    let beta_site = w.emu.site("beta").site.clone();
    let alpha_site = w.emu.site("alpha").site.clone();
    let twin_id = loop {
        let found = beta_site
            .lock()
            .issues
            .values()
            .find(|i| {
                i.project_id == "10010"
                    && i.summary == "Customer cannot log in after password reset"
            })
            .map(|i| i.id);
        if let Some(id) = found {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls_before = app_requests(&w).await;
    let mut lat = Vec::new();
    let interval = Duration::from_millis(100); // 10 edits per second
    let mut next = Instant::now();
    for n in 0..edits {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        let summary = format!("latency edit {n}");
        let t0 = Instant::now();
        alpha_site
            .edit_issue(&admin(), "TEST-1", &json!({"fields": {"summary": summary}}))
            .unwrap();
        loop {
            if beta_site
                .lock()
                .issues
                .get(&twin_id)
                .map(|i| i.summary == summary)
                .unwrap_or(false)
            {
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let c: Value = w
                    .app
                    .http
                    .get(format!("{}/_emulator/counters", w.alpha))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let q = w.api("GET", "/api/sync/queue", &alpha, None).await;
                let b: Value = w
                    .app
                    .http
                    .get(format!("{}/_emulator/counters", w.beta))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let rows = exalate::entities::synced_issues::Entity::find()
                    .all(&w.app.db)
                    .await
                    .unwrap();
                let inbox = exalate::entities::sync_inbox::Entity::find()
                    .all(&w.app.db)
                    .await
                    .unwrap();
                panic!("edit {n} never arrived: alpha counters {c}\nbeta {b}\nqueue {q:?}\nrows {rows:#?}\ninbox {inbox:#?}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = app_requests(&w).await - calls_before;
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "sync_latency edits={edits} rate=10/s p50_ms={:.1} p90_ms={:.1} p99_ms={:.1} max_ms={:.1} jira_calls_per_change={:.1}",
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99),
        lat.last().unwrap(),
        calls as f64 / edits as f64
    );
    w.emu.stop().await;
}

#[tokio::test]
#[ignore = "benchmark: bash bench/sync.sh"]
async fn bench_sync_throughput() {
    let issues = env_usize("BENCH_ISSUES", 1000);
    let latency_ms = env_usize("BENCH_JIRA_LATENCY_MS", 20) as u64;
    let w = world_with(|s| {
        s.jira.requests_per_second = 10_000;
        s.jira.max_concurrent_requests = 64;
        s.sync.poll_ms = 50;
    })
    .await;
    let uid = connect(&w).await;
    let alpha = w.token(&w.alpha, ADMIN).await;
    let alpha_site = w.emu.site("alpha").site.clone();
    let beta_site = w.emu.site("beta").site.clone();
    let attachment = vec![7u8; 100 * 1024];
    let mut keys = Vec::new();
    for n in 0..issues {
        let created = alpha_site
            .create_issue(&admin(), &json!({"fields": {"project": {"key": "TEST"}, "summary": format!("tp {n}"), "issuetype": {"name": "Task"}}}))
            .unwrap();
        let key = created["key"].as_str().unwrap().to_owned();
        for c in 0..3 {
            alpha_site
                .add_comment(&admin(), &key, &json!({"body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": format!("comment {c}")}]}]}}))
                .unwrap();
        }
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(attachment.clone()).file_name("100k.bin"),
        );
        w.app
            .http
            .post(format!("{}/rest/api/3/issue/{key}/attachments", w.alpha))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .header("X-Atlassian-Token", "no-check")
            .multipart(form)
            .send()
            .await
            .unwrap();
        keys.push(key);
    }
    for site in [&w.alpha, &w.beta] {
        w.app
            .http
            .put(format!("{site}/_emulator/faults"))
            .json(&json!({"rules": [{"kind": "latency", "latencyMs": latency_ms}]}))
            .send()
            .await
            .unwrap();
    }
    let t0 = Instant::now();
    // Like a bulk "Exalate": 16 requests in flight.
    crate::sync::exalate_all(&w, &alpha, &uid, &keys, 16).await;
    let queued = t0.elapsed();
    loop {
        let done = {
            let d = beta_site.lock();
            d.issues
                .values()
                .filter(|i| {
                    i.summary.starts_with("tp ")
                        && i.comments.len() == 3
                        && i.attachment_ids.len() == 1
                })
                .count()
        };
        if done >= issues {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3600),
            "only {done} of {issues}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = t0.elapsed().as_secs_f64();
    let db = if std::env::var("EXALATE_TEST_DATABASE_URL").is_ok() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "sync_throughput db={db} issues={issues} comments_each=3 attachment_kb=100 jira_latency_ms={latency_ms} seconds={took:.1} issues_per_s={:.1} (exalate button calls took {:.1}s)",
        issues as f64 / took,
        queued.as_secs_f64()
    );
    w.emu.stop().await;
}
