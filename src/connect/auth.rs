//! Authentication of requests that Jira (or our own frontend, inside Jira's iframe) sends us:
//! HS256 with the tenant's shared secret, tenant from `iss`, `exp` required, qsh bound to the
//! exact request. One function, used by every extractor and lifecycle hook.

use crate::tenants::{Tenant, TenantError, TenantState, TenantStore};
use connect_jwt::{Claims, JwtError, QshRule, Validation};
use std::sync::Arc;

/// Which qsh a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QshMode {
    /// Jira-signed requests (pages, webhooks, lifecycle): qsh of this exact request.
    Exact,
    /// Endpoints our frontend calls with `AP.context.getToken()` or our session token.
    AllowContext,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no JWT was sent: use the Authorization: JWT header or the jwt query parameter")]
    Missing,
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error("the token's issuer is not an installed site")]
    UnknownTenant,
    #[error("the app is uninstalled on this site")]
    Uninstalled,
    #[error("the app is disabled on this site")]
    Disabled,
    #[error(transparent)]
    Store(#[from] TenantError),
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "jwt_missing",
            AuthError::Jwt(e) => e.code(),
            AuthError::UnknownTenant => "tenant_unknown",
            AuthError::Uninstalled => "tenant_uninstalled",
            AuthError::Disabled => "tenant_disabled",
            AuthError::Store(_) => "internal",
        }
    }
}

/// An authenticated request: the tenant and the verified claims (`sub` is the Jira user's
/// accountId when a user is behind the request).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub tenant: Arc<Tenant>,
    pub claims: Claims,
}

/// The parts of a request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub authorization: Option<&'a str>,
}

pub struct Verifier<'a> {
    pub tenants: &'a TenantStore,
    /// Path of our base URL, which the canonical request is relative to.
    pub base_path: &'a str,
    pub leeway_secs: i64,
    pub now: i64,
}

impl Verifier<'_> {
    /// Verifies an HS256 request token. `allow_disabled` is for the `enabled` hook, which a
    /// disabled tenant sends.
    pub async fn verify(
        &self,
        req: RequestParts<'_>,
        mode: QshMode,
        allow_disabled: bool,
    ) -> Result<Authenticated, AuthError> {
        let raw = connect_jwt::token_from_request(req.authorization, req.query)
            .ok_or(AuthError::Missing)?;
        let token = connect_jwt::decode_unverified(&raw)?;
        if token.header.alg != "HS256" {
            return Err(JwtError::UnsupportedAlgorithm(token.header.alg.clone()).into());
        }
        let tenant = self
            .tenants
            .get(&token.claims.iss)
            .await?
            .ok_or(AuthError::UnknownTenant)?;
        token.verify_hs256(tenant.shared_secret.expose())?;
        let qsh = connect_jwt::query_string_hash(&connect_jwt::canonical_request(
            req.method,
            req.path,
            req.query,
            self.base_path,
        ));
        token.validate(&Validation {
            now: self.now,
            leeway: self.leeway_secs,
            qsh: Some(match mode {
                QshMode::Exact => QshRule::Exact(&qsh),
                QshMode::AllowContext => QshRule::ExactOrContext(&qsh),
            }),
            audience: None,
        })?;
        // State is checked after the signature so an attacker learns nothing about a site.
        match tenant.state {
            TenantState::Enabled => {}
            TenantState::Disabled if allow_disabled => {}
            TenantState::Disabled => return Err(AuthError::Disabled),
            TenantState::Uninstalled => return Err(AuthError::Uninstalled),
        }
        Ok(Authenticated {
            tenant,
            claims: token.claims,
        })
    }
}
