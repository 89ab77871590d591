//! Tenants: the Jira sites that installed the app. The store keeps them in the database (secrets
//! encrypted) and in a bounded in-memory cache, so authenticating a request reads no database.

pub mod crypto;

use crate::entities::tenants;
use chrono::Utc;
use crypto::{CryptoError, Secret, SecretBox};
use moka::future::Cache;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantState {
    /// Installed and enabled: requests are served.
    Enabled,
    /// Installed but switched off by the site admin.
    Disabled,
    /// Uninstalled: data is kept for a re-install, nothing is served.
    Uninstalled,
}

impl TenantState {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantState::Enabled => "enabled",
            TenantState::Disabled => "disabled",
            TenantState::Uninstalled => "uninstalled",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "enabled" => TenantState::Enabled,
            "disabled" => TenantState::Disabled,
            _ => TenantState::Uninstalled,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: i64,
    pub client_key: String,
    /// Opaque id used in this tenant's Exalate URL (never the clientKey, which is an identifier
    /// Jira uses for authentication).
    pub public_id: String,
    pub base_url: String,
    pub display_url: Option<String>,
    pub product_type: String,
    pub shared_secret: Secret,
    pub state: TenantState,
}

/// What an install callback tells us about a site.
#[derive(Debug, Clone)]
pub struct NewInstall {
    pub client_key: String,
    pub base_url: String,
    pub display_url: Option<String>,
    pub product_type: String,
    pub shared_secret: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

#[derive(Clone)]
pub struct TenantStore {
    db: DatabaseConnection,
    secrets: SecretBox,
    cache: Cache<String, Arc<Tenant>>,
    unknown: Cache<String, ()>,
}

impl TenantStore {
    pub fn new(
        db: DatabaseConnection,
        secrets: SecretBox,
        settings: &crate::configuration::TenantSettings,
    ) -> Self {
        TenantStore {
            db,
            secrets,
            cache: Cache::builder()
                .max_capacity(settings.cache_capacity)
                .time_to_live(Duration::from_secs(settings.cache_ttl_secs))
                .build(),
            unknown: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(settings.negative_cache_ttl_secs))
                .build(),
        }
    }

    /// The tenant for `client_key`, from the cache when possible. `None` when unknown.
    pub async fn get(&self, client_key: &str) -> Result<Option<Arc<Tenant>>, TenantError> {
        if let Some(t) = self.cache.get(client_key).await {
            return Ok(Some(t));
        }
        if self.unknown.contains_key(client_key) {
            return Ok(None);
        }
        match self.load(client_key).await? {
            Some(t) => {
                let t = Arc::new(t);
                self.cache.insert(client_key.to_owned(), t.clone()).await;
                Ok(Some(t))
            }
            None => {
                self.unknown.insert(client_key.to_owned(), ()).await;
                Ok(None)
            }
        }
    }

    async fn load(&self, client_key: &str) -> Result<Option<Tenant>, TenantError> {
        let row = tenants::Entity::find()
            .filter(tenants::Column::ClientKey.eq(client_key))
            .one(&self.db)
            .await?;
        row.map(|m| self.to_domain(m)).transpose()
    }

    fn to_domain(&self, m: tenants::Model) -> Result<Tenant, TenantError> {
        let shared_secret = self.secrets.decrypt(&m.client_key, &m.shared_secret_enc)?;
        Ok(Tenant {
            id: m.id,
            state: TenantState::parse(&m.state),
            client_key: m.client_key,
            public_id: m.public_id,
            base_url: m.base_url,
            display_url: m.display_url,
            product_type: m.product_type,
            shared_secret,
        })
    }

    /// Creates the tenant, or updates it on a re-install (secret, URLs, state back to enabled).
    /// The caller has verified the signed install; this only stores.
    pub async fn upsert_install(&self, install: NewInstall) -> Result<Arc<Tenant>, TenantError> {
        let now = Utc::now().fixed_offset();
        let enc = self
            .secrets
            .encrypt(&install.client_key, install.shared_secret.expose());
        let model = tenants::ActiveModel {
            client_key: Set(install.client_key.clone()),
            public_id: Set(new_public_id()),
            base_url: Set(install.base_url.clone()),
            display_url: Set(install.display_url.clone()),
            product_type: Set(install.product_type.clone()),
            shared_secret_enc: Set(enc),
            state: Set(TenantState::Enabled.as_str().to_owned()),
            installed_at: Set(now),
            updated_at: Set(now),
            uninstalled_at: Set(None),
            ..Default::default()
        };
        // One statement, so two replicas receiving the same install cannot both insert.
        tenants::Entity::insert(model)
            .on_conflict(
                OnConflict::column(tenants::Column::ClientKey)
                    .update_columns([
                        tenants::Column::BaseUrl,
                        tenants::Column::DisplayUrl,
                        tenants::Column::ProductType,
                        tenants::Column::SharedSecretEnc,
                        tenants::Column::State,
                        tenants::Column::UpdatedAt,
                        tenants::Column::UninstalledAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        self.invalidate(&install.client_key).await;
        let t = self
            .load(&install.client_key)
            .await?
            .ok_or_else(|| sea_orm::DbErr::RecordNotFound(install.client_key.clone()))?;
        Ok(Arc::new(t))
    }

    /// Sets the state of a known tenant; returns false when the clientKey is unknown.
    pub async fn set_state(
        &self,
        client_key: &str,
        state: TenantState,
    ) -> Result<bool, TenantError> {
        let now = Utc::now().fixed_offset();
        let res = tenants::Entity::update_many()
            .col_expr(
                tenants::Column::State,
                sea_orm::sea_query::Expr::value(state.as_str()),
            )
            .col_expr(
                tenants::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .col_expr(
                tenants::Column::UninstalledAt,
                sea_orm::sea_query::Expr::value(if state == TenantState::Uninstalled {
                    Some(now)
                } else {
                    None
                }),
            )
            .filter(tenants::Column::ClientKey.eq(client_key))
            .exec(&self.db)
            .await?;
        self.invalidate(client_key).await;
        Ok(res.rows_affected > 0)
    }

    pub async fn invalidate(&self, client_key: &str) {
        self.cache.invalidate(client_key).await;
        self.unknown.invalidate(client_key).await;
    }

    /// Loads every installed tenant into the cache (at start-up, so the first requests after a
    /// deploy do not all go to the database).
    pub async fn warm(&self) -> Result<usize, TenantError> {
        let rows = tenants::Entity::find()
            .filter(tenants::Column::State.ne(TenantState::Uninstalled.as_str()))
            .all(&self.db)
            .await?;
        let mut n = 0;
        for m in rows {
            if n as u64 >= self.cache.policy().max_capacity().unwrap_or(u64::MAX) {
                break;
            }
            let key = m.client_key.clone();
            match self.to_domain(m) {
                Ok(t) => {
                    self.cache.insert(key, Arc::new(t)).await;
                    n += 1;
                }
                Err(e) => tracing::error!(client_key = %key, error = %e, "tenant not loaded"),
            }
        }
        Ok(n)
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }
}

fn new_public_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
