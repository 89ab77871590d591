//! The node-to-node protocol (`/peer/*`): discovery, the invitation handshake, and the signed
//! messages of a connection. The other node is another organisation's server, so a signed request
//! is checked before its body is read (the signature covers the body's digest), the body is then
//! read against that digest within a bound, each connection has a bounded number of bodies in
//! flight, and wrong invitation codes are rate-limited per source.

use super::error::ApiError;
use crate::connections::peer::{self, AcceptRequest, CodeRequest, StatusMessage};
use crate::connections::PeerEnd;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::sync::Arc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/peer/discover", web::get().to(peer_discover))
        .route("/peer/invitations/inspect", web::post().to(peer_inspect))
        .route("/peer/invitations/accept", web::post().to(peer_accept))
        .route(
            "/peer/connections/{uid}/issues/{issue}/attachments/{attachment}",
            web::get().to(peer_attachment),
        )
        .route("/peer/connections/{uid}/sync", web::post().to(peer_sync))
        .route(
            "/peer/connections/{uid}/status",
            web::post().to(peer_status),
        );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoverQuery {
    site: Option<String>,
    public_id: Option<String>,
}

async fn peer_discover(
    state: web::Data<AppState>,
    q: web::Query<DiscoverQuery>,
) -> Result<HttpResponse, ApiError> {
    match state
        .connections
        .lookup_local_site(q.site.as_deref(), q.public_id.as_deref())
        .await?
    {
        Some(found) => Ok(HttpResponse::Ok().json(found)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_site",
            "Exalate is not installed on that site on this node.",
        )),
    }
}

async fn peer_inspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let source = source_of(&state, &req);
    if let Some(s) = &source {
        state.guesses.check(s)?;
    }
    let found = state.connections.peer_inspect(&body.code).await;
    if let Some(s) = &source {
        state.guesses.record(s, &found);
    }
    Ok(HttpResponse::Ok().json(found?))
}

async fn peer_accept(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<AcceptRequest>,
) -> Result<HttpResponse, ApiError> {
    let source = source_of(&state, &req);
    if let Some(s) = &source {
        state.guesses.check(s)?;
    }
    let accepted = state.connections.peer_accept(&body).await;
    if let Some(s) = &source {
        state.guesses.record(s, &accepted);
    }
    Ok(HttpResponse::Ok().json(accepted?))
}

/// Who is guessing: the address the request came from (the proxy's, behind one: then the limit
/// is per proxy, which still bounds the rate). `None` for this node's own calls, which the
/// console's per-site limit already counted.
fn source_of(state: &AppState, req: &HttpRequest) -> Option<String> {
    let own = req
        .headers()
        .get(peer::H_SELF)
        .and_then(|v| v.to_str().ok());
    if state.connections.peer.is_self(own) {
        return None;
    }
    Some(
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into()),
    )
}

fn refused(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "peer_signature",
        message.to_owned(),
    )
}

/// Checks a signed peer request from its headers alone: the HMAC (over method, path, timestamp,
/// nonce and the body's digest) with each end's secret, the time window, and the nonce (once).
/// Answers the ends whose secret verified; 401 when none did.
async fn verify_peer(
    state: &AppState,
    req: &HttpRequest,
    uid: &str,
) -> Result<Vec<PeerEnd>, ApiError> {
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let window = state.settings.peer.timestamp_window_secs;
    let signed = peer::Signed {
        method: req.method().as_str(),
        path: req.path(),
        timestamp: h(peer::H_TIMESTAMP),
        nonce: h(peer::H_NONCE),
        signature: h(peer::H_SIGNATURE),
        body_sha256: h(peer::H_CONTENT_SHA256).unwrap_or(""),
    };
    let now = chrono::Utc::now().timestamp();
    let mut verified = Vec::new();
    let mut why = peer::SignatureError::Bad;
    for (end, secret) in state.connections.peer_ends(uid).await? {
        match peer::verify(&secret, &signed, now, window) {
            Ok(()) => verified.push(end),
            Err(e) => why = e,
        }
    }
    if verified.is_empty() {
        return Err(refused(&why.to_string()));
    }
    peer::remember_nonce(
        &state.connections.db,
        h(peer::H_NONCE).unwrap_or(""),
        window,
    )
    .await
    .map_err(|e| refused(&e.to_string()))?;
    Ok(verified)
}

/// Reads the body of a verified request: at most `limit` bytes, and exactly the bytes whose
/// digest was signed. A connection has at most `peer.max_inflight_bodies` bodies being read at
/// once; beyond that the sender is asked to come back (its outbox retries).
async fn signed_body(
    state: &AppState,
    req: &HttpRequest,
    uid: &str,
    payload: web::Payload,
    limit: usize,
) -> Result<(Vec<PeerEnd>, web::Bytes), ApiError> {
    let ends = verify_peer(state, req, uid).await?;
    let _permit = state.peer_inflight.try_acquire(uid).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "peer_busy",
            "Too many messages of this connection are being received at once; send again shortly.",
        )
    })?;
    let body = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The message is larger than this node accepts (peer.max_message_bytes).",
            )
        })?
        .map_err(|e| ApiError::bad_request("malformed_body", e.to_string()))?;
    let signed = req
        .headers()
        .get(peer::H_CONTENT_SHA256)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !peer::body_digest(&body).eq_ignore_ascii_case(signed) {
        return Err(refused("the body is not the one that was signed"));
    }
    Ok((ends, body))
}

async fn peer_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    uid: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let limit = state.settings.server.max_body_bytes;
    let (ends, body) = signed_body(&state, &req, &uid, payload, limit).await?;
    let msg: StatusMessage = serde_json::from_slice(&body).map_err(|_| {
        ApiError::bad_request("malformed_json", "The body is not a status message.")
    })?;
    if !matches!(msg.status.as_str(), "active" | "deactivated" | "deleted") {
        return Err(ApiError::bad_request("invalid_status", "Unknown status."));
    }
    state.connections.peer_status(&ends, &msg.status).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A sync message from the other end: applied once, answered with the twin. A message carries
/// the issue's comments, so it may be far larger than any other request.
async fn peer_sync(
    state: web::Data<AppState>,
    req: HttpRequest,
    uid: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let limit = state.settings.peer.max_message_bytes;
    let (ends, body) = signed_body(&state, &req, &uid, payload, limit).await?;
    let msg: crate::sync::SyncMessage = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("malformed_json", "The body is not a sync message."))?;
    let raw = String::from_utf8_lossy(&body);
    let ack = state.sync.receive(&uid, &ends, msg, &raw).await?;
    Ok(HttpResponse::Ok().json(ack))
}

/// Streams an attachment of a synced issue to the other end (signed GET), straight from Jira.
async fn peer_attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (uid, issue, attachment) = path.into_inner();
    let ends = verify_peer(&state, &req, &uid).await?;
    let sender_site = req
        .headers()
        .get(peer::H_SENDER_SITE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let resp = state
        .sync
        .attachment_for_peer(&uid, &ends, sender_site, &issue, &attachment)
        .await?;
    let mut out = HttpResponse::Ok();
    // The file is the other organisation's: never let a browser render it as a page of ours.
    out.content_type(crate::sync::safe_content_type(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
    ));
    out.insert_header(("Content-Disposition", "attachment"));
    let len = resp.content_length();
    let stream = resp.bytes_stream();
    Ok(match len {
        Some(n) => out.body(actix_web::body::SizedStream::new(n, stream)),
        None => out.streaming(stream),
    })
}

/// Per-connection bound on bodies being read at once (memory is spent only on verified senders,
/// and one connection cannot hold every worker).
#[derive(Clone)]
pub struct PeerInflight {
    per_connection: usize,
    slots: moka::sync::Cache<String, Arc<tokio::sync::Semaphore>>,
}

impl PeerInflight {
    pub fn new(per_connection: usize) -> Self {
        PeerInflight {
            per_connection: per_connection.max(1),
            slots: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(std::time::Duration::from_secs(600))
                .build(),
        }
    }

    fn try_acquire(&self, uid: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let n = self.per_connection;
        self.slots
            .get_with(uid.to_owned(), || Arc::new(tokio::sync::Semaphore::new(n)))
            .try_acquire_owned()
            .ok()
    }
}
