//! Cross-check against Atlassian's npm `atlassian-jwt` (crosscheck/generate.js): for a few hundred
//! generated requests with awkward paths and queries, our canonical request and qsh equal theirs and
//! their tokens verify here. `scripts/test` regenerates the cases with a fresh npm install and points
//! CONNECT_JWT_CROSSCHECK_CASES at them; otherwise the committed fixture is used. With
//! CONNECT_JWT_CROSSCHECK_NODE=1 the other direction runs too: tokens we mint are verified by
//! atlassian-jwt in node.

use connect_jwt::{canonical_request_from_url, decode_unverified, query_string_hash};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Fixture {
    generator: String,
    secret: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    method: String,
    url: String,
    base_url: String,
    canonical: String,
    qsh: String,
    token: String,
}

fn crosscheck_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crosscheck")
}

fn fixture() -> Fixture {
    let path = std::env::var_os("CONNECT_JWT_CROSSCHECK_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| crosscheck_dir().join("cases.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture parses")
}

#[test]
fn canonical_requests_and_tokens_match_atlassian_jwt() {
    let f = fixture();
    assert!(f.generator.starts_with("atlassian-jwt"));
    assert!(f.cases.len() >= 200, "too few cases: {}", f.cases.len());
    let mut failures = Vec::new();
    for c in &f.cases {
        let canonical = canonical_request_from_url(&c.method, &c.url, &c.base_url);
        if canonical != c.canonical {
            failures.push(format!(
                "{} {} (base {}):\n  ours   {canonical:?}\n  theirs {:?}",
                c.method, c.url, c.base_url, c.canonical
            ));
            continue;
        }
        assert_eq!(query_string_hash(&canonical), c.qsh, "{}", c.url);
        let token = decode_unverified(&c.token).expect("their token decodes");
        token
            .verify_hs256(f.secret.as_bytes())
            .expect("their signature verifies");
        assert_eq!(token.claims.qsh.as_deref(), Some(c.qsh.as_str()));
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        f.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn our_tokens_verify_with_atlassian_jwt() {
    if std::env::var("CONNECT_JWT_CROSSCHECK_NODE").as_deref() != Ok("1") {
        eprintln!(
            "CONNECT_JWT_CROSSCHECK_NODE is not 1: node direction not run (scripts/test runs it)"
        );
        return;
    }
    let f = fixture();
    let tokens: Vec<serde_json::Value> = f
        .cases
        .iter()
        .map(|c| {
            let claims = connect_jwt::request_claims(
                "rust-minted",
                &c.method,
                &c.url,
                &c.base_url,
                1_700_000_000,
                4_000_000_000,
            );
            let token = connect_jwt::mint_hs256(&claims, f.secret.as_bytes()).unwrap();
            serde_json::json!({"method": c.method, "url": c.url, "baseUrl": c.base_url, "token": token})
        })
        .collect();
    let out = std::env::temp_dir().join(format!(
        "connect-jwt-rust-tokens-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &out,
        serde_json::to_vec(&serde_json::json!({"secret": f.secret, "tokens": tokens})).unwrap(),
    )
    .unwrap();
    let status = std::process::Command::new("node")
        .arg(crosscheck_dir().join("verify.js"))
        .arg(&out)
        .status()
        .expect("node runs");
    let _ = std::fs::remove_file(&out);
    assert!(
        status.success(),
        "atlassian-jwt refused tokens minted by connect-jwt"
    );
}
