//! Delivery: the worker that claims due outbox messages, sends each over the signed peer protocol
//! and records the answer (the twin), asks again after a pause, or backs off and shows an error.

use super::glance::Glance;
use super::message::SyncAck;
use super::{store, Result, SyncError, SyncService};
use crate::connections::peer;
use crate::entities::{sync_outbox, synced_issues};
use crate::tenants::Tenant;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use std::time::Duration;

/// After this many failed attempts a twin shows in Errors (its messages keep being retried).
const MAX_VISIBLE_ATTEMPTS: i32 = 5;

impl SyncService {
    /// Sends due outbox messages until `stop` fires; wakes on new messages or every `poll`.
    pub async fn run_worker(self, poll: Duration) {
        loop {
            match self.drain_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = self.wake.notified() => {},
                        _ = tokio::time::sleep(poll) => {},
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "sync worker pass failed");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    /// One pass: for each twin with due messages, the oldest one, claimed with a lease so two
    /// replicas never send the same message at once. Returns how many were handled.
    pub async fn drain_once(&self) -> Result<usize> {
        let now = Utc::now().fixed_offset();
        let lease = now + chrono::Duration::seconds(60);
        let claimed_msgs = self.claim_due(now, lease).await?;
        let handled = claimed_msgs.len();
        // Different twins go out in parallel (each twin's messages stay in order: only its
        // oldest one was claimed above).
        use futures_util::stream::{self, StreamExt};
        let results: Vec<Result<()>> = stream::iter(claimed_msgs)
            .map(|m| async move {
                match self.deliver(&m).await {
                    Ok(ack) => self.delivered(&m, ack).await,
                    Err(SyncError::Peer(peer::PeerError::Remote { code, .. }))
                        if code == "twin_deleted" =>
                    {
                        self.twin_deleted(&m).await
                    }
                    Err(e) if e.is_pause() => self.ask_again(&m, &e).await,
                    Err(e) => self.failed(&m, &e).await,
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
        Ok(handled)
    }

    async fn deliver(&self, m: &sync_outbox::Model) -> Result<SyncAck> {
        let t = self
            .tenant(m.tenant_id)
            .await?
            .ok_or(SyncError::NoConnection)?;
        let (node, secret, site) = self.other_node(&t, &m.connection_uid).await?;
        let path = format!("/peer/connections/{}/sync", m.connection_uid);
        let ack: SyncAck = self
            .peer
            .signed_post(
                &node,
                &path,
                &m.connection_uid,
                &secret,
                m.payload.as_bytes(),
            )
            .await?;
        match ack.refusal(&site) {
            Some(why) => Err(SyncError::Invalid(why)),
            None => Ok(ack),
        }
    }

    async fn delivered(&self, m: &sync_outbox::Model, ack: SyncAck) -> Result<()> {
        let row = store::row(&self.db, m.tenant_id, &m.connection_uid, &m.issue_id).await?;
        let t = self.tenant(m.tenant_id).await?;
        if let (Some(row), Some(t)) = (&row, &t) {
            if row.twin_id.is_none() {
                // The first answer: this issue gets its link to the twin. If Jira fails that,
                // the message goes again (the other side answers from its inbox, changing
                // nothing) until the link is made; the twin is recorded only then.
                let linked = self
                    .link(
                        t,
                        &row.issue_key,
                        &ack.twin_key,
                        &ack.twin_url,
                        &m.connection_uid,
                    )
                    .await;
                if let Err(e) = linked {
                    return match e.is_pause() {
                        true => self.ask_again(m, &e).await,
                        false => self.failed(m, &e).await,
                    };
                }
            }
        }
        self.delivered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = Utc::now().fixed_offset();
        store::mark_sent(&self.db, m, now).await?;
        if let Some(row) = row {
            let mut glance = row.glance.clone();
            if let Some(t) = t {
                if let Some(label) = self
                    .put_glance(&t, &row.issue_key, glance.as_deref(), Glance::Synchronized)
                    .await
                {
                    glance = Some(label.to_owned());
                }
            }
            let mut a: synced_issues::ActiveModel = row.into();
            a.twin_id = Set(Some(ack.twin_id.clone()));
            a.twin_key = Set(Some(ack.twin_key.clone()));
            a.twin_url = Set(Some(ack.twin_url.clone()));
            a.status = Set("synchronized".into());
            a.error = Set(None);
            a.glance = Set(glance);
            a.last_sync_at = Set(Some(now));
            a.updated_at = Set(now);
            a.update(&self.db).await?;
            store::touch_connection(&self.db, m.tenant_id, &m.connection_uid, now).await?;
            store::count_twins(&self.db, m.tenant_id, &m.connection_uid).await?;
        }
        Ok(())
    }

    /// The other side's twin was deleted: this issue stops being synced (it shows Not synced,
    /// with Exalate to start again), its unsent messages are dropped, nothing is an error.
    async fn twin_deleted(&self, m: &sync_outbox::Model) -> Result<()> {
        let row = store::row(&self.db, m.tenant_id, &m.connection_uid, &m.issue_id).await?;
        tracing::info!(uid = %m.connection_uid, issue = %m.issue_id, "twin deleted on the other side: issue no longer synced");
        self.forget(
            m.tenant_id,
            &m.connection_uid,
            &m.issue_id,
            row.as_ref().and_then(|r| r.twin_id.as_deref()),
        )
        .await?;
        if let (Some(t), Some(row)) = (self.tenant(m.tenant_id).await?, row) {
            self.clear_glance(&t, &row.issue_id).await;
        }
        Ok(())
    }

    /// The other side is still applying this message (a large attachment) or Jira is rate
    /// limiting: not a failure (never shown as an error), ask again shortly.
    async fn ask_again(&self, m: &sync_outbox::Model, why: &SyncError) -> Result<()> {
        let next = Utc::now().fixed_offset() + chrono::Duration::seconds(2);
        store::reschedule(&self.db, m, m.attempts, next, &why.to_string()).await
    }

    async fn failed(&self, m: &sync_outbox::Model, e: &SyncError) -> Result<()> {
        let attempts = m.attempts + 1;
        let backoff = Duration::from_millis(
            self.retry_base_ms
                .saturating_mul(1u64 << attempts.min(16) as u64)
                .min(60_000),
        );
        let next =
            Utc::now().fixed_offset() + chrono::Duration::from_std(backoff).unwrap_or_default();
        tracing::warn!(uid = %m.connection_uid, issue = %m.issue_id, attempts, error = %e, "sync message not delivered");
        store::reschedule(&self.db, m, attempts, next, &e.to_string()).await?;
        if attempts >= MAX_VISIBLE_ATTEMPTS {
            store::set_row_error(
                &self.db,
                m.tenant_id,
                &m.connection_uid,
                &m.issue_id,
                &e.to_string(),
            )
            .await?;
            if let (Some(t), Some(row)) = (
                self.tenant(m.tenant_id).await?,
                store::row(&self.db, m.tenant_id, &m.connection_uid, &m.issue_id).await?,
            ) {
                self.set_glance(&t, &row, Glance::Error).await;
            }
        }
        Ok(())
    }

    /// The node and secret to reach the other end of a connection (this node for a local one),
    /// and the Jira site the twins are on.
    pub(super) async fn other_node(
        &self,
        t: &Tenant,
        uid: &str,
    ) -> Result<(String, Vec<u8>, String)> {
        let conn = store::end(&self.db, t.id, uid)
            .await?
            .ok_or(SyncError::NoConnection)?;
        let secret = conn
            .peer_secret_enc
            .as_deref()
            .ok_or(SyncError::NoConnection)?;
        let secret = self.secrets.decrypt(&conn.uid, secret)?.expose().to_vec();
        let node = if conn.is_local {
            self.base_url.clone()
        } else {
            let remote = conn
                .remote_exalate_url
                .clone()
                .ok_or(SyncError::NoConnection)?;
            remote
                .rsplit_once("/e/")
                .map(|(n, _)| n.to_owned())
                .unwrap_or(remote)
        };
        let site = match conn.is_local {
            true => t.base_url.clone(),
            false => conn.remote_site_url.ok_or(SyncError::NoConnection)?,
        };
        Ok((node, secret, site))
    }
}
