//! Nothing lost, nothing duplicated: the app process is killed (SIGKILL) in the middle of a bulk
//! sync of 500 issues with comments and attachments, restarted on the same database, and every
//! issue, comment and attachment arrives on the other site exactly once.

use jira_emulator::site::Principal;
use jira_emulator::{Emulator, EmulatorConfig, SiteConfig};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");
const ISSUES: usize = 500;

/// Emulated Jira sites alpha and beta on free ports (state kept under `data_dir` when given),
/// with their base URLs.
pub(crate) async fn alpha_and_beta(
    data_dir: Option<std::path::PathBuf>,
) -> (Emulator, String, String) {
    let emu = Emulator::start(EmulatorConfig {
        sites: ["alpha", "beta"]
            .iter()
            .map(|n| SiteConfig {
                name: (*n).into(),
                listen: "127.0.0.1:0".into(),
            })
            .collect(),
        data_dir,
        ..Default::default()
    })
    .await
    .unwrap();
    let (alpha, beta) = (
        emu.site("alpha").base_url.clone(),
        emu.site("beta").base_url.clone(),
    );
    (emu, alpha, beta)
}

/// A loopback port nothing listens on (for an app process started later).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn start_app(dir: &std::path::Path, port: u16, keys: &str) -> Child {
    start_app_with(dir, port, keys, &[])
}

/// `exalate serve` in `dir` on `port`, with extra `EXALATE__…` settings.
pub(crate) fn start_app_with(
    dir: &std::path::Path,
    port: u16,
    keys: &str,
    extra: &[(&str, &str)],
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_exalate"))
        .arg("serve")
        .current_dir(dir)
        .env("EXALATE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "EXALATE__SERVER__BASE_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("EXALATE__CONNECT__INSTALL_KEYS_URL", keys)
        .env("EXALATE__JIRA__ALLOWED_HOSTS", "127.0.0.1")
        .env("EXALATE__JIRA__ALLOW_HTTP", "true")
        // The other node of these tests is on loopback: listed by address, like a lab network.
        .env("EXALATE__PEER__ALLOWED_HOSTS", "127.0.0.1")
        .env("EXALATE__PEER__ALLOW_HTTP", "true")
        .env("EXALATE__SYNC__RETRY_BASE_MS", "50")
        .env("EXALATE__SYNC__POLL_MS", "100")
        .env("EXALATE__JIRA__REQUESTS_PER_SECOND", "2000")
        .env("EXALATE__LOG__FILTER", "error")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("exalate starts")
}

pub(crate) async fn wait_up(http: &reqwest::Client, base: &str) {
    let started = Instant::now();
    while http
        .get(format!("{base}/health_check"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the app did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Installs the app served at `base` on `site` through the UPM API, as a site admin would.
pub(crate) async fn install_app(http: &reqwest::Client, site: &str, base: &str) {
    let resp = http
        .get(format!("{site}/rest/plugins/1.0/"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    let t = resp.headers()["upm-token"].to_str().unwrap().to_owned();
    let r = http
        .post(format!("{site}/rest/plugins/1.0/?token={t}"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"pluginUri": format!("{base}/atlassian-connect.json")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
}

/// Alpha's admin (on node `a`, with token) invites; beta's admin (node `b`) accepts the code:
/// TEST on alpha ↔ SUP on beta. Returns the connection id.
pub(crate) async fn connect_by_code(
    http: &reqwest::Client,
    (node_a, ta): (&str, &str),
    (node_b, tb): (&str, &str),
) -> String {
    let (s, v) = api(
        http,
        node_a,
        "POST",
        "/api/connections",
        ta,
        json!({"destinationUrl": null, "localProjectKey": "TEST"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let code = v["invitationCode"].as_str().unwrap().to_owned();
    let (s, v) = api(
        http,
        node_b,
        "POST",
        "/api/invitations/accept",
        tb,
        json!({"code": code, "projectKey": "SUP"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["connection"]["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn token(http: &reqwest::Client, site: &str) -> String {
    let v: Value = http
        .get(format!(
            "{site}/_emulator/context-token?app=com.exalate.jiracloud"
        ))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().unwrap().to_owned()
}

pub(crate) async fn api(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let resp = http
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("Authorization", format!("JWT {token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// The Exalate button on a node started as its own process (answered 202).
pub(crate) async fn exalate_on(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    uid: &str,
) {
    let (s, v) = api(
        http,
        base,
        "POST",
        &format!("/api/issues/{key}/exalate"),
        token,
        json!({"connectionId": uid}),
    )
    .await;
    assert_eq!(s, 202, "{key}: {v}");
}

fn twins_on_beta(emu: &Emulator) -> Vec<(String, usize, Vec<String>)> {
    let site = &emu.site("beta").site;
    let d = site.lock();
    d.issues
        .values()
        .filter(|i| i.project_id == "10010" && i.summary.starts_with("bulk "))
        .map(|i| {
            let names = i
                .attachment_ids
                .iter()
                .filter_map(|a| d.attachments.get(a))
                .map(|a| a.sha256.clone())
                .collect();
            (i.summary.clone(), i.comments.len(), names)
        })
        .collect()
}

#[tokio::test]
async fn kill_9_in_the_middle_of_a_bulk_sync_loses_and_duplicates_nothing() {
    let (emu, alpha, beta) = alpha_and_beta(None).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let keys = format!("{alpha}/_emulator/install-keys");
    let http = reqwest::Client::new();
    let mut app = start_app(dir.path(), port, &keys);
    wait_up(&http, &base).await;
    for site in [&alpha, &beta] {
        install_app(&http, site, &base).await;
    }
    let (ta, tb) = (token(&http, &alpha).await, token(&http, &beta).await);
    let uid = connect_by_code(&http, (&base, &ta), (&base, &tb)).await;

    // 500 issues on alpha, each with a comment; every 25th with an attachment.
    let site = &emu.site("alpha").site;
    let admin = Principal::User {
        account_id: "557058:f0a1b2c3-0000-4000-8000-00000000a001".into(),
    };
    let mut keys_created = Vec::new();
    for n in 0..ISSUES {
        let created = site
            .create_issue(&admin, &json!({"fields": {"project": {"key": "TEST"}, "summary": format!("bulk {n}"), "issuetype": {"name": "Task"}}}))
            .unwrap();
        let key = created["key"].as_str().unwrap().to_owned();
        site.add_comment(&admin, &key, &json!({"body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": format!("comment of {n}")}]}]}})).unwrap();
        keys_created.push(key);
    }
    let form = |n: usize| {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(format!("file of {n}").repeat(1000).into_bytes())
                .file_name(format!("f{n}.txt")),
        )
    };
    for (n, key) in keys_created.iter().enumerate().filter(|(n, _)| n % 25 == 0) {
        http.post(format!("{alpha}/rest/api/3/issue/{key}/attachments"))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .header("X-Atlassian-Token", "no-check")
            .multipart(form(n))
            .send()
            .await
            .unwrap();
    }
    for key in &keys_created {
        exalate_on(&http, &base, &ta, key, &uid).await;
    }

    // Kill the app hard once part of the work has arrived.
    let started = Instant::now();
    loop {
        let n = twins_on_beta(&emu).len();
        if n >= ISSUES / 5 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "sync did not start ({n})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.kill().unwrap();
    app.wait().unwrap();
    let at_kill = twins_on_beta(&emu).len();
    assert!(
        at_kill < ISSUES,
        "killed too late to prove anything ({at_kill})"
    );

    let mut app = start_app(dir.path(), port, &keys);
    wait_up(&http, &base).await;
    let started = Instant::now();
    loop {
        let twins = twins_on_beta(&emu);
        let complete = twins.len() >= ISSUES && twins.iter().all(|(_, comments, _)| *comments == 1);
        if complete {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "after restart only {} of {ISSUES} arrived",
            twins.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let twins = twins_on_beta(&emu);
    let mut summaries: Vec<&str> = twins.iter().map(|(s, _, _)| s.as_str()).collect();
    summaries.sort();
    summaries.dedup();
    assert_eq!(
        (twins.len(), summaries.len()),
        (ISSUES, ISSUES),
        "every issue exactly once (killed at {at_kill})"
    );
    assert!(
        twins.iter().all(|(_, c, _)| *c == 1),
        "every comment exactly once"
    );
    for (summary, _, atts) in &twins {
        let n: usize = summary.trim_start_matches("bulk ").parse().unwrap();
        assert_eq!(
            atts.len(),
            usize::from(n % 25 == 0),
            "{summary}: attachments {atts:?}"
        );
    }
    app.kill().ok();
    app.wait().ok();
    emu.stop().await;
}
