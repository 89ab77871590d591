//! The Forge Invocation Token (FIT) on every call Forge makes to our remote: RS256 only, with a
//! `kid` from Forge's JWKS, `iss` = `forge/invocation-token`, `aud` = our app's ARI, `exp`/`nbf`
//! within the leeway, `iat` and `jti` present. What it proves: the installation (our tenant), its
//! API base URL, the person (`principal`) and, for UI calls, the issue from `context.extension`.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::future::Future;

pub const ISSUER: &str = "forge/invocation-token";
/// Larger than any FIT Forge sends; a bigger header is refused before it is parsed.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FitError {
    #[error("the request carries no Forge Invocation Token (Authorization: Bearer)")]
    Missing,
    #[error("the Forge Invocation Token is too large")]
    TooLarge,
    #[error("the Forge Invocation Token is not a JWT")]
    Malformed,
    #[error("the Forge Invocation Token must be signed with RS256")]
    Algorithm,
    #[error("the Forge Invocation Token names no key (kid)")]
    NoKid,
    #[error("the Forge Invocation Token is signed with a key Forge does not publish")]
    UnknownKid,
    #[error("Forge's signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
    #[error("the Forge Invocation Token's signature does not verify")]
    Signature,
    #[error("the Forge Invocation Token has expired")]
    Expired,
    #[error("the Forge Invocation Token is not valid yet")]
    NotYetValid,
    #[error("the Forge Invocation Token is for another app")]
    Audience,
    #[error("the token is not a Forge Invocation Token (issuer)")]
    Issuer,
    #[error("the Forge Invocation Token lacks or garbles the claim {0}")]
    Claim(&'static str),
}

impl FitError {
    /// The reason code in the JSON body of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            FitError::Missing => "fit_missing",
            FitError::TooLarge => "fit_too_large",
            FitError::Malformed => "fit_malformed",
            FitError::Algorithm => "fit_algorithm",
            FitError::NoKid => "fit_no_kid",
            FitError::UnknownKid => "fit_unknown_kid",
            FitError::KeysUnavailable(_) => "fit_keys_unavailable",
            FitError::Signature => "fit_signature",
            FitError::Expired => "fit_expired",
            FitError::NotYetValid => "fit_not_yet_valid",
            FitError::Audience => "fit_audience",
            FitError::Issuer => "fit_issuer",
            FitError::Claim(_) => "fit_claim",
        }
    }

    /// 401 for a bad token; 503 when the keys could not be fetched (not the caller's fault, and
    /// Forge retries events).
    pub fn status(&self) -> u16 {
        match self {
            FitError::KeysUnavailable(_) => 503,
            _ => 401,
        }
    }
}

/// Where verifying keys come from (the JWKS in production, a fixed set in tests).
pub trait FitKeys {
    fn key(&self, kid: &str) -> impl Future<Output = Result<DecodingKey, FitError>> + Send;
}

/// What a FIT is checked against.
#[derive(Debug, Clone)]
pub struct Expect {
    /// Our app's ARI (`ari:cloud:ecosystem::app/<uuid>`).
    pub app_ari: String,
    pub leeway_secs: u64,
}

/// The issue a UI module was opened on, from `context.extension` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionIssue {
    pub id: String,
    pub key: Option<String>,
}

/// A verified FIT.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The tenant: `app.installationId` (changes when the app is installed again).
    pub installation_id: String,
    /// Where Jira is called with this installation's tokens, e.g.
    /// `https://api.atlassian.com/ex/jira/<cloudId>`.
    pub api_base_url: String,
    pub cloud_id: Option<String>,
    pub site_url: Option<String>,
    pub module_key: Option<String>,
    /// The person's account id, for UI calls.
    pub principal: Option<String>,
    pub issue: Option<ExtensionIssue>,
    pub jti: String,
    pub expires_at: i64,
}

/// Verifies `token` (the value after `Bearer `).
pub async fn verify(token: &str, keys: &impl FitKeys, expect: &Expect) -> Result<Fit, FitError> {
    if token.is_empty() {
        return Err(FitError::Missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(FitError::TooLarge);
    }
    // An `alg` the library does not know (`none` included) does not even parse as a header.
    let header = jsonwebtoken::decode_header(token).map_err(|_| match named_alg(token) {
        true => FitError::Algorithm,
        false => FitError::Malformed,
    })?;
    if header.alg != Algorithm::RS256 {
        return Err(FitError::Algorithm);
    }
    let kid = header
        .kid
        .filter(|k| is_plain(k, 128))
        .ok_or(FitError::NoKid)?;
    let key = keys.key(&kid).await?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[&expect.app_ari]);
    validation.leeway = expect.leeway_secs;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature => FitError::Signature,
            K::ExpiredSignature => FitError::Expired,
            K::ImmatureSignature => FitError::NotYetValid,
            K::InvalidAudience => FitError::Audience,
            K::InvalidIssuer => FitError::Issuer,
            K::MissingRequiredClaim(c) if c == "aud" => FitError::Audience,
            K::MissingRequiredClaim(c) if c == "iss" => FitError::Issuer,
            K::MissingRequiredClaim(_) => FitError::Claim("exp"),
            _ => FitError::Malformed,
        }
    })?;
    claims(&data.claims)
}

/// The claims a verified token must carry, checked for shape: they end up in queries and URLs.
fn claims(c: &Value) -> Result<Fit, FitError> {
    let text = |v: &Value, max: usize, name: &'static str| -> Result<String, FitError> {
        v.as_str()
            .filter(|s| is_plain(s, max))
            .map(str::to_owned)
            .ok_or(FitError::Claim(name))
    };
    let optional =
        |v: &Value, max: usize, name: &'static str| -> Result<Option<String>, FitError> {
            match v {
                Value::Null => Ok(None),
                other => text(other, max, name).map(Some),
            }
        };
    if !c["iat"].is_i64() && !c["iat"].is_u64() {
        return Err(FitError::Claim("iat"));
    }
    let jti = text(&c["jti"], 256, "jti")?;
    let installation_id = text(&c["app"]["installationId"], 256, "app.installationId")?;
    let api_base_url = text(&c["app"]["apiBaseUrl"], 512, "app.apiBaseUrl")?;
    let base = url::Url::parse(&api_base_url).map_err(|_| FitError::Claim("app.apiBaseUrl"))?;
    if !matches!(base.scheme(), "https" | "http") || base.host_str().is_none() {
        return Err(FitError::Claim("app.apiBaseUrl"));
    }
    let context = &c["context"];
    let issue = match &context["extension"]["issue"] {
        Value::Null => None,
        i => {
            let id = match &i["id"] {
                Value::Number(n) => n.to_string(),
                other => text(other, 20, "context.extension.issue.id")?,
            };
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FitError::Claim("context.extension.issue.id"));
            }
            let key = optional(&i["key"], 64, "context.extension.issue.key")?;
            Some(ExtensionIssue { id, key })
        }
    };
    Ok(Fit {
        installation_id,
        api_base_url: api_base_url.trim_end_matches('/').to_owned(),
        cloud_id: optional(&context["cloudId"], 64, "context.cloudId")?,
        site_url: optional(&context["siteUrl"], 512, "context.siteUrl")?,
        module_key: optional(&c["app"]["module"]["key"], 128, "app.module.key")?,
        principal: optional(&c["principal"], 128, "principal")?,
        issue,
        jti,
        expires_at: c["exp"].as_i64().unwrap_or_default(),
    })
}

/// Whether the token's header is JSON naming some `alg` (to tell a wrong algorithm from garbage).
fn named_alg(token: &str) -> bool {
    use base64::Engine;
    let head = token.split('.').next().unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .ok()
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .is_some_and(|h| h["alg"].is_string())
}

/// Printable ASCII without spaces or quotes, at most `max` bytes: ids, ARIs, URLs.
fn is_plain(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\'))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    pub const KID: &str = "forge-test-key-1";
    const PRIVATE: &[u8] = include_bytes!("../../tests/fixtures/forge-key.pem");
    const OTHER_PRIVATE: &[u8] = include_bytes!("../../tests/fixtures/attacker-key.pem");
    const APP: &str = "ari:cloud:ecosystem::app/6c8d7f58-0000-4000-8000-00000000e0a1";

    pub fn jwks_json() -> String {
        include_str!("../../tests/fixtures/forge-jwks.json").to_owned()
    }

    struct Fixed;
    impl FitKeys for Fixed {
        async fn key(&self, kid: &str) -> Result<DecodingKey, FitError> {
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks_json()).unwrap();
            let jwk = set.find(kid).ok_or(FitError::UnknownKid)?;
            Ok(DecodingKey::from_jwk(jwk).unwrap())
        }
    }

    fn expect() -> Expect {
        Expect {
            app_ari: APP.into(),
            leeway_secs: 30,
        }
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": APP, "iat": now(), "nbf": now(), "exp": now() + 60,
            "jti": "8a1b0f4e-1c52-4e0a-9d1f-000000000001",
            "app": {
                "installationId": "ari:cloud:ecosystem::installation/3f0c2d9e-0000-4000-8000-000000000001",
                "apiBaseUrl": "https://api.atlassian.com/ex/jira/a1b2c3d4-0000-4000-8000-000000000001",
                "module": {"type": "xen:macro", "key": "exalate-issue-panel"},
                "environment": {"type": "PRODUCTION", "id": "e-1"}
            },
            "context": {
                "cloudId": "a1b2c3d4-0000-4000-8000-000000000001",
                "siteUrl": "https://alpha.atlassian.net",
                "extension": {"type": "jira:issuePanel", "issue": {"id": "10001", "key": "TEST-1"}}
            },
            "principal": "557058:f0a1b2c3-0000-4000-8000-00000000a001"
        })
    }

    /// The claims signed with `key` under `alg`, naming key `kid`.
    fn token(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn rsa(pem: &[u8]) -> EncodingKey {
        EncodingKey::from_rsa_pem(pem).unwrap()
    }

    fn sign(claims: &Value) -> String {
        token(Algorithm::RS256, Some(KID), &rsa(PRIVATE), claims)
    }

    async fn check(token: &str) -> Result<Fit, FitError> {
        verify(token, &Fixed, &expect()).await
    }

    fn b64(v: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
    }

    #[tokio::test]
    async fn a_valid_fit_names_the_installation_the_person_and_the_issue() {
        let fit = check(&sign(&claims())).await.unwrap();
        assert!(fit
            .installation_id
            .ends_with("/3f0c2d9e-0000-4000-8000-000000000001"));
        assert!(fit
            .api_base_url
            .starts_with("https://api.atlassian.com/ex/jira/"));
        assert_eq!(
            fit.principal.as_deref(),
            Some("557058:f0a1b2c3-0000-4000-8000-00000000a001")
        );
        assert_eq!(
            fit.issue,
            Some(ExtensionIssue {
                id: "10001".into(),
                key: Some("TEST-1".into())
            })
        );
        assert_eq!(
            fit.cloud_id.as_deref(),
            Some("a1b2c3d4-0000-4000-8000-000000000001")
        );
    }

    #[tokio::test]
    async fn every_kind_of_bad_token_is_refused_with_its_reason() {
        let with = |f: &dyn Fn(&mut Value)| {
            let mut c = claims();
            f(&mut c);
            sign(&c)
        };
        let good = sign(&claims());
        let (h, rest) = good.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        // alg none, and HS256 keyed with the public key (the classic confusion attack).
        let none = format!(
            "{}.{payload}.",
            b64(br#"{"alg":"none","kid":"forge-test-key-1"}"#)
        );
        let public_as_secret = EncodingKey::from_secret(jwks_json().as_bytes());
        let confused = token(Algorithm::HS256, Some(KID), &public_as_secret, &claims());
        let no_kid = token(Algorithm::RS256, None, &rsa(PRIVATE), &claims());
        let unknown = token(
            Algorithm::RS256,
            Some("someone-elses"),
            &rsa(PRIVATE),
            &claims(),
        );
        let forged = token(Algorithm::RS256, Some(KID), &rsa(OTHER_PRIVATE), &claims());
        let mut tampered_claims = claims();
        tampered_claims["app"]["installationId"] = json!("ari:cloud:ecosystem::installation/other");
        let tampered = format!(
            "{h}.{}.{signature}",
            b64(&serde_json::to_vec(&tampered_claims).unwrap())
        );
        let cases: Vec<(&str, String, &str)> = vec![
            ("empty", String::new(), "fit_missing"),
            ("huge", "a".repeat(MAX_TOKEN_BYTES + 1), "fit_too_large"),
            ("garbage", "not.a.jwt".into(), "fit_malformed"),
            ("alg none", none, "fit_algorithm"),
            ("HS256 with the public key", confused, "fit_algorithm"),
            ("no kid", no_kid, "fit_no_kid"),
            ("unknown kid", unknown, "fit_unknown_kid"),
            ("another key", forged, "fit_signature"),
            ("tampered payload", tampered, "fit_signature"),
            (
                "expired",
                with(&|c| c["exp"] = json!(now() - 120)),
                "fit_expired",
            ),
            (
                "not yet valid",
                with(&|c| c["nbf"] = json!(now() + 120)),
                "fit_not_yet_valid",
            ),
            (
                "another app",
                with(&|c| c["aud"] = json!("ari:cloud:ecosystem::app/other")),
                "fit_audience",
            ),
            (
                "no audience",
                with(&|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
                "fit_audience",
            ),
            (
                "another issuer",
                with(&|c| c["iss"] = json!("forge/other")),
                "fit_issuer",
            ),
            (
                "no jti",
                with(&|c| {
                    c.as_object_mut().unwrap().remove("jti");
                }),
                "fit_claim",
            ),
            (
                "no iat",
                with(&|c| {
                    c.as_object_mut().unwrap().remove("iat");
                }),
                "fit_claim",
            ),
            (
                "no installation",
                with(&|c| {
                    c["app"].as_object_mut().unwrap().remove("installationId");
                }),
                "fit_claim",
            ),
            (
                "hostile base URL",
                with(&|c| c["app"]["apiBaseUrl"] = json!("javascript:alert(1)")),
                "fit_claim",
            ),
            (
                "forged issue id",
                with(&|c| c["context"]["extension"]["issue"]["id"] = json!("10001 OR 1=1")),
                "fit_claim",
            ),
            (
                "quoted principal",
                with(&|c| c["principal"] = json!("x\"><script>")),
                "fit_claim",
            ),
        ];
        for (what, token, code) in cases {
            let err = check(&token).await.expect_err(what);
            assert_eq!(err.code(), code, "{what}: {err}");
            assert_eq!(err.status(), 401, "{what}");
        }
    }

    #[tokio::test]
    async fn clock_skew_within_the_leeway_is_tolerated() {
        let mut c = claims();
        c["exp"] = json!(now() - 10);
        c["nbf"] = json!(now() + 10);
        assert!(check(&sign(&c)).await.is_ok());
    }
}
