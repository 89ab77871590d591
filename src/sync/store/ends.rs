//! Queries on the connection ends a sync message travels over, and their counters.

use super::Now;
use super::{of_connection, of_end};
use crate::entities::{connections, synced_issues};
use crate::sync::{Result, SyncError};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// This tenant's end of connection `uid`, whatever its status.
pub async fn end(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
) -> Result<Option<connections::Model>> {
    Ok(connections::Entity::find()
        .filter(of_end(tenant_id, uid))
        .one(db)
        .await?)
}

/// This tenant's end of connection `uid`, if it is active.
pub async fn active_end(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
) -> Result<connections::Model> {
    connections::Entity::find()
        .filter(of_end(tenant_id, uid))
        .filter(connections::Column::Status.eq("active"))
        .one(db)
        .await?
        .ok_or(SyncError::NoConnection)
}

/// The active ends among those whose secret verified a peer request (ids from `peer_ends`).
pub async fn active_ends_by_id(
    db: &impl ConnectionTrait,
    uid: &str,
    ids: impl IntoIterator<Item = i64>,
) -> Result<Vec<connections::Model>> {
    Ok(connections::Entity::find()
        .filter(connections::Column::Uid.eq(uid))
        .filter(connections::Column::Id.is_in(ids))
        .filter(connections::Column::Status.eq("active"))
        .all(db)
        .await?)
}

/// (uid, name) of every connection of a tenant.
pub async fn connection_names(
    db: &impl ConnectionTrait,
    tenant_id: i64,
) -> Result<Vec<(String, String)>> {
    Ok(connections::Entity::find()
        .filter(connections::Column::TenantId.eq(tenant_id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.uid, c.name))
        .collect())
}

pub async fn touch_connection(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    uid: &str,
    now: Now,
) -> Result<()> {
    connections::Entity::update_many()
        .col_expr(connections::Column::LastActivityAt, Expr::value(now))
        .filter(of_end(tenant_id, uid))
        .exec(db)
        .await?;
    Ok(())
}

/// Records on the connection how many of its issues have a twin.
pub async fn count_twins(db: &impl ConnectionTrait, tenant_id: i64, uid: &str) -> Result<()> {
    let n = synced_issues::Entity::find()
        .filter(of_connection::<synced_issues::Entity>(tenant_id, uid))
        .filter(synced_issues::Column::TwinId.is_not_null())
        .count(db)
        .await?;
    connections::Entity::update_many()
        .col_expr(connections::Column::IssuesInSync, Expr::value(n as i64))
        .filter(of_end(tenant_id, uid))
        .exec(db)
        .await?;
    Ok(())
}
