//! The sync's queries, in one place: synced issues, their comment and attachment links, the
//! outbox and the inbox, and the connection ends they belong to. Jira ids are per site (two sites
//! on one node share numbers), so every lookup of one tenant's rows takes that tenant's id; only
//! the node-wide scans of the poll and the sweep (which then act tenant by tenant) do not.

mod ends;
mod issues;
mod links;
mod queue;

pub use ends::*;
pub use issues::*;
pub use links::*;
pub use queue::*;

use crate::entities::{
    attachment_links, comment_links, connections, sync_inbox, sync_outbox, synced_issues,
};
use sea_orm::{ColumnTrait, Condition, EntityTrait};

type Now = chrono::DateTime<chrono::FixedOffset>;

/// A table with rows per tenant, connection and issue: the key every per-issue query starts from.
pub trait PerIssue: EntityTrait {
    const TENANT: Self::Column;
    const CONNECTION: Self::Column;
    /// This side's issue; in the inbox, the sender's.
    const ISSUE: Self::Column;
}

macro_rules! per_issue {
    ($($m:ident: $issue:ident),*) => {$(
        impl PerIssue for $m::Entity {
            const TENANT: $m::Column = $m::Column::TenantId;
            const CONNECTION: $m::Column = $m::Column::ConnectionUid;
            const ISSUE: $m::Column = $m::Column::$issue;
        }
    )*};
}
per_issue!(synced_issues: IssueId, comment_links: IssueId, attachment_links: IssueId,
           sync_outbox: IssueId, sync_inbox: SenderIssueId);

/// The rows of one issue over one connection of one tenant.
fn of_issue<E: PerIssue>(tenant_id: i64, uid: &str, issue_id: &str) -> Condition {
    of_connection::<E>(tenant_id, uid).add(E::ISSUE.eq(issue_id))
}

/// The rows of one connection of one tenant.
fn of_connection<E: PerIssue>(tenant_id: i64, uid: &str) -> Condition {
    Condition::all()
        .add(E::TENANT.eq(tenant_id))
        .add(E::CONNECTION.eq(uid))
}

/// This tenant's end of connection `uid`.
fn of_end(tenant_id: i64, uid: &str) -> Condition {
    Condition::all()
        .add(connections::Column::TenantId.eq(tenant_id))
        .add(connections::Column::Uid.eq(uid))
}
