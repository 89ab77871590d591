//! Connect lifecycle: `installed` and `uninstalled` are signed by Atlassian (RS256, key by `kid`,
//! `aud` = our baseUrl); `enabled` and `disabled` by the site with its shared secret (HS256).
//! Nothing here calls Jira back: hooks must answer fast, follow-up work is queued elsewhere.

use super::auth::{AuthError, QshMode, RequestParts, Verifier};
use super::install_keys::{InstallKeyError, InstallKeys};
use crate::jira::allowlist::HostAllowlist;
use crate::tenants::crypto::Secret;
use crate::tenants::{NewInstall, Tenant, TenantError, TenantState, TenantStore};
use connect_jwt::{JwtError, QshRule, Validation};
use serde::Deserialize;
use std::sync::Arc;

/// The body Jira posts to every lifecycle URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecyclePayload {
    pub key: String,
    pub client_key: String,
    #[serde(default)]
    pub shared_secret: Option<String>,
    pub base_url: String,
    #[serde(default)]
    pub display_url: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    pub event_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("signed install is required: the token must be RS256 with a key id")]
    NotSignedInstall,
    #[error("the install signing key could not be used: {0}")]
    Key(#[from] InstallKeyError),
    #[error("the token issuer does not match the clientKey of the body")]
    IssuerMismatch,
    #[error("the payload is invalid: {0}")]
    InvalidPayload(String),
    #[error("the site URL is not allowed: {0}")]
    SiteNotAllowed(String),
    #[error(transparent)]
    Store(#[from] TenantError),
}

pub struct LifecycleContext<'a> {
    pub tenants: &'a TenantStore,
    pub install_keys: &'a InstallKeys,
    pub allowlist: &'a HostAllowlist,
    pub app_key: &'a str,
    pub base_url: &'a str,
    pub base_path: &'a str,
    pub leeway_secs: i64,
    pub now: i64,
}

impl LifecycleContext<'_> {
    fn verifier(&self) -> Verifier<'_> {
        Verifier {
            tenants: self.tenants,
            base_path: self.base_path,
            leeway_secs: self.leeway_secs,
            now: self.now,
        }
    }

    /// Verifies an Atlassian-signed (RS256) lifecycle token for this request and body.
    async fn verify_signed(
        &self,
        req: RequestParts<'_>,
        payload: &LifecyclePayload,
    ) -> Result<(), LifecycleError> {
        let raw = connect_jwt::token_from_request(req.authorization, req.query)
            .ok_or(AuthError::Missing)?;
        let token = connect_jwt::decode_unverified(&raw).map_err(AuthError::from)?;
        if token.header.alg != "RS256" {
            return Err(LifecycleError::NotSignedInstall);
        }
        let kid = token
            .header
            .kid
            .as_deref()
            .ok_or(LifecycleError::NotSignedInstall)?;
        let key = self.install_keys.get(kid).await?;
        token.verify_rs256(&key).map_err(AuthError::from)?;
        let qsh = connect_jwt::query_string_hash(&connect_jwt::canonical_request(
            req.method,
            req.path,
            req.query,
            self.base_path,
        ));
        // Jira puts the descriptor's baseUrl in aud; compare without a trailing slash.
        let aud_ok = match &token.claims.aud {
            Some(connect_jwt::Audience::One(a)) => a.trim_end_matches('/') == self.base_url,
            Some(connect_jwt::Audience::Many(list)) => list
                .iter()
                .any(|a| a.trim_end_matches('/') == self.base_url),
            None => false,
        };
        if !aud_ok {
            return Err(AuthError::from(JwtError::WrongAudience).into());
        }
        token
            .validate(&Validation {
                now: self.now,
                leeway: self.leeway_secs,
                qsh: Some(QshRule::Exact(&qsh)),
                audience: None,
            })
            .map_err(AuthError::from)?;
        if token.claims.iss != payload.client_key {
            return Err(LifecycleError::IssuerMismatch);
        }
        Ok(())
    }

    fn check_payload(
        &self,
        p: &LifecyclePayload,
        expected_event: &str,
    ) -> Result<(), LifecycleError> {
        let bad = |m: &str| Err(LifecycleError::InvalidPayload(m.to_owned()));
        if p.key != self.app_key {
            return bad("key is not this app's key");
        }
        if p.client_key.is_empty() || p.client_key.len() > 255 {
            return bad("clientKey must be 1 to 255 characters");
        }
        if p.event_type != expected_event {
            return bad("eventType does not match the lifecycle URL");
        }
        if let Some(pt) = &p.product_type {
            if pt != "jira" {
                return bad("productType must be jira");
            }
        }
        Ok(())
    }

    /// `installed`: verify the signed install, then create or update the tenant.
    pub async fn installed(
        &self,
        req: RequestParts<'_>,
        payload: LifecyclePayload,
    ) -> Result<Arc<Tenant>, LifecycleError> {
        self.check_payload(&payload, "installed")?;
        let secret = match payload.shared_secret.as_deref() {
            Some(s) if (16..=512).contains(&s.len()) => s.to_owned(),
            _ => {
                return Err(LifecycleError::InvalidPayload(
                    "sharedSecret must be 16 to 512 characters".into(),
                ))
            }
        };
        let base_url = self.check_site_url(&payload.base_url)?;
        let display_url = match payload.display_url.as_deref() {
            Some(u) if !u.is_empty() => Some(self.check_site_url(u)?),
            _ => None,
        };
        self.verify_signed(req, &payload).await?;
        let tenant = self
            .tenants
            .upsert_install(NewInstall {
                client_key: payload.client_key,
                base_url,
                display_url,
                product_type: payload.product_type.unwrap_or_else(|| "jira".into()),
                shared_secret: Secret::new(secret),
            })
            .await?;
        tracing::info!(client_key = %tenant.client_key, base_url = %tenant.base_url, "installed");
        Ok(tenant)
    }

    /// `uninstalled`: verify the signed call and mark the tenant; its data stays for a re-install.
    pub async fn uninstalled(
        &self,
        req: RequestParts<'_>,
        payload: LifecyclePayload,
    ) -> Result<(), LifecycleError> {
        self.check_payload(&payload, "uninstalled")?;
        self.verify_signed(req, &payload).await?;
        let known = self
            .tenants
            .set_state(&payload.client_key, TenantState::Uninstalled)
            .await?;
        tracing::info!(client_key = %payload.client_key, known, "uninstalled");
        Ok(())
    }

    /// `enabled` / `disabled`: HS256 with the tenant's shared secret.
    pub async fn toggled(
        &self,
        req: RequestParts<'_>,
        payload: LifecyclePayload,
        enabled: bool,
    ) -> Result<(), LifecycleError> {
        let event = if enabled { "enabled" } else { "disabled" };
        self.check_payload(&payload, event)?;
        let auth = self.verifier().verify(req, QshMode::Exact, true).await?;
        if auth.tenant.client_key != payload.client_key {
            return Err(LifecycleError::IssuerMismatch);
        }
        let state = if enabled {
            TenantState::Enabled
        } else {
            TenantState::Disabled
        };
        self.tenants.set_state(&payload.client_key, state).await?;
        tracing::info!(client_key = %payload.client_key, event, "lifecycle");
        Ok(())
    }

    fn check_site_url(&self, raw: &str) -> Result<String, LifecycleError> {
        self.allowlist
            .check_str(raw)
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .map_err(|e| LifecycleError::SiteNotAllowed(e.to_string()))
    }
}
