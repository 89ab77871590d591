//! The console's list and a connection's lifecycle (Active ⇄ Deactivated, deleted), told to the
//! other side over the peer protocol, and the ends a signed peer request may act on.

use super::*;

impl ConnectionService {
    pub async fn list(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
    ) -> Result<Vec<ConnectionView>> {
        self.require_admin(t, account).await?;
        let rows = connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .order_by_desc(connections::Column::CreatedAt)
            .all(&self.db)
            .await?;
        Ok(rows.iter().map(ConnectionView::from).collect())
    }

    pub(super) async fn own(&self, t: &Tenant, uid: &str) -> Result<connections::Model> {
        connections::Entity::find()
            .filter(connections::Column::TenantId.eq(t.id))
            .filter(connections::Column::Uid.eq(uid))
            .one(&self.db)
            .await?
            .ok_or(ConnectionError::NotFound)
    }

    /// Activates or deactivates this end and tells the other end (best effort: a peer that is
    /// down leaves a visible error on this end, and the next toggle retries).
    pub async fn set_active(
        &self,
        t: &Arc<Tenant>,
        account: Option<&str>,
        uid: &str,
        active: bool,
    ) -> Result<ConnectionView> {
        self.require_admin(t, account).await?;
        let conn = self.own(t, uid).await?;
        if conn.status == "pending" {
            return Err(ConnectionError::NotActive);
        }
        let status = if active { "active" } else { "deactivated" };
        let error = self.notify_peer(&conn, status).await;
        let mut m: connections::ActiveModel = conn.into();
        m.status = Set(status.into());
        m.error_reason = Set(error);
        m.updated_at = Set(Utc::now().fixed_offset());
        let saved = m.update(&self.db).await?;
        tracing::info!(site = %t.base_url, connection = %saved.name, status, "connection status changed");
        Ok((&saved).into())
    }

    pub async fn delete(&self, t: &Arc<Tenant>, account: Option<&str>, uid: &str) -> Result<()> {
        self.require_admin(t, account).await?;
        let conn = self.own(t, uid).await?;
        if conn.status != "pending" {
            let _ = self.notify_peer(&conn, "deleted").await;
        }
        inv::Entity::delete_many()
            .filter(inv::Column::ConnectionId.eq(conn.id))
            .exec(&self.db)
            .await?;
        connections::Entity::delete_by_id(conn.id)
            .exec(&self.db)
            .await?;
        tracing::info!(site = %t.base_url, connection = %conn.name, "connection deleted");
        Ok(())
    }

    async fn notify_peer(&self, conn: &connections::Model, status: &str) -> Option<String> {
        if conn.is_local {
            return None;
        }
        let (Some(enc), Some(remote)) = (&conn.peer_secret_enc, &conn.remote_exalate_url) else {
            return None;
        };
        let node = remote
            .rsplit_once("/e/")
            .map(|(n, _)| n.to_owned())
            .unwrap_or_else(|| remote.clone());
        let secret = match self.secrets.decrypt(&conn.uid, enc) {
            Ok(s) => s,
            Err(e) => return Some(e.to_string()),
        };
        match self
            .peer
            .status(&node, &conn.uid, secret.expose(), status)
            .await
        {
            Ok(()) => None,
            Err(e) => Some(format!(
                "The other side could not be told about this change: {e}"
            )),
        }
    }

    /// `POST /peer/connections/{uid}/status`, already signature-checked by the caller: changes
    /// only the ends whose secret signed it (`ends`, from [`ConnectionService::peer_ends`]).
    pub async fn peer_status(&self, ends: &[PeerEnd], status: &str) -> Result<()> {
        for end in ends.iter().filter(|e| !e.is_local) {
            let Some(conn) = connections::Entity::find_by_id(end.id)
                .one(&self.db)
                .await?
            else {
                continue;
            };
            let mut m: connections::ActiveModel = conn.into();
            match status {
                "active" => {
                    m.status = Set("active".into());
                    m.error_reason = Set(None);
                }
                "deactivated" => {
                    m.status = Set("deactivated".into());
                    m.error_reason =
                        Set(Some("The other side deactivated this connection.".into()));
                }
                _ => {
                    m.status = Set("error".into());
                    m.error_reason = Set(Some("The other side deleted this connection.".into()));
                }
            }
            m.updated_at = Set(Utc::now().fixed_offset());
            m.update(&self.db).await?;
        }
        Ok(())
    }

    /// The ends of connection `uid` that this node holds, with their decrypted secrets. A uid
    /// may be held twice (both sites on this node, one secret); anything a peer request may do
    /// is limited to the ends whose secret verifies its signature.
    pub async fn peer_ends(&self, uid: &str) -> Result<Vec<(PeerEnd, Vec<u8>)>> {
        let rows = connections::Entity::find()
            .filter(connections::Column::Uid.eq(uid))
            .filter(connections::Column::PeerSecretEnc.is_not_null())
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(enc) = &r.peer_secret_enc else {
                continue;
            };
            let secret = self.secrets.decrypt(&r.uid, enc)?.expose().to_vec();
            out.push((
                PeerEnd {
                    id: r.id,
                    tenant_id: r.tenant_id,
                    is_local: r.is_local,
                },
                secret,
            ));
        }
        Ok(out)
    }
}
