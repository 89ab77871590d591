//! Ids and replicas that must not be confused: two app replicas on one PostgreSQL behind a
//! round-robin proxy (webhooks and peer messages spread across both) while people edit both sides,
//! a person's edit made while the app writes to the same issue, and a same-node connection whose
//! two sites use the same issue and attachment ids.

use crate::connections::{world, world_with, World};
use crate::resilience::{second_replica, seed, set_faults, wait_for};
use crate::sync::{
    adf, connect_remote, counters, eventually, exalate, exalate_all, exalate_test_2, jira,
};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");
const HOP_BY_HOP: [&str; 9] = [
    "host",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A reverse proxy that sends each request (not each connection) to the next backend in turn.
struct Proxy {
    backends: Arc<Mutex<Vec<String>>>,
    next: AtomicUsize,
    /// Backend → webhooks from Jira it was given.
    webhooks: Mutex<BTreeMap<String, usize>>,
    http: reqwest::Client,
}

async fn forward(req: HttpRequest, body: web::Bytes, proxy: web::Data<Proxy>) -> HttpResponse {
    let backend = loop {
        {
            let b = proxy.backends.lock().unwrap();
            if !b.is_empty() {
                break b[proxy.next.fetch_add(1, Ordering::Relaxed) % b.len()].clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    if req.path() == "/webhooks/jira" {
        *proxy
            .webhooks
            .lock()
            .unwrap()
            .entry(backend.clone())
            .or_default() += 1;
    }
    let target = format!(
        "{backend}{}",
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
    let mut out = proxy.http.request(method, target).body(body.to_vec());
    for (name, value) in req.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name.as_str() != "content-length" {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => return HttpResponse::BadGateway().body(e.to_string()),
    };
    let mut back =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(resp.status().as_u16()).unwrap());
    for (name, value) in resp.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name.as_str() != "content-length" {
            back.append_header((name.as_str(), value.as_bytes()));
        }
    }
    match resp.bytes().await {
        Ok(bytes) => back.body(bytes.to_vec()),
        Err(e) => HttpResponse::BadGateway().body(e.to_string()),
    }
}

/// Starts the proxy in front of `backends` (`http://host:port`, filled in later): its URL.
fn round_robin(backends: Arc<Mutex<Vec<String>>>) -> (String, web::Data<Proxy>) {
    let proxy = web::Data::new(Proxy {
        backends,
        next: AtomicUsize::new(0),
        webhooks: Mutex::new(BTreeMap::new()),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let data = proxy.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(64 << 20))
            .default_service(web::to(forward))
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, proxy)
}

/// What a person sees of one issue: summary, description text, and the comment texts (a
/// mirrored comment's "Name wrote:" line taken off), sorted.
type Seen = (String, String, Vec<String>);

/// Issue key → what a person sees of it, for every issue of `site` whose summary starts with
/// `prefix`, read straight from the emulated site.
fn seen(w: &World, site: &str, prefix: &str) -> BTreeMap<String, Seen> {
    let d = w.emu.site(site).site.lock();
    let is_app = |account: &str| {
        d.users
            .iter()
            .any(|u| u.account_id == account && u.account_type == "app")
    };
    d.issues
        .values()
        .filter(|i| i.summary.starts_with(prefix))
        .map(|i| {
            let mut comments: Vec<String> = i
                .comments
                .iter()
                .map(|c| {
                    let text = jira_emulator::render::adf_to_text(&c.body);
                    match (is_app(&c.author), text.split_once(" wrote:\n")) {
                        (true, Some((_, said))) => said.to_owned(),
                        _ => text,
                    }
                })
                .collect();
            comments.sort();
            let description = i
                .description
                .as_ref()
                .map(jira_emulator::render::adf_to_text);
            let seen = (i.summary.clone(), description.unwrap_or_default(), comments);
            (i.key.clone(), seen)
        })
        .collect()
}

/// The emulator's count of issue edits on `site` that changed nothing, by who made them.
async fn noop_writes(w: &World, site: &str) -> Value {
    counters(w, site).await["noopWrites"].clone()
}

async fn person(w: &World, site: &str, method: &str, path: &str, body: Value) {
    let (s, v) = jira(w, site, method, path, Some(body)).await;
    assert!(s == 201 || s == 204, "{method} {path} on {site}: {s} {v}");
}

#[tokio::test]
async fn two_replicas_behind_a_round_robin_proxy_lose_nothing_and_echo_nothing() {
    if !std::env::var("EXALATE_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        eprintln!("two replicas share a database on PostgreSQL only: skipped on SQLite");
        return;
    }
    let backends = Arc::new(Mutex::new(Vec::new()));
    let (public, proxy) = round_robin(backends.clone());
    let first_backends = backends.clone();
    // Jira installs the app through the proxy while the world is built: the proxy must know
    // replica 1 (whose own address is the base URL the helper set) before that.
    let w = world_with(move |s| {
        first_backends
            .lock()
            .unwrap()
            .push(s.server.base_url.clone());
        s.server.base_url = public;
        s.sync.concurrency = 4;
    })
    .await;
    let second = second_replica(&w).await;
    backends.lock().unwrap().push(second.address.clone());

    let uid = connect_remote(&w).await;
    let token = w.token(&w.alpha, ADMIN).await;
    let n = 30;
    let keys = seed(&w.emu.site("alpha").site, "Pair", n);
    exalate_all(&w, &token, &uid, &keys, 8).await;
    let synced = |w: &World| {
        let a = seen(w, "alpha", "Pair ");
        let b = seen(w, "beta", "Pair ");
        b.len() == n && {
            let mut x: Vec<_> = a.into_values().collect();
            let mut y: Vec<_> = b.into_values().collect();
            x.sort();
            y.sort();
            x == y
        }
    };
    wait_for("30 twins on beta", Duration::from_secs(60), || synced(&w)).await;
    // alpha's key → its twin's key on beta (the summaries are still the seeded ones).
    let by_summary: BTreeMap<String, String> = seen(&w, "beta", "Pair ")
        .into_iter()
        .map(|(k, s)| (s.0, k))
        .collect();
    let twins: Vec<String> = (0..n)
        .map(|i| by_summary[&format!("Pair {i}")].clone())
        .collect();

    // The app's every call to either Jira takes 15 ms: its writes are still in flight when the
    // next person edits or comments the same pair.
    let slow = json!({"rules": [{"kind": "latency", "principal": "app", "latencyMs": 15}]});
    set_faults(&w, &w.alpha, slow.clone()).await;
    set_faults(&w, &w.beta, slow).await;
    let rounds = 3;
    for r in 0..rounds {
        for i in 0..n {
            let (a, b) = (
                format!("/rest/api/3/issue/{}", keys[i]),
                format!("/rest/api/3/issue/{}", twins[i]),
            );
            // A summary on alpha, and at once a comment on its twin on beta.
            let summary = json!({"fields": {"summary": format!("Pair {i} r{r}")}});
            person(&w, &w.alpha, "PUT", &a, summary).await;
            let said = json!({"body": adf(&format!("beta says {i} r{r}"))});
            person(&w, &w.beta, "POST", &format!("{b}/comment"), said).await;
            // A description on beta, and at once a comment on its twin on alpha.
            let text = adf(&format!("described on beta {i} r{r}"));
            let described = json!({"fields": {"description": text}});
            person(&w, &w.beta, "PUT", &b, described).await;
            let said = json!({"body": adf(&format!("alpha says {i} r{r}"))});
            person(&w, &w.alpha, "POST", &format!("{a}/comment"), said).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // What both sides must show, per pair: alpha's last summary, beta's last description, and
    // every comment of both sides exactly once.
    let want = |i: usize| -> Seen {
        let mut comments = vec![format!("comment of Pair {i}")];
        for r in 0..rounds {
            comments.push(format!("alpha says {i} r{r}"));
            comments.push(format!("beta says {i} r{r}"));
        }
        comments.sort();
        let last = rounds - 1;
        (
            format!("Pair {i} r{last}"),
            format!("described on beta {i} r{last}"),
            comments,
        )
    };
    let wrong = |w: &World| -> Vec<String> {
        let (a, b) = (seen(w, "alpha", "Pair "), seen(w, "beta", "Pair "));
        let mut out = Vec::new();
        if (a.len(), b.len()) != (n, n) {
            out.push(format!("{} issues on alpha, {} on beta", a.len(), b.len()));
        }
        for i in 0..n {
            for (site, key, got) in [("alpha", &keys[i], &a), ("beta", &twins[i], &b)] {
                if got.get(key) != Some(&want(i)) {
                    out.push(format!("{site} {key}: {:?}", got.get(key)));
                }
            }
        }
        out
    };
    let started = Instant::now();
    loop {
        let off = wrong(&w);
        if off.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not converged after 120 s ({} off), e.g. {:#?}",
            off.len(),
            &off[..off.len().min(6)]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    set_faults(&w, &w.alpha, json!({"rules": []})).await;
    set_faults(&w, &w.beta, json!({"rules": []})).await;
    // Late echoes or duplicates would show by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let off = wrong(&w);
    assert!(off.is_empty(), "changed after converging: {off:#?}");
    for site in [&w.alpha, &w.beta] {
        let noop = noop_writes(&w, site).await;
        let echoes: u64 = noop
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, v)| v.as_u64())
            .sum();
        assert_eq!(echoes, 0, "writes on {site} that changed nothing: {noop}");
    }
    let webhooks = proxy.webhooks.lock().unwrap().clone();
    let replicas = [w.app.address.clone(), second.address.clone()];
    for r in &replicas {
        assert!(
            webhooks.get(r).copied().unwrap_or(0) > 0,
            "webhooks per replica: {webhooks:?}"
        );
    }
    w.emu.stop().await;
}

/// Uploads `bytes` as `name` to `key` on `site`, as a person: the new attachment's id.
async fn attach(w: &World, site: &str, key: &str, name: &str, bytes: Vec<u8>) -> u64 {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str("text/plain")
        .unwrap();
    let resp = w
        .app
        .http
        .post(format!("{site}/rest/api/3/issue/{key}/attachments"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header("X-Atlassian-Token", "no-check")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    v[0]["id"].as_str().unwrap().parse().unwrap()
}

/// Filename → content of every attachment of `key` on `site`, downloaded as a person.
async fn files(w: &World, site: &str, key: &str) -> Vec<(String, Vec<u8>)> {
    let (_, issue) = jira(
        w,
        site,
        "GET",
        &format!("/rest/api/3/issue/{key}?fields=attachment"),
        None,
    )
    .await;
    let mut out = Vec::new();
    for a in issue["fields"]["attachment"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = a["id"].as_str().unwrap();
        let resp = w
            .app
            .http
            .get(format!(
                "{site}/rest/api/3/attachment/content/{id}?redirect=false"
            ))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{site} attachment {id}");
        let name = a["filename"].as_str().unwrap().to_owned();
        out.push((name, resp.bytes().await.unwrap().to_vec()));
    }
    out.sort();
    out
}

#[tokio::test]
async fn same_issue_and_attachment_ids_on_both_sites_each_side_gets_the_others_bytes() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let token = w.token(&w.alpha, ADMIN).await;
    let (s, created) = jira(
        &w,
        &w.alpha,
        "POST",
        "/rest/api/3/issue",
        Some(json!({"fields": {"project": {"key": "TEST"}, "summary": "Same ids on both sites", "issuetype": {"name": "Task"}}})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let id: u64 = created["id"].as_str().unwrap().parse().unwrap();
    // Jira numbers issues and attachments per site: beta's next issue gets alpha's issue's id.
    {
        let mut d = w.emu.site("beta").site.lock();
        assert!(!d.issues.contains_key(&id), "beta already has issue {id}");
        d.next_issue_id = id;
    }
    exalate(&w, &token, &key, &uid).await;
    let twin = eventually(&w, &w.beta, "project = SUP", |i| {
        i["fields"]["summary"] == "Same ids on both sites"
    })
    .await;
    let twin_key = twin["key"].as_str().unwrap().to_owned();
    assert_eq!(twin["id"].as_str(), Some(id.to_string().as_str()));
    // Both sites give their next attachment the same id, and the app's uploads are slow, so a
    // person on each side attaches a file (same size, other bytes) before either copy lands.
    let next = {
        let (mut a, mut b) = (
            w.emu.site("alpha").site.lock(),
            w.emu.site("beta").site.lock(),
        );
        let next = a.next_attachment_id.max(b.next_attachment_id);
        (a.next_attachment_id, b.next_attachment_id) = (next, next);
        next
    };
    let slow = json!({"rules": [{"pathPrefix": "/rest/api/3/issue/", "method": "POST", "principal": "app", "kind": "latency", "latencyMs": 1000}]});
    set_faults(&w, &w.alpha, slow.clone()).await;
    set_faults(&w, &w.beta, slow).await;
    let from_alpha: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 13) as u8).collect();
    let from_beta: Vec<u8> = (0..4096u32).map(|i| b'A' + (i % 17) as u8).collect();
    let (on_alpha, on_beta) = tokio::join!(
        attach(&w, &w.alpha, &key, "alpha.txt", from_alpha.clone()),
        attach(&w, &w.beta, &twin_key, "beta.txt", from_beta.clone()),
    );
    assert_eq!((on_alpha, on_beta), (next, next), "the same attachment id");

    let want = vec![
        ("alpha.txt".to_owned(), from_alpha),
        ("beta.txt".to_owned(), from_beta),
    ];
    let started = Instant::now();
    loop {
        let (a, b) = (
            files(&w, &w.alpha, &key).await,
            files(&w, &w.beta, &twin_key).await,
        );
        if a == want && b == want {
            break;
        }
        let names = |f: &[(String, Vec<u8>)]| -> Vec<(String, String)> {
            f.iter()
                .map(|(n, c)| {
                    (
                        n.clone(),
                        String::from_utf8_lossy(&c[..c.len().min(8)]).into_owned(),
                    )
                })
                .collect()
        };
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "alpha {:?}, beta {:?}",
            names(&a),
            names(&b)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    set_faults(&w, &w.alpha, json!({"rules": []})).await;
    set_faults(&w, &w.beta, json!({"rules": []})).await;
    // Nothing comes back: each side keeps its own file and one copy of the other's.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(files(&w, &w.alpha, &key).await, want, "alpha");
    assert_eq!(files(&w, &w.beta, &twin_key).await, want, "beta");
    w.emu.stop().await;
}

#[tokio::test]
async fn a_persons_edit_made_while_the_app_writes_another_field_of_the_twin_is_not_lost() {
    let w = world().await;
    let uid = connect_remote(&w).await;
    let token = w.token(&w.alpha, ADMIN).await;
    let twin_key = exalate_test_2(&w, &token, &uid).await;
    // beta's Jira takes 1.5 s to carry out the app's edits of the twin.
    let slow = json!({"rules": [{"pathPrefix": "/rest/api/3/issue/", "method": "PUT", "principal": "app", "kind": "latency", "latencyMs": 1500}]});
    set_faults(&w, &w.beta, slow).await;
    let summary = json!({"fields": {"summary": "Dark mode (renamed on alpha)"}});
    person(&w, &w.alpha, "PUT", "/rest/api/3/issue/TEST-2", summary).await;
    // While the app's summary edit is on its way into beta, a person there edits the description.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let described = json!({"fields": {"description": adf("Described on beta meanwhile")}});
    person(
        &w,
        &w.beta,
        "PUT",
        &format!("/rest/api/3/issue/{twin_key}"),
        described,
    )
    .await;
    let both = |i: &Value| {
        i["fields"]["summary"] == "Dark mode (renamed on alpha)"
            && i["fields"]["description"]["content"][0]["content"][0]["text"]
                == "Described on beta meanwhile"
    };
    eventually(&w, &w.beta, &format!("key = {twin_key}"), both).await;
    eventually(&w, &w.alpha, "key = TEST-2", both).await;
    w.emu.stop().await;
}
