//! The per-issue lock that serialises an apply to an issue, the recording of its changes (webhook,
//! poll, Exalate button) and its deletion, held as a row in `issue_leases` so it holds on every
//! replica. A holder renews its lease while it works; a dead holder's lease simply expires.

use crate::entities::issue_leases;
use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct IssueLeases {
    db: DatabaseConnection,
    /// This process, so a holder is never confused with another replica's.
    node: Arc<str>,
    next: Arc<AtomicU64>,
    ttl: Duration,
    max_wait: Duration,
    /// Fired when this process releases a lease: its own waiters try again at once instead of
    /// at their next poll (a hint only; the row decides who holds an issue).
    released: Arc<Notify>,
}

/// A held lease; dropping it releases the issue (at once, in the background).
pub struct Lease {
    db: DatabaseConnection,
    tenant_id: i64,
    issue_id: String,
    holder: String,
    renew: tokio::task::JoinHandle<()>,
    released: Arc<Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("issue {0} stayed locked by another sync for {1:?}; it is tried again later")]
    Busy(String, Duration),
}

impl IssueLeases {
    pub fn new(db: DatabaseConnection, ttl: Duration, max_wait: Duration) -> Self {
        IssueLeases {
            db,
            node: uuid::Uuid::new_v4().simple().to_string().into(),
            next: Arc::new(AtomicU64::new(0)),
            ttl,
            max_wait,
            released: Arc::new(Notify::new()),
        }
    }

    /// Waits until this process holds the lease on (site, issue).
    pub async fn acquire(&self, tenant_id: i64, issue_id: &str) -> Result<Lease, LeaseError> {
        let holder = format!(
            "{}-{}",
            self.node,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            // Registered before the attempt, so a release between the attempt and the wait is
            // not missed.
            let released = self.released.notified();
            if self.try_take(tenant_id, issue_id, &holder).await? {
                break;
            }
            if started.elapsed() > self.max_wait {
                return Err(LeaseError::Busy(issue_id.to_owned(), self.max_wait));
            }
            // Another replica's release is seen at the next poll.
            tokio::select! {
                _ = released => {}
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        let renew = {
            let (db, ttl, issue, holder) = (
                self.db.clone(),
                self.ttl,
                issue_id.to_owned(),
                holder.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    let until = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
                    let _ = issue_leases::Entity::update_many()
                        .col_expr(
                            issue_leases::Column::ExpiresAt,
                            Expr::value(until.fixed_offset()),
                        )
                        .filter(issue_leases::Column::TenantId.eq(tenant_id))
                        .filter(issue_leases::Column::IssueId.eq(issue.clone()))
                        .filter(issue_leases::Column::Holder.eq(holder.clone()))
                        .exec(&db)
                        .await;
                }
            })
        };
        Ok(Lease {
            db: self.db.clone(),
            tenant_id,
            issue_id: issue_id.to_owned(),
            holder,
            renew,
            released: self.released.clone(),
        })
    }

    /// Whether anyone (on any replica) holds the lease on (site, issue) right now.
    pub async fn is_held(&self, tenant_id: i64, issue_id: &str) -> Result<bool, LeaseError> {
        let held = issue_leases::Entity::find()
            .filter(issue_leases::Column::TenantId.eq(tenant_id))
            .filter(issue_leases::Column::IssueId.eq(issue_id))
            .filter(issue_leases::Column::ExpiresAt.gt(Utc::now().fixed_offset()))
            .one(&self.db)
            .await?;
        Ok(held.is_some())
    }

    /// One attempt: insert the lease, or take it over if the one there has expired.
    async fn try_take(&self, tenant_id: i64, issue_id: &str, holder: &str) -> Result<bool, DbErr> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        let row = issue_leases::ActiveModel {
            tenant_id: Set(tenant_id),
            issue_id: Set(issue_id.to_owned()),
            holder: Set(holder.to_owned()),
            expires_at: Set(until.fixed_offset()),
        };
        let mut on_conflict = OnConflict::columns([
            issue_leases::Column::TenantId,
            issue_leases::Column::IssueId,
        ]);
        on_conflict
            .update_columns([
                issue_leases::Column::Holder,
                issue_leases::Column::ExpiresAt,
            ])
            .action_and_where(
                Expr::col((issue_leases::Entity, issue_leases::Column::ExpiresAt))
                    .lt(now.fixed_offset()),
            );
        let n = issue_leases::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await?;
        Ok(n == 1)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renew.abort();
        let (db, tenant_id, issue, holder, released) = (
            self.db.clone(),
            self.tenant_id,
            std::mem::take(&mut self.issue_id),
            std::mem::take(&mut self.holder),
            self.released.clone(),
        );
        // Only our own lease: one that expired and was taken over is the new holder's.
        let release = async move {
            let _ = issue_leases::Entity::delete_many()
                .filter(issue_leases::Column::TenantId.eq(tenant_id))
                .filter(issue_leases::Column::IssueId.eq(issue))
                .filter(issue_leases::Column::Holder.eq(holder))
                .exec(&db)
                .await;
            released.notify_waiters();
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(release);
        }
    }
}
