//! Discovery: what the admin typed as the destination (this site, another site on this node, or
//! an Exalate URL of another node), checked before anything is created.

use super::peer::{self, EndInfo, PeerError};
use super::*;

impl ConnectionService {
    /// Understands what the admin typed as destination: this site (local connection), another
    /// site on this node, or an Exalate URL of any allowed node.
    pub async fn discover(&self, t: &Arc<Tenant>, raw: &str) -> Result<Discovered> {
        let url = normalise_url(raw);
        if url.is_empty() {
            return Err(ConnectionError::InvalidUrl(
                "Enter the URL of the destination Jira site or its Exalate URL.".into(),
            ));
        }
        let parsed = url::Url::parse(&url).map_err(|_| {
            ConnectionError::InvalidUrl(format!(
                "{url} is not a valid URL. Enter it like https://your-site.atlassian.net."
            ))
        })?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(ConnectionError::InvalidUrl(
                "Enter the site URL without a query or fragment.".into(),
            ));
        }
        // An Exalate URL: <node>/e/<publicId>.
        if let Some((node, public_id)) = url.rsplit_once("/e/") {
            if !public_id.is_empty() && public_id.chars().all(|c| c.is_ascii_alphanumeric()) {
                let found = self
                    .peer
                    .discover(node, &[("publicId", public_id)])
                    .await
                    .map_err(|e| match e {
                        PeerError::Remote { status: 404, .. } => {
                            ConnectionError::UnknownDestination(url.clone())
                        }
                        other => other.into(),
                    })?;
                let found = self.foreign_discovery(found)?;
                return Ok(self.classify(t, found.site_url, found.site_name));
            }
        }
        // A Jira site URL: must be an allowed Jira host (no internal addresses).
        let site = self
            .jira
            .allowlist()
            .check(&parsed)
            .map(|_| url.clone())
            .map_err(|e| ConnectionError::InvalidUrl(format!("{url} cannot be used: {e}.")))?;
        if same_site(&site, &t.base_url)
            || t.display_url
                .as_deref()
                .is_some_and(|d| same_site(&site, d))
        {
            let title = self.titles.title(&self.jira, t).await;
            return Ok(self.classify(t, t.base_url.clone(), title));
        }
        // Another site: ask our own node's discovery (the same protocol other nodes answer).
        match self.peer.discover(&self.base_url, &[("site", &site)]).await {
            Ok(found) => {
                let found = self.foreign_discovery(found)?;
                Ok(self.classify(t, found.site_url, found.site_name))
            }
            Err(PeerError::Remote { status: 404, .. }) => {
                Err(ConnectionError::UnknownDestination(site))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A discovery answer is checked like everything another node says about itself.
    fn foreign_discovery(&self, found: peer::DiscoverResponse) -> Result<peer::DiscoverResponse> {
        let end = self.foreign_end(&EndInfo {
            site_url: found.site_url,
            site_name: found.site_name,
            exalate_url: found.exalate_url,
            project_key: None,
            project_name: None,
        })?;
        Ok(peer::DiscoverResponse {
            site_url: end.site_url,
            site_name: end.site_name,
            exalate_url: end.exalate_url,
        })
    }

    fn classify(&self, t: &Tenant, site_url: String, name: String) -> Discovered {
        let kind = if same_site(&site_url, &t.base_url) {
            "local"
        } else {
            "remote"
        };
        Discovered {
            kind,
            destination_url: site_url,
            destination_name: name,
        }
    }

    /// Answers `GET /peer/discover` for tenants of this node.
    pub async fn lookup_local_site(
        &self,
        site: Option<&str>,
        public_id: Option<&str>,
    ) -> Result<Option<peer::DiscoverResponse>> {
        use crate::entities::tenants as tn;
        let mut q = tn::Entity::find().filter(tn::Column::State.eq(TenantState::Enabled.as_str()));
        q = match (site, public_id) {
            (_, Some(id)) => q.filter(tn::Column::PublicId.eq(id)),
            (Some(s), None) => q.filter(tn::Column::BaseUrl.eq(normalise_url(s))),
            _ => return Ok(None),
        };
        let Some(m) = q.one(&self.db).await? else {
            return Ok(None);
        };
        let site_name = match self.tenants.get(&m.client_key).await? {
            Some(t) => self.titles.title(&self.jira, &t).await,
            None => site_name(&m.base_url),
        };
        Ok(Some(peer::DiscoverResponse {
            site_name,
            exalate_url: format!("{}/e/{}", self.base_url, m.public_id),
            site_url: m.base_url,
        }))
    }
}
