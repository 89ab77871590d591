//! Atlassian's own canonical-request conformance suite (`reference/jwt-signed-urls.json` at the
//! repository's top; its source is in `reference/README.md`):
//! for every case our canonical request of `signedUrl` equals `canonicalUrl`, the token's qsh is
//! the SHA-256 of it, and the token verifies with the suite's secret (its 2014 `exp` is ignored).

use connect_jwt::{canonical_request_from_url, decode_unverified, query_string_hash, split_url};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Suite {
    secret: String,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(rename = "canonicalUrl")]
    canonical_url: String,
    #[serde(rename = "signedUrl")]
    signed_url: String,
}

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reference")
}

#[test]
fn every_case_of_the_reference_suite() {
    let path = reference_dir().join("jwt-signed-urls.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let suite: Suite = serde_json::from_str(&text).expect("suite parses");
    assert!(suite.tests.len() == 79, "suite looks truncated");
    let mut failures = Vec::new();
    for case in &suite.tests {
        // One case signs for an add-on whose baseUrl carries a path.
        let base = if case.name.starts_with("Add-on baseUrl contains path") {
            "https://example.com/base"
        } else {
            "https://example.com"
        };
        let canonical = canonical_request_from_url("GET", &case.signed_url, base);
        if canonical != case.canonical_url {
            failures.push(format!(
                "{}: canonical {canonical:?} != {:?}",
                case.name, case.canonical_url
            ));
            continue;
        }
        let (_, query) = split_url(&case.signed_url);
        let token = connect_jwt::token_from_request(None, query).expect("token in URL");
        let token = decode_unverified(&token).expect("token decodes");
        if let Err(e) = token.verify_hs256(suite.secret.as_bytes()) {
            failures.push(format!("{}: signature: {e}", case.name));
        }
        if token.claims.qsh.as_deref() != Some(query_string_hash(&canonical).as_str()) {
            failures.push(format!("{}: qsh differs", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
