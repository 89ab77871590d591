//! The node-to-node protocol: JSON over HTTP between Exalate nodes (also between two tenants of
//! one node, so there is one code path). Discovery is public (an Exalate URL is public); the
//! invitation handshake is authorised by the single-use code itself; every later message is signed
//! with the connection's HMAC-SHA256 secret over method, path, timestamp, nonce and body digest,
//! inside a time window, with each nonce accepted once (stored, so every replica agrees).

use crate::entities::peer_nonces;
use crate::jira::HostAllowlist;
use chrono::Utc;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const H_CONNECTION: &str = "X-Exalate-Connection";
pub const H_TIMESTAMP: &str = "X-Exalate-Timestamp";
pub const H_NONCE: &str = "X-Exalate-Nonce";
pub const H_SIGNATURE: &str = "X-Exalate-Signature";
/// SHA-256 (hex) of the body. It is what the signature covers, so a receiver checks the
/// signature before it reads a byte of the body, then the body against it.
pub const H_CONTENT_SHA256: &str = "X-Exalate-Content-SHA256";
/// The sender's Jira site: on a connection whose two ends are on one node, which end is meant.
pub const H_SENDER_SITE: &str = "X-Exalate-Sender-Site";
/// Sent only to this node's own address: marks the node's own handshake calls (both sites on one
/// node), which the limit on invitation-code guesses per source does not count.
pub const H_SELF: &str = "X-Exalate-Self";

/// One end of a connection as the other node sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EndInfo {
    pub site_url: String,
    pub site_name: String,
    pub exalate_url: String,
    pub project_key: Option<String>,
    pub project_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResponse {
    pub site_url: String,
    pub site_name: String,
    pub exalate_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeRequest {
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectResponse {
    pub initiator: EndInfo,
    /// The site the request was made for ("Yes" path), if any.
    pub expected_site_url: Option<String>,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptRequest {
    pub code: String,
    pub acceptor: EndInfo,
    /// A value only the acceptor can compute (the same on its retries). The initiator keeps its
    /// hash with the used code; a used code gets an answer again only with the same proof.
    #[serde(default)]
    pub proof: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptResponse {
    pub connection_uid: String,
    pub name: String,
    pub secret: String,
    pub initiator: EndInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusMessage {
    /// `active`, `deactivated` or `deleted`.
    pub status: String,
}

/// The error body every node answers: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Deserialize)]
struct RemoteError {
    error: RemoteErrorBody,
}

#[derive(Debug, Clone, Deserialize)]
struct RemoteErrorBody {
    code: String,
    message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("that Exalate address is not allowed: {0}")]
    NotAllowed(String),
    #[error("the other Exalate node could not be reached ({0}). Check the address or try again in a few minutes.")]
    Unreachable(String),
    #[error("{message}")]
    Remote {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the other Exalate node answered something unexpected: {0}")]
    Protocol(String),
}

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 of a body, as the signature and [`H_CONTENT_SHA256`] carry it.
pub fn body_digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn string_to_sign(method: &str, path: &str, timestamp: i64, nonce: &str, digest: &str) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        timestamp,
        nonce,
        digest.to_ascii_lowercase()
    )
}

pub fn sign(
    secret: &[u8],
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(string_to_sign(method, path, timestamp, nonce, &body_digest(body)).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed")]
    Missing,
    #[error("the request timestamp is outside the accepted window")]
    Stale,
    #[error("the request signature does not verify")]
    Bad,
    #[error("the request was already received (replay)")]
    Replay,
}

/// A received peer request, as far as the signature covers it: the body by its digest, so the
/// signature can be checked before the body is read.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body_sha256: &'a str,
}

/// Checks signature and time window (the nonce is checked by [`remember_nonce`]).
pub fn verify(secret: &[u8], r: &Signed<'_>, now: i64, window: i64) -> Result<(), SignatureError> {
    let (method, path, digest) = (r.method, r.path, r.body_sha256);
    let (Some(ts), Some(nonce), Some(sig)) = (r.timestamp, r.nonce, r.signature) else {
        return Err(SignatureError::Missing);
    };
    let ts: i64 = ts.parse().map_err(|_| SignatureError::Missing)?;
    if (now - ts).abs() > window || nonce.is_empty() || nonce.len() > 128 {
        return Err(SignatureError::Stale);
    }
    let sig = hex::decode(sig).map_err(|_| SignatureError::Bad)?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignatureError::Missing);
    }
    mac.update(string_to_sign(method, path, ts, nonce, digest).as_bytes());
    mac.verify_slice(&sig).map_err(|_| SignatureError::Bad)
}

/// Records a nonce; a second use inside the window is a replay. Old nonces are pruned.
pub async fn remember_nonce(
    db: &DatabaseConnection,
    nonce: &str,
    window: i64,
) -> Result<(), SignatureError> {
    let now = Utc::now().fixed_offset();
    let _ = peer_nonces::Entity::delete_many()
        .filter(peer_nonces::Column::ExpiresAt.lt(now))
        .exec(db)
        .await;
    let row = peer_nonces::ActiveModel {
        nonce: Set(nonce.to_owned()),
        expires_at: Set(now + chrono::Duration::seconds(window * 2)),
    };
    peer_nonces::Entity::insert(row)
        .exec(db)
        .await
        .map(|_| ())
        .map_err(|_| SignatureError::Replay)
}

#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    allowlist: HostAllowlist,
    own_base_url: String,
    /// Our own origin (scheme, host, port): always allowed, and only exactly so.
    own_origin: Option<url::Origin>,
    /// IP addresses listed exactly in `peer.allowed_hosts` (the only private ones allowed).
    listed_ips: Vec<std::net::IpAddr>,
    allow_private_networks: bool,
    /// See [`H_SELF`]; empty until [`PeerClient::with_self_token`].
    self_token: String,
}

impl PeerClient {
    pub fn new(settings: &crate::configuration::PeerSettings, own_base_url: &str) -> Self {
        let own = url::Url::parse(own_base_url).ok();
        let own_host = own.as_ref().and_then(|u| u.host_str().map(str::to_owned));
        let resolver = std::sync::Arc::new(PublicOnlyResolver {
            allow_private: settings.allow_private_networks,
            own_host: own_host.clone(),
        });
        PeerClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(settings.timeout_ms))
                // Attachment streams get an hour in total, but never this long without a byte.
                .read_timeout(Duration::from_millis(settings.timeout_ms))
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(resolver)
                .build()
                .expect("static reqwest configuration"),
            allowlist: HostAllowlist::new(&settings.allowed_hosts, settings.allow_http),
            own_base_url: own_base_url.trim_end_matches('/').to_owned(),
            own_origin: own.map(|u| u.origin()),
            listed_ips: settings
                .allowed_hosts
                .iter()
                .filter_map(|h| h.trim().trim_matches(['[', ']']).parse().ok())
                .collect(),
            allow_private_networks: settings.allow_private_networks,
            self_token: String::new(),
        }
    }

    /// A value only this node's replicas know (derived from the encryption key), sent with the
    /// handshake calls this node makes to itself.
    pub fn with_self_token(mut self, token: String) -> Self {
        self.self_token = token;
        self
    }

    /// Whether a request's [`H_SELF`] header is this node's own token.
    pub fn is_self(&self, header: Option<&str>) -> bool {
        // Compared as digests: timing can tell at most how much of a digest matched.
        match header {
            Some(h) if !self.self_token.is_empty() => {
                Sha256::digest(h.as_bytes()) == Sha256::digest(self.self_token.as_bytes())
            }
            _ => false,
        }
    }

    /// The [`H_SELF`] header for a call to `node`: only ever to this node itself.
    fn self_header(&self, node: &str) -> Option<(&'static str, String)> {
        (node == self.own_base_url && !self.self_token.is_empty())
            .then(|| (H_SELF, self.self_token.clone()))
    }

    /// Validates a node URL taken from user input, an invitation code or another node: an origin
    /// only (no path, query or credentials of anyone's choosing) — our own base URL exactly, or
    /// an allowed host, where loopback and private addresses need to be listed by address (or
    /// `peer.allow_private_networks`; names are checked again after DNS resolution).
    pub fn check_node(&self, node: &str) -> Result<String, PeerError> {
        let node = node.trim().trim_end_matches('/');
        if node == self.own_base_url {
            return Ok(self.own_base_url.clone());
        }
        let refused = |why: &str| PeerError::NotAllowed(format!("{node}: {why}"));
        let u = url::Url::parse(node).map_err(|_| refused("not a valid URL"))?;
        if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
            return Err(refused("an Exalate node address has no path or query"));
        }
        if self.own_origin.as_ref() == Some(&u.origin()) {
            return Ok(self.own_base_url.clone());
        }
        // Our own host at another port or scheme is not us: it needs to be allowed like any host.
        self.allowlist
            .check(&u)
            .map_err(|e| refused(&e.to_string()))?;
        let ip = match u.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = ip {
            if is_private(ip) && !self.allow_private_networks && !self.listed_ips.contains(&ip) {
                return Err(refused("private and loopback addresses are not allowed"));
            }
        }
        Ok(u.as_str().trim_end_matches('/').to_owned())
    }

    pub fn own_base_url(&self) -> &str {
        &self.own_base_url
    }

    async fn send<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Result<T, PeerError> {
        let resp = rb
            .send()
            .await
            .map_err(|e| PeerError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| PeerError::Unreachable(e.without_url().to_string()))?;
        if (200..300).contains(&status) {
            if bytes.is_empty() {
                return serde_json::from_slice(b"null")
                    .map_err(|e| PeerError::Protocol(e.to_string()));
            }
            return serde_json::from_slice(&bytes).map_err(|e| PeerError::Protocol(e.to_string()));
        }
        match serde_json::from_slice::<RemoteError>(&bytes) {
            Ok(r) => Err(PeerError::Remote {
                status,
                code: r.error.code,
                message: r.error.message,
            }),
            Err(_) if status >= 500 => Err(PeerError::Unreachable(format!("HTTP {status}"))),
            Err(_) => Err(PeerError::Protocol(format!("HTTP {status}"))),
        }
    }

    pub async fn discover(
        &self,
        node: &str,
        query: &[(&str, &str)],
    ) -> Result<DiscoverResponse, PeerError> {
        let node = self.check_node(node)?;
        self.send(self.http.get(format!("{node}/peer/discover")).query(query))
            .await
    }

    pub async fn inspect(&self, node: &str, code: &str) -> Result<InspectResponse, PeerError> {
        let node = self.check_node(node)?;
        let mut rb = self
            .http
            .post(format!("{node}/peer/invitations/inspect"))
            .json(&CodeRequest {
                code: code.to_owned(),
            });
        if let Some(h) = self.self_header(&node) {
            rb = rb.header(h.0, h.1);
        }
        self.send(rb).await
    }

    pub async fn accept(
        &self,
        node: &str,
        req: &AcceptRequest,
    ) -> Result<AcceptResponse, PeerError> {
        let node = self.check_node(node)?;
        let mut rb = self
            .http
            .post(format!("{node}/peer/invitations/accept"))
            .json(req);
        if let Some(h) = self.self_header(&node) {
            rb = rb.header(h.0, h.1);
        }
        self.send(rb).await
    }

    /// A signed message about an existing connection.
    pub async fn status(
        &self,
        node: &str,
        uid: &str,
        secret: &[u8],
        status: &str,
    ) -> Result<(), PeerError> {
        let body = serde_json::to_vec(&StatusMessage {
            status: status.to_owned(),
        })
        .expect("serialisable");
        let _: serde_json::Value = self
            .signed_post(
                node,
                &format!("/peer/connections/{uid}/status"),
                uid,
                secret,
                &body,
            )
            .await?;
        Ok(())
    }

    /// A signed GET whose answer is streamed (attachment content).
    pub async fn signed_get(
        &self,
        node: &str,
        path: &str,
        uid: &str,
        secret: &[u8],
        sender_site: &str,
    ) -> Result<reqwest::Response, PeerError> {
        let node = self.check_node(node)?;
        let ts = Utc::now().timestamp();
        let mut n = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut n);
        let nonce = hex::encode(n);
        let sig = sign(secret, "GET", path, ts, &nonce, b"");
        let resp = self
            .http
            .get(format!("{node}{path}"))
            .timeout(Duration::from_secs(3600))
            .header(H_CONTENT_SHA256, body_digest(b""))
            .header(H_SENDER_SITE, sender_site)
            .header(H_CONNECTION, uid)
            .header(H_TIMESTAMP, ts.to_string())
            .header(H_NONCE, nonce)
            .header(H_SIGNATURE, sig)
            .send()
            .await
            .map_err(|e| PeerError::Unreachable(e.without_url().to_string()))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(PeerError::Remote {
                status: resp.status().as_u16(),
                code: "attachment_unavailable".into(),
                message: format!(
                    "the other side could not send the attachment (HTTP {})",
                    resp.status()
                ),
            })
        }
    }

    /// POSTs `body` to `path` on `node`, signed with the connection's secret.
    pub async fn signed_post<T: DeserializeOwned>(
        &self,
        node: &str,
        path: &str,
        uid: &str,
        secret: &[u8],
        body: &[u8],
    ) -> Result<T, PeerError> {
        let node = self.check_node(node)?;
        let ts = Utc::now().timestamp();
        let mut n = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut n);
        let nonce = hex::encode(n);
        let sig = sign(secret, "POST", path, ts, &nonce, body);
        self.send(
            self.http
                .post(format!("{node}{path}"))
                .header(H_CONTENT_SHA256, body_digest(body))
                .header(H_CONNECTION, uid)
                .header(H_TIMESTAMP, ts.to_string())
                .header(H_NONCE, nonce)
                .header(H_SIGNATURE, sig)
                .header("Content-Type", "application/json")
                .body(body.to_vec()),
        )
        .await
    }
}

/// Loopback, private, link-local, unique-local and unspecified addresses: what an SSRF aims at.
pub fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10, CGNAT
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // fc00::/7
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // fe80::/10
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(v4.into()))
        }
    }
}

/// Resolves peer host names and refuses those that point at private addresses (our own host
/// excepted), so a public name cannot be aimed at the inside after the allowlist said yes.
struct PublicOnlyResolver {
    allow_private: bool,
    own_host: Option<String>,
}

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private || self.own_host.as_deref() == Some(name.as_str());
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow && addrs.iter().any(|a| is_private(a.ip())) {
                return Err(format!("{host} resolves to a private address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_everything() {
        let sig = sign(b"secret", "POST", "/peer/x", 1000, "n1", b"{}");
        // The request that was signed, with one part changed at a time.
        let check = |secret: &[u8], path, timestamp, nonce, body: &[u8], now| {
            let r = Signed {
                method: "POST",
                path,
                timestamp,
                nonce: Some(nonce),
                signature: Some(&sig),
                body_sha256: &body_digest(body),
            };
            verify(secret, &r, now, 300)
        };
        let ts = Some("1000");
        assert_eq!(check(b"secret", "/peer/x", ts, "n1", b"{}", 1000), Ok(()));
        let bad = Err(SignatureError::Bad);
        assert_eq!(check(b"secret", "/peer/y", ts, "n1", b"{}", 1000), bad);
        assert_eq!(check(b"secret", "/peer/x", ts, "n1", b"{ }", 1000), bad);
        assert_eq!(check(b"secret", "/peer/x", ts, "n2", b"{}", 1000), bad);
        assert_eq!(check(b"other", "/peer/x", ts, "n1", b"{}", 1000), bad);
        assert_eq!(
            check(b"secret", "/peer/x", ts, "n1", b"{}", 1400),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(b"secret", "/peer/x", None, "n1", b"{}", 1000),
            Err(SignatureError::Missing)
        );
    }
}
