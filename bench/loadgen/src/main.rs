//! Benchmark helper for bench/jwt.sh.
//!
//!   bench-loadgen install APP_BASE_URL COUNT KEY_PEM KID CONCURRENCY TOKENS_OUT PAGE_PATH
//!
//! Installs COUNT tenants through the app's signed `installed` hook exactly as Jira does (RS256,
//! `kid`, `aud`, qsh), CONCURRENCY at a time, prints how long that took, then writes one HS256
//! page token per tenant (valid for an hour) to TOKENS_OUT for wrk to rotate through.

use futures_util::stream::{self, StreamExt};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn secret_for(i: usize) -> String {
    format!("bench-shared-secret-{i:06}-0123456789abcdef")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 9 || args[1] != "install" {
        eprintln!("usage: bench-loadgen install APP_BASE_URL COUNT KEY_PEM KID CONCURRENCY TOKENS_OUT PAGE_PATH");
        std::process::exit(2);
    }
    let base = args[2].trim_end_matches('/').to_owned();
    let count: usize = args[3].parse().expect("COUNT");
    let key = std::fs::read(&args[4]).expect("KEY_PEM readable");
    let kid = args[5].clone();
    let concurrency: usize = args[6].parse().expect("CONCURRENCY");
    let tokens_out = &args[7];
    let page = &args[8];
    let http = reqwest::Client::new();

    let started = Instant::now();
    let failures = stream::iter(0..count)
        .map(|i| {
            let (http, base, key, kid) = (http.clone(), base.clone(), &key, &kid);
            async move {
                let client_key = format!("bench-client-{i:06}");
                let url = format!("{base}/lifecycle/installed");
                let mut claims =
                    connect_jwt::request_claims(&client_key, "POST", &url, &base, now(), 300);
                claims.aud = Some(connect_jwt::Audience::Many(vec![base.clone()]));
                let token = connect_jwt::mint_rs256(&claims, key, kid).expect("sign install");
                let body = serde_json::json!({
                    "key": "com.exalate.jiracloud",
                    "clientKey": client_key,
                    "sharedSecret": secret_for(i),
                    "baseUrl": format!("https://bench-{i:06}.atlassian.net"),
                    "displayUrl": format!("https://bench-{i:06}.atlassian.net"),
                    "productType": "jira",
                    "eventType": "installed",
                });
                match http
                    .post(&url)
                    .header("Authorization", format!("JWT {token}"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() == 204 => 0usize,
                    Ok(r) => {
                        eprintln!("install {i}: HTTP {}", r.status());
                        1
                    }
                    Err(e) => {
                        eprintln!("install {i}: {e}");
                        1
                    }
                }
            }
        })
        .buffer_unordered(concurrency)
        .fold(0usize, |acc, f| async move { acc + f })
        .await;
    let took = started.elapsed();
    println!(
        "installed={} failed={failures} seconds={:.2} per_second={:.0}",
        count - failures,
        took.as_secs_f64(),
        count as f64 / took.as_secs_f64()
    );
    if failures > 0 {
        std::process::exit(1);
    }

    let mut out = String::with_capacity(count * 400);
    for i in 0..count {
        let claims = connect_jwt::request_claims(
            &format!("bench-client-{i:06}"),
            "GET",
            &format!("{base}{page}"),
            &base,
            now(),
            3600,
        );
        out.push_str(&connect_jwt::mint_hs256(&claims, secret_for(i).as_bytes()).expect("sign"));
        out.push('\n');
    }
    std::fs::write(tokens_out, out).expect("write tokens");
}
