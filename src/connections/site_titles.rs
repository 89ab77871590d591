//! What a person calls a site: its title in Jira (`serverInfo.serverTitle`, set under General
//! configuration), or the first label of its host when the title is Jira's default. Connection
//! names (`alpha_to_beta`) and remote links ("TEST-3 on alpha") use it.

use super::site_name;
use crate::jira::JiraClients;
use crate::tenants::Tenant;
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

/// Titles are asked of Jira once an hour per site at most; an admin's rename shows within that.
#[derive(Clone)]
pub struct SiteTitles {
    cache: Cache<i64, String>,
}

impl Default for SiteTitles {
    fn default() -> Self {
        SiteTitles {
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl SiteTitles {
    /// The site's title; when Jira can't be asked now, the host label (not cached, so the next
    /// call asks again).
    pub async fn title(&self, jira: &JiraClients, t: &Arc<Tenant>) -> String {
        if let Some(v) = self.cache.get(&t.id).await {
            return v;
        }
        let asked = match jira.for_tenant(t.clone()) {
            Ok(client) => client.server_info().await.ok(),
            Err(_) => None,
        };
        let Some(info) = asked else {
            return site_name(&t.base_url);
        };
        let title = info
            .server_title
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && s != "Jira")
            .map(|s| s.chars().take(64).collect())
            .unwrap_or_else(|| site_name(&t.base_url));
        self.cache.insert(t.id, title.clone()).await;
        title
    }
}
