//! The invitation handshake between two nodes: the initiator answers `inspect` and `accept` for
//! its codes (peer API, authorised by the code alone), the acceptor asks them and creates its end.
//! Everything the other node says about itself is another organisation's word: its URLs must be
//! web origins, its names are trimmed, and a connection uid it picks may not clash with ours.

use super::invitations::InvitationCode;
use super::peer::{self, AcceptRequest, AcceptResponse, EndInfo};
use super::{
    connection_name, map_remote, same_site, ConnectionError, ConnectionService, ConnectionView,
    Result,
};
use crate::entities::{connections, invitations as inv};
use crate::tenants::{Tenant, TenantState};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use std::sync::Arc;

impl ConnectionService {
    // ------------------------------------------------------------------ initiator side (peer API)

    async fn find_invitation(
        &self,
        code: &str,
    ) -> Result<(inv::Model, connections::Model, Arc<Tenant>)> {
        let code = InvitationCode::parse(code).ok_or(ConnectionError::InvitationInvalid)?;
        let invitation = inv::Entity::find()
            .filter(inv::Column::CodeHash.eq(code.hash()))
            .one(&self.db)
            .await?
            .ok_or(ConnectionError::InvitationInvalid)?;
        let conn = connections::Entity::find_by_id(invitation.connection_id)
            .one(&self.db)
            .await?
            .ok_or(ConnectionError::InvitationInvalid)?;
        let tenant = self
            .tenant_by_id(conn.tenant_id)
            .await?
            .ok_or(ConnectionError::InvitationInvalid)?;
        Ok((invitation, conn, tenant))
    }

    async fn tenant_by_id(&self, id: i64) -> Result<Option<Arc<Tenant>>> {
        let row = crate::entities::tenants::Entity::find_by_id(id)
            .one(&self.db)
            .await?;
        match row {
            Some(r) if r.state == TenantState::Enabled.as_str() => {
                Ok(self.tenants.get(&r.client_key).await?)
            }
            _ => Ok(None),
        }
    }

    /// `POST /peer/invitations/inspect`: who invited, without using the code up.
    pub async fn peer_inspect(&self, code: &str) -> Result<peer::InspectResponse> {
        let (invitation, conn, tenant) = self.find_invitation(code).await?;
        if invitation.used_at.is_some() {
            return Err(ConnectionError::InvitationUsed);
        }
        if invitation.expires_at < Utc::now().fixed_offset() {
            return Err(ConnectionError::InvitationExpired);
        }
        Ok(peer::InspectResponse {
            initiator: self
                .end_info(
                    &tenant,
                    conn.local_project_key.as_deref(),
                    conn.local_project_name.as_deref(),
                )
                .await,
            expected_site_url: conn.remote_site_url.clone(),
            expires_at: invitation.expires_at.to_rfc3339(),
        })
    }

    /// `POST /peer/invitations/accept`: uses the code up (once, atomically), activates this end
    /// and hands the acceptor the connection secret. The code alone gets that answer once: a
    /// retry (the first answer was lost) must carry the proof the first accept carried, within
    /// `accept_retry_secs` and before the code's expiry; anything else is 409 and reveals nothing.
    pub async fn peer_accept(&self, req: &AcceptRequest) -> Result<AcceptResponse> {
        let (invitation, conn, tenant) = self.find_invitation(&req.code).await?;
        let acceptor = self.foreign_end(&req.acceptor)?;
        if let Some(expected) = &conn.remote_site_url {
            if !same_site(expected, &acceptor.site_url) {
                return Err(ConnectionError::WrongSite(expected.clone()));
            }
        }
        if same_site(&acceptor.site_url, &tenant.base_url) {
            return Err(ConnectionError::OwnInvitation);
        }
        let now = Utc::now().fixed_offset();
        let proof_hash = req
            .proof
            .as_deref()
            .filter(|p| (32..=128).contains(&p.len()))
            .map(|p| hex::encode(Sha256::digest(p.as_bytes())));
        if invitation.expires_at < now {
            return Err(match invitation.used_at {
                Some(_) => ConnectionError::AlreadyAccepted,
                None => ConnectionError::InvitationExpired,
            });
        }
        match &invitation.used_at {
            Some(used_at) => {
                let same_acceptor = proof_hash.is_some()
                    && invitation.acceptor_proof_hash == proof_hash
                    && invitation.used_by.as_deref() == Some(acceptor.exalate_url.as_str());
                let recent = (now - *used_at).num_seconds() <= self.accept_retry_secs.max(0);
                if !(same_acceptor && recent) {
                    return Err(ConnectionError::AlreadyAccepted);
                }
            }
            None => {
                let claimed = inv::Entity::update_many()
                    .col_expr(inv::Column::UsedAt, Expr::value(now))
                    .col_expr(
                        inv::Column::UsedBy,
                        Expr::value(acceptor.exalate_url.clone()),
                    )
                    .col_expr(inv::Column::AcceptorProofHash, Expr::value(proof_hash))
                    .filter(inv::Column::Id.eq(invitation.id))
                    .filter(inv::Column::UsedAt.is_null())
                    .exec(&self.db)
                    .await?;
                if claimed.rows_affected != 1 {
                    return Err(ConnectionError::AlreadyAccepted);
                }
            }
        }
        let conn = connections::Entity::find_by_id(conn.id)
            .one(&self.db)
            .await?
            .ok_or(ConnectionError::InvitationInvalid)?;
        let own_title = self.titles.title(&self.jira, &tenant).await;
        let secret = match &conn.peer_secret_enc {
            Some(enc) => {
                String::from_utf8_lossy(self.secrets.decrypt(&conn.uid, enc)?.expose()).into_owned()
            }
            None => {
                let s = InvitationCode::generate("").secret;
                let mut m: connections::ActiveModel = conn.clone().into();
                m.peer_secret_enc = Set(Some(self.secrets.encrypt(&conn.uid, s.as_bytes())));
                m.status = Set("active".into());
                m.name = Set(connection_name(&own_title, &acceptor.site_name));
                m.remote_site_name = Set(Some(acceptor.site_name.clone()));
                m.remote_site_url = Set(Some(acceptor.site_url.clone()));
                m.remote_exalate_url = Set(Some(acceptor.exalate_url.clone()));
                m.remote_project_key = Set(acceptor.project_key.clone());
                m.remote_project_name = Set(acceptor.project_name.clone());
                m.updated_at = Set(now);
                m.last_activity_at = Set(Some(now));
                let saved = m.update(&self.db).await?;
                tracing::info!(site = %tenant.base_url, connection = %saved.name, "connection established (invitation accepted)");
                s
            }
        };
        Ok(AcceptResponse {
            connection_uid: conn.uid.clone(),
            name: connection_name(&acceptor.site_name, &own_title),
            secret,
            initiator: self
                .end_info(
                    &tenant,
                    conn.local_project_key.as_deref(),
                    conn.local_project_name.as_deref(),
                )
                .await,
        })
    }

    // ------------------------------------------------------------------ acceptor side

    /// Shows who invited, after checking the signed-in user is an admin of this site.
    pub async fn inspect(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        code: &str,
    ) -> Result<peer::InspectResponse> {
        self.require_admin(t, account).await?;
        let parsed = InvitationCode::parse(code).ok_or(ConnectionError::InvitationInvalid)?;
        let mut found = self
            .peer
            .inspect(&parsed.node_url, code)
            .await
            .map_err(map_remote)?;
        found.initiator = self.foreign_end(&found.initiator)?;
        if same_site(&found.initiator.site_url, &t.base_url) {
            return Err(ConnectionError::OwnInvitation);
        }
        if let Some(expected) = &found.expected_site_url {
            if !same_site(expected, &t.base_url) {
                return Err(ConnectionError::WrongSite(expected.clone()));
            }
        }
        Ok(found)
    }

    /// Accepts an invitation (or the "Yes" redirect) on this site: admin check, project check,
    /// handshake with the initiating node, then this end is created Active.
    pub async fn accept(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        code: &str,
        project_key: &str,
    ) -> Result<ConnectionView> {
        self.require_admin(t, account).await?;
        let parsed = InvitationCode::parse(code).ok_or(ConnectionError::InvitationInvalid)?;
        let project_name = self.project_name(t, project_key).await?;
        let project_key = project_key.trim().to_owned();
        let code = code.trim().to_owned();
        // The same on every retry of this site with this code (and on every replica).
        let proof = hex::encode(
            self.secrets
                .derive(format!("accept-proof\n{}\n{code}", t.client_key).as_bytes()),
        );
        let resp = self
            .peer
            .accept(
                &parsed.node_url,
                &AcceptRequest {
                    code,
                    acceptor: self
                        .end_info(t, Some(&project_key), Some(&project_name))
                        .await,
                    proof: Some(proof),
                },
            )
            .await
            .map_err(map_remote)?;
        let initiator = self.foreign_end(&resp.initiator)?;
        if !valid_uid(&resp.connection_uid) || resp.secret.len() < 32 {
            return Err(ConnectionError::Peer(peer::PeerError::Protocol(
                "the connection it answered is not one Exalate makes".into(),
            )));
        }
        let holders = connections::Entity::find()
            .filter(connections::Column::Uid.eq(resp.connection_uid.clone()))
            .all(&self.db)
            .await?;
        // The same acceptor retrying gets the existing end back.
        if let Some(existing) = holders.iter().find(|c| c.tenant_id == t.id) {
            if existing.remote_exalate_url.as_deref() == Some(initiator.exalate_url.as_str()) {
                return Ok(existing.into());
            }
            return Err(ConnectionError::UidClash);
        }
        // The only other end this node may hold is the initiator's own, when both sites are
        // here; any other row with this uid means the other node chose a uid that is ours.
        for other in &holders {
            let initiator_here = !other.is_local
                && other.role == "initiator"
                && other
                    .remote_site_url
                    .as_deref()
                    .is_some_and(|u| same_site(u, &t.base_url))
                && self
                    .tenant_by_id(other.tenant_id)
                    .await?
                    .is_some_and(|ot| same_site(&ot.base_url, &initiator.site_url));
            if !initiator_here {
                return Err(ConnectionError::UidClash);
            }
        }
        let now = Utc::now().fixed_offset();
        let m = connections::ActiveModel {
            uid: Set(resp.connection_uid.clone()),
            tenant_id: Set(t.id),
            name: Set(connection_name(
                &self.titles.title(&self.jira, t).await,
                &initiator.site_name,
            )),
            mode: Set("basic".into()),
            role: Set("acceptor".into()),
            status: Set("active".into()),
            local_project_key: Set(Some(project_key)),
            local_project_name: Set(Some(project_name)),
            remote_project_key: Set(initiator.project_key.clone()),
            remote_project_name: Set(initiator.project_name.clone()),
            remote_site_url: Set(Some(initiator.site_url.clone())),
            remote_exalate_url: Set(Some(initiator.exalate_url.clone())),
            remote_site_name: Set(Some(initiator.site_name.clone())),
            is_local: Set(false),
            peer_secret_enc: Set(Some(
                self.secrets
                    .encrypt(&resp.connection_uid, resp.secret.as_bytes()),
            )),
            issues_in_sync: Set(0),
            last_activity_at: Set(Some(now)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let saved = self.insert_connection(m).await?;
        tracing::info!(site = %t.base_url, connection = %saved.name, "connection established (accepted here)");
        Ok((&saved).into())
    }

    /// The other node's account of one end, checked: its site and Exalate URLs must be web
    /// origins (https, or http only where `jira.allow_http` is set) — they become links in Jira
    /// and in the console — and its names short plain text.
    pub(super) fn foreign_end(&self, end: &EndInfo) -> Result<EndInfo> {
        let site_url = self.foreign_url(&end.site_url)?;
        let exalate_url = self.foreign_url(&end.exalate_url)?;
        Ok(EndInfo {
            site_url,
            exalate_url,
            site_name: plain_text(&end.site_name, 64).unwrap_or_else(|| "other-site".into()),
            project_key: end.project_key.as_deref().and_then(|k| plain_text(k, 64)),
            project_name: end.project_name.as_deref().and_then(|n| plain_text(n, 255)),
        })
    }

    /// A URL another node gave: `https:` (or `http:` only where `jira.allow_http` is set) with a
    /// host, no credentials; returned without a trailing slash.
    pub fn foreign_url(&self, raw: &str) -> Result<String> {
        let refused = || ConnectionError::UntrustedAddress;
        let u = url::Url::parse(raw.trim()).map_err(|_| refused())?;
        let scheme_ok = match u.scheme() {
            "https" => true,
            "http" => self.allow_http_links,
            _ => false,
        };
        if !scheme_ok
            || u.host_str().is_none_or(str::is_empty)
            || !u.username().is_empty()
            || u.password().is_some()
            || raw.len() > 2048
        {
            return Err(refused());
        }
        Ok(u.as_str().trim_end_matches('/').to_owned())
    }
}

/// Connection uids are 32 lowercase hex characters (a UUID without dashes).
fn valid_uid(uid: &str) -> bool {
    uid.len() == 32
        && uid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Text from another organisation, as a name: trimmed, no control characters, at most `max`
/// characters; `None` when nothing is left.
fn plain_text(raw: &str, max: usize) -> Option<String> {
    let s: String = raw.chars().filter(|c| !c.is_control()).take(max).collect();
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}
