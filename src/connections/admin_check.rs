//! "Is this user a Jira administrator of this site?" — asked of Jira itself
//! (`POST /rest/api/3/permissions/check`, ADMINISTER) before any admin action. The descriptor's
//! `user_is_admin` condition only hides UI. Answers are cached briefly per (site, user).

use crate::jira::{JiraClients, JiraError};
use crate::tenants::Tenant;
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AdminChecks {
    cache: Cache<(i64, String), bool>,
}

impl AdminChecks {
    pub fn new(ttl_secs: u64) -> Self {
        AdminChecks {
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(ttl_secs))
                .build(),
        }
    }

    pub async fn is_admin(
        &self,
        jira: &JiraClients,
        tenant: &Arc<Tenant>,
        account_id: &str,
    ) -> Result<bool, JiraError> {
        let key = (tenant.id, account_id.to_owned());
        if let Some(v) = self.cache.get(&key).await {
            return Ok(v);
        }
        let client = jira.for_tenant(tenant.clone())?;
        let v = client.is_admin(account_id).await?;
        self.cache.insert(key, v).await;
        Ok(v)
    }
}
