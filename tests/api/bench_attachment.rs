//! Memory benchmark, run by `bash bench/attachment.sh` (ignored in the normal test run): a 1 GiB
//! attachment synced from alpha to beta through a separate `exalate serve` process, whose
//! resident memory is sampled throughout. Files are streamed Jira → node → node → Jira, so the
//! app's RSS must grow by far less than the file (goal: < 64 MB).

use crate::crash::{
    alpha_and_beta, connect_by_code, free_port, install_app, start_app_with, token, wait_up,
};
use std::time::{Duration, Instant};

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");

/// Resident set size of `pid` in KiB (`VmRSS` in /proc).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
#[ignore = "benchmark: bash bench/attachment.sh"]
async fn bench_attachment_memory() {
    let mb: u64 = std::env::var("BENCH_ATTACHMENT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = mb * 1024 * 1024;
    let data = tempfile::tempdir().unwrap();
    let (emu, alpha, beta) = alpha_and_beta(Some(data.path().to_owned())).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let keys = format!("{alpha}/_emulator/install-keys");
    let limit = (size * 2).to_string();
    let mut app = start_app_with(
        dir.path(),
        port,
        &keys,
        &[("EXALATE__SYNC__MAX_ATTACHMENT_BYTES", limit.as_str())],
    );
    let http = reqwest::Client::new();
    wait_up(&http, &base).await;
    for site in [&alpha, &beta] {
        install_app(&http, site, &base).await;
    }
    let (ta, tb) = (token(&http, &alpha).await, token(&http, &beta).await);
    let uid = connect_by_code(&http, (&base, &ta), (&base, &tb)).await;

    // Warm up (pools, caches, HTTP clients) with a small synced issue first.
    let on_beta = || emu.site("beta").site.lock().issues.len();
    let n0 = on_beta();
    crate::crash::exalate_on(&http, &base, &ta, "TEST-1", &uid).await;
    let started = Instant::now();
    while on_beta() == n0 {
        assert!(started.elapsed() < Duration::from_secs(30), "warm-up sync");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // A big file on TEST-2, uploaded to alpha as a stream of pseudo-random chunks.
    let chunk: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let chunks = size / chunk.len() as u64;
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter((0..chunks).map(move |n| {
        let mut c = chunk.clone();
        c[..8].copy_from_slice(&n.to_le_bytes());
        Ok::<_, std::io::Error>(c)
    })));
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::stream_with_length(body, size).file_name("big.bin"),
    );
    let r = http
        .post(format!("{alpha}/rest/api/3/issue/TEST-2/attachments"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header("X-Atlassian-Token", "no-check")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "upload: {}", r.status());
    let source_sha = {
        let d = emu.site("alpha").site.lock();
        d.attachments
            .values()
            .find(|a| a.filename == "big.bin")
            .unwrap()
            .sha256
            .clone()
    };

    let pid = app.id();
    let before = rss_kib(pid);
    let t0 = Instant::now();
    crate::crash::exalate_on(&http, &base, &ta, "TEST-2", &uid).await;
    let mut peak = before;
    let arrived = loop {
        peak = peak.max(rss_kib(pid));
        let got = {
            let d = emu.site("beta").site.lock();
            d.attachments
                .values()
                .find(|a| a.filename == "big.bin")
                .map(|a| (a.size, a.sha256.clone()))
        };
        if let Some(g) = got {
            break g;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(900),
            "the file did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(arrived, (size, source_sha), "the same bytes arrived");
    let growth_mb = (peak.saturating_sub(before)) as f64 / 1024.0;
    println!(
        "attachment_memory size_mb={mb} rss_before_mb={:.1} rss_peak_mb={:.1} growth_mb={growth_mb:.1} seconds={took:.1} mb_per_s={:.0}",
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        mb as f64 / took
    );
    assert!(growth_mb < 64.0, "RSS grew by {growth_mb:.1} MB");
    app.kill().ok();
    app.wait().ok();
    emu.stop().await;
}
