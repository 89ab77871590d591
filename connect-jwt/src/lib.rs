//! Atlassian Connect JWT, shared by the Exalate app and the Jira emulator so both sides build the
//! same canonical request and agree on what a valid token is.
//!
//! Verification is split in two steps on purpose: [`decode_unverified`] reads the `iss` so the
//! caller can find the tenant's secret (or the install key by `kid`), then [`Token::verify_hs256`]
//! / [`Token::verify_rs256`] check the signature, and [`Token::validate`] the claims.

pub mod canonical;

pub use canonical::{
    base_path_of, canonical_path, canonical_query, canonical_request, canonical_request_from_url,
    encode_rfc3986, query_string_hash, split_url,
};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The literal qsh of tokens minted by `AP.context.getToken()` (the `context-qsh` API migration).
pub const CONTEXT_QSH: &str = "context-qsh";

/// Tokens longer than this are refused before any decoding (they are ~300–2,000 bytes in practice).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token was refused. [`JwtError::code`] is a stable reason code for API answers and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    #[error("the token algorithm {0:?} is not accepted here")]
    UnsupportedAlgorithm(String),
    #[error("the token signature does not verify")]
    BadSignature,
    #[error("the token has no expiry (exp)")]
    MissingExpiry,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token has no query string hash (qsh)")]
    MissingQsh,
    #[error("the token was issued for a different request (qsh mismatch)")]
    QshMismatch,
    #[error("the token was issued for a different audience")]
    WrongAudience,
    #[error("the token was issued by a different party")]
    WrongIssuer,
    #[error("the token has no key id (kid)")]
    MissingKeyId,
    #[error("the verification key is unusable: {0}")]
    Key(String),
    #[error("the token could not be signed: {0}")]
    Signing(String),
}

impl JwtError {
    /// Machine-readable reason, e.g. `jwt_expired`.
    pub fn code(&self) -> &'static str {
        match self {
            JwtError::Malformed(_) => "jwt_malformed",
            JwtError::UnsupportedAlgorithm(_) => "jwt_algorithm",
            JwtError::BadSignature => "jwt_signature",
            JwtError::MissingExpiry => "jwt_missing_exp",
            JwtError::Expired => "jwt_expired",
            JwtError::NotYetValid => "jwt_not_yet_valid",
            JwtError::MissingQsh => "jwt_missing_qsh",
            JwtError::QshMismatch => "jwt_qsh_mismatch",
            JwtError::WrongAudience => "jwt_audience",
            JwtError::WrongIssuer => "jwt_issuer",
            JwtError::MissingKeyId => "jwt_missing_kid",
            JwtError::Key(_) => "jwt_key",
            JwtError::Signing(_) => "jwt_signing",
        }
    }
}

/// `aud` may be a string or an array of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Audience::One(a) => a == value,
            Audience::Many(list) => list.iter().any(|a| a == value),
        }
    }
}

/// The claims Connect uses. Unknown claims are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qsh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
}

/// What the request must look like for the token to be accepted.
#[derive(Debug, Clone, Copy)]
pub enum QshRule<'a> {
    /// The token's qsh must equal this (hex) hash.
    Exact(&'a str),
    /// The token's qsh may be [`CONTEXT_QSH`] or this hash (endpoints our own frontend calls).
    ExactOrContext(&'a str),
}

/// Claim checks, apart from the signature.
#[derive(Debug, Clone, Copy)]
pub struct Validation<'a> {
    /// Current time, seconds since the epoch (passed in so tests are deterministic).
    pub now: i64,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub leeway: i64,
    pub qsh: Option<QshRule<'a>>,
    /// When set, `aud` must contain it.
    pub audience: Option<&'a str>,
}

/// A token split and decoded but not yet trusted.
#[derive(Debug, Clone)]
pub struct Token<'t> {
    pub header: Header,
    pub claims: Claims,
    signing_input: &'t str,
    signature: Vec<u8>,
    raw: &'t str,
}

/// Splits and decodes a compact JWS without checking anything but its shape.
pub fn decode_unverified(token: &str) -> Result<Token<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (h, c, s) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) if !h.is_empty() && !c.is_empty() => (h, c, s),
        _ => return Err(JwtError::Malformed("expected three dot-separated parts")),
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("header is not base64url"))?;
    let claims_bytes = URL_SAFE_NO_PAD
        .decode(c.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("claims are not base64url"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("signature is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|_| JwtError::Malformed("header is not a JWT header"))?;
    let claims: Claims = serde_json::from_slice(&claims_bytes)
        .map_err(|_| JwtError::Malformed("claims are not valid JSON claims"))?;
    Ok(Token {
        header,
        claims,
        signing_input: &token[..h.len() + 1 + c.len()],
        signature,
        raw: token,
    })
}

impl Token<'_> {
    /// Checks an HS256 signature. Any other `alg` (including `none` and RS256, which would be an
    /// algorithm-confusion attack against a shared secret) is refused.
    pub fn verify_hs256(&self, secret: &[u8]) -> Result<(), JwtError> {
        if self.header.alg != "HS256" {
            return Err(JwtError::UnsupportedAlgorithm(self.header.alg.clone()));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| JwtError::Key("unusable HMAC secret".into()))?;
        mac.update(self.signing_input.as_bytes());
        // verify_slice compares in constant time.
        mac.verify_slice(&self.signature)
            .map_err(|_| JwtError::BadSignature)
    }

    /// Checks an RS256 signature against a PEM public key (signed install). Only RS256 is allowed.
    pub fn verify_rs256(&self, public_key_pem: &[u8]) -> Result<(), JwtError> {
        if self.header.alg != "RS256" {
            return Err(JwtError::UnsupportedAlgorithm(self.header.alg.clone()));
        }
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem)
            .map_err(|e| JwtError::Key(e.to_string()))?;
        let (message, sig_b64) = self
            .raw
            .rsplit_once('.')
            .ok_or(JwtError::Malformed("expected three dot-separated parts"))?;
        match jsonwebtoken::crypto::verify(
            sig_b64,
            message.as_bytes(),
            &key,
            jsonwebtoken::Algorithm::RS256,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(JwtError::BadSignature),
            Err(_) => Err(JwtError::BadSignature),
        }
    }

    /// Checks expiry (required), not-before, audience and qsh.
    pub fn validate(&self, v: &Validation<'_>) -> Result<(), JwtError> {
        validate_claims(&self.claims, v)
    }
}

/// Claim checks shared by HS256 and RS256 tokens.
pub fn validate_claims(claims: &Claims, v: &Validation<'_>) -> Result<(), JwtError> {
    let exp = claims.exp.ok_or(JwtError::MissingExpiry)?;
    if v.now > exp.saturating_add(v.leeway) {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = claims.nbf {
        if v.now.saturating_add(v.leeway) < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    if let Some(expected) = v.audience {
        match &claims.aud {
            Some(aud) if aud.contains(expected) => {}
            _ => return Err(JwtError::WrongAudience),
        }
    }
    match v.qsh {
        None => Ok(()),
        Some(rule) => {
            let got = claims.qsh.as_deref().ok_or(JwtError::MissingQsh)?;
            let (expected, context_ok) = match rule {
                QshRule::Exact(h) => (h, false),
                QshRule::ExactOrContext(h) => (h, true),
            };
            if got == expected || (context_ok && got == CONTEXT_QSH) {
                Ok(())
            } else {
                Err(JwtError::QshMismatch)
            }
        }
    }
}

/// Signs claims with HS256 (outgoing calls to Jira, session tokens for our frontend).
pub fn mint_hs256(claims: &Claims, secret: &[u8]) -> Result<String, JwtError> {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .map_err(|e| JwtError::Signing(e.to_string()))
}

/// Signs claims with RS256 and a `kid` header, as Jira signs lifecycle callbacks.
pub fn mint_rs256(claims: &Claims, private_key_pem: &[u8], kid: &str) -> Result<String, JwtError> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem)
        .map_err(|e| JwtError::Key(e.to_string()))?;
    jsonwebtoken::encode(&header, claims, &key).map_err(|e| JwtError::Signing(e.to_string()))
}

/// Claims for a request-bound token: `qsh` of `method url` relative to `base_url`, valid for
/// `ttl_secs` from `now`.
pub fn request_claims(
    iss: &str,
    method: &str,
    url: &str,
    base_url: &str,
    now: i64,
    ttl_secs: i64,
) -> Claims {
    Claims {
        iss: iss.to_owned(),
        iat: Some(now),
        exp: Some(now + ttl_secs),
        qsh: Some(query_string_hash(&canonical_request_from_url(
            method, url, base_url,
        ))),
        ..Claims::default()
    }
}

/// Extracts the token from `Authorization: JWT <t>` or a `jwt` query parameter. The header wins
/// when both are present, because query strings end up in logs and browser history.
pub fn token_from_request<'a>(
    authorization: Option<&'a str>,
    query: &'a str,
) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(h) = authorization {
        if let Some(t) = h.strip_prefix("JWT ") {
            let t = t.trim();
            if !t.is_empty() {
                return Some(std::borrow::Cow::Borrowed(t));
            }
        }
    }
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "jwt")
        .map(|(_, v)| percent_encoding::percent_decode_str(v).decode_utf8_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"shhh-its-a-secret";

    fn valid(now: i64) -> Validation<'static> {
        Validation {
            now,
            leeway: 30,
            qsh: None,
            audience: None,
        }
    }

    #[test]
    fn hs256_round_trip_and_tamper() {
        let claims = request_claims("tenant", "GET", "/page?a=1", "https://app", 1000, 60);
        let t = mint_hs256(&claims, SECRET).unwrap();
        let tok = decode_unverified(&t).unwrap();
        tok.verify_hs256(SECRET).unwrap();
        assert_eq!(tok.verify_hs256(b"other"), Err(JwtError::BadSignature));
        let qsh = query_string_hash("GET&/page&a=1");
        tok.validate(&Validation {
            qsh: Some(QshRule::Exact(&qsh)),
            ..valid(1000)
        })
        .unwrap();
        assert_eq!(
            tok.validate(&Validation {
                qsh: Some(QshRule::Exact("00")),
                ..valid(1000)
            }),
            Err(JwtError::QshMismatch)
        );
        // One flipped character in the claims breaks the signature.
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let forged = Claims {
            iss: "someone-else".into(),
            ..claims
        };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let forged = parts.join(".");
        assert_eq!(
            decode_unverified(&forged).unwrap().verify_hs256(SECRET),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn alg_none_and_confusion_are_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(br#"{"iss":"t","exp":99999999999}"#);
        let t = format!("{header}.{body}.");
        assert!(matches!(
            decode_unverified(&t).unwrap().verify_hs256(SECRET),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let t = format!("{header}.{body}.AAAA");
        assert!(matches!(
            decode_unverified(&t).unwrap().verify_hs256(SECRET),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn expiry_is_required_and_leeway_applies() {
        let mut c = Claims {
            iss: "t".into(),
            ..Claims::default()
        };
        assert_eq!(validate_claims(&c, &valid(0)), Err(JwtError::MissingExpiry));
        c.exp = Some(100);
        assert!(validate_claims(&c, &valid(130)).is_ok());
        assert_eq!(validate_claims(&c, &valid(131)), Err(JwtError::Expired));
        c.nbf = Some(200);
        assert_eq!(validate_claims(&c, &valid(100)), Err(JwtError::NotYetValid));
    }

    #[test]
    fn context_qsh_only_where_allowed() {
        let c = Claims {
            iss: "t".into(),
            exp: Some(100),
            qsh: Some(CONTEXT_QSH.into()),
            ..Claims::default()
        };
        assert_eq!(
            validate_claims(
                &c,
                &Validation {
                    qsh: Some(QshRule::Exact("abc")),
                    ..valid(0)
                }
            ),
            Err(JwtError::QshMismatch)
        );
        assert!(validate_claims(
            &c,
            &Validation {
                qsh: Some(QshRule::ExactOrContext("abc")),
                ..valid(0)
            }
        )
        .is_ok());
        let none = Claims { qsh: None, ..c };
        assert_eq!(
            validate_claims(
                &none,
                &Validation {
                    qsh: Some(QshRule::ExactOrContext("abc")),
                    ..valid(0)
                }
            ),
            Err(JwtError::MissingQsh)
        );
    }

    #[test]
    fn malformed_tokens_never_panic() {
        for t in [
            "",
            ".",
            "..",
            "a.b",
            "a.b.c.d",
            "!!!.###.$$$",
            "eyJhbGciOiJIUzI1NiJ9..",
            "eyJhbGciOiJIUzI1NiJ9.bnVsbA.",
        ] {
            assert!(decode_unverified(t).is_err(), "{t:?} accepted");
        }
        assert!(decode_unverified(&"a".repeat(MAX_TOKEN_LEN + 1)).is_err());
    }

    #[test]
    fn token_extraction_prefers_header() {
        assert_eq!(
            token_from_request(Some("JWT abc"), "jwt=def").as_deref(),
            Some("abc")
        );
        assert_eq!(
            token_from_request(Some("Bearer abc"), "x=1&jwt=def").as_deref(),
            Some("def")
        );
        assert_eq!(token_from_request(None, "x=1").as_deref(), None);
    }
}
