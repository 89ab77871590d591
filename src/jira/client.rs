//! Calls from the app to one Jira site, as the app: every request JWT-signed for its exact URL,
//! bounded by timeouts, retried with jittered backoff on network errors and 5xx (idempotent
//! methods only), paced by a per-site budget, and paused for the whole site when Jira answers 429
//! with `Retry-After` — a rate limit is a reason to wait, never a failure.

use super::allowlist::{HostAllowlist, UrlError};
use super::types::{
    BulkPermissionGrants, BulkPermissionsRequest, ErrorCollection, ServerInformation, User,
};
use crate::configuration::JiraSettings;
use crate::tenants::Tenant;
use moka::sync::Cache;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    #[error("the Jira URL is not allowed: {0}")]
    NotAllowed(#[from] UrlError),
    #[error("Jira could not be reached: {0}")]
    Network(String),
    #[error("Jira is rate limiting this site; retry after {0:?}")]
    RateLimited(Duration),
    #[error("Jira refused the app's credentials (401): is the app still installed?")]
    Unauthorized,
    #[error("Jira denied the request (403): {0}")]
    Forbidden(String),
    #[error("not found in Jira (404): {0}")]
    NotFound(String),
    #[error("Jira rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("Jira answered {status} (tried {attempts} time(s)); it may be down or overloaded, the sync retries by itself")]
    ServerError { status: u16, attempts: u32 },
    #[error("Jira answered something unexpected: {0}")]
    Decode(String),
    #[error("could not sign the request: {0}")]
    Signing(String),
}

impl JiraError {
    /// Whether trying again later can succeed (the sync queue keeps such work).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            JiraError::Network(_) | JiraError::RateLimited(_) | JiraError::ServerError { .. }
        )
    }
}

/// Pacing for one site: a concurrency cap, a request-rate cap (GCRA with a one-second burst), and
/// a pause shared by every request to the site after a 429.
struct Budget {
    concurrency: Semaphore,
    interval: Duration,
    burst: Duration,
    state: Mutex<BudgetState>,
}

struct BudgetState {
    tat: Instant,
    paused_until: Option<Instant>,
}

impl Budget {
    fn new(settings: &JiraSettings) -> Self {
        let rps = settings.requests_per_second.max(1);
        let interval = Duration::from_secs(1) / rps;
        Budget {
            concurrency: Semaphore::new(settings.max_concurrent_requests),
            interval,
            burst: interval * (rps - 1),
            state: Mutex::new(BudgetState {
                tat: Instant::now(),
                paused_until: None,
            }),
        }
    }

    async fn acquire(&self) -> SemaphorePermit<'_> {
        let permit = self
            .concurrency
            .acquire()
            .await
            .expect("the budget semaphore is never closed");
        let wait = {
            let mut s = self.state.lock().expect("budget lock");
            let now = Instant::now();
            let pause = s.paused_until.filter(|p| *p > now);
            let start = pause.unwrap_or(now);
            let tat = s.tat.max(start);
            let allowed_at = tat.checked_sub(self.burst).unwrap_or(start).max(start);
            s.tat = tat + self.interval;
            allowed_at.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        permit
    }

    fn pause(&self, d: Duration) {
        let mut s = self.state.lock().expect("budget lock");
        let until = Instant::now() + d;
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
        }
    }
}

/// Shared by all tenants: one connection pool, the allowlist, and a budget per site.
#[derive(Clone)]
pub struct JiraClients {
    http: reqwest::Client,
    settings: Arc<JiraSettings>,
    app_key: Arc<str>,
    allowlist: HostAllowlist,
    budgets: Cache<String, Arc<Budget>>,
}

impl JiraClients {
    pub fn new(settings: &JiraSettings, app_key: &str, allowlist: HostAllowlist) -> Self {
        let redirect_list = allowlist.clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            // Attachments get a longer total timeout (TRANSFER_TIMEOUT); a stalled one still
            // fails after this long without a byte.
            .read_timeout(Duration::from_millis(settings.request_timeout_ms))
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .user_agent(concat!("exalate-jira-cloud/", env!("CARGO_PKG_VERSION")))
            // A redirect is followed only to another allowed host, so Jira (or anything posing
            // as it) cannot point us at an internal address.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 || redirect_list.check(attempt.url()).is_err() {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .expect("static reqwest configuration");
        JiraClients {
            http,
            settings: Arc::new(settings.clone()),
            app_key: app_key.into(),
            allowlist,
            budgets: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        }
    }

    pub fn allowlist(&self) -> &HostAllowlist {
        &self.allowlist
    }

    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// A client acting as the app on `tenant`'s site.
    pub fn for_tenant(&self, tenant: Arc<Tenant>) -> Result<JiraClient, JiraError> {
        let base = self.allowlist.check_str(&tenant.base_url)?;
        let budget = self.budgets.get_with(tenant.client_key.clone(), || {
            Arc::new(Budget::new(&self.settings))
        });
        Ok(JiraClient {
            shared: self.clone(),
            base_url: base.as_str().trim_end_matches('/').to_owned(),
            tenant,
            budget,
        })
    }
}

pub struct JiraClient {
    shared: JiraClients,
    tenant: Arc<Tenant>,
    base_url: String,
    budget: Arc<Budget>,
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

impl JiraClient {
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let s = &self.shared.settings;
        let cap = s
            .retry_base_delay_ms
            .saturating_mul(1u64 << attempt.min(16))
            .min(s.retry_max_delay_ms);
        Duration::from_millis(rand::thread_rng().gen_range(cap / 2..=cap.max(1)))
    }

    fn sign(&self, method: &Method, url: &str) -> Result<String, JiraError> {
        let now = chrono::Utc::now().timestamp();
        let claims = connect_jwt::request_claims(
            &self.shared.app_key,
            method.as_str(),
            url,
            &self.base_url,
            now,
            self.shared.settings.token_ttl_secs,
        );
        connect_jwt::mint_hs256(&claims, self.tenant.shared_secret.expose())
            .map_err(|e| JiraError::Signing(e.to_string()))
    }

    /// Sends one request (retrying as described at the top of this module) and returns the
    /// successful response, or a typed error for anything that is not 2xx/3xx.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(bytes_body::Body, &'static str)>,
    ) -> Result<reqwest::Response, JiraError> {
        self.send_with_timeout(method, path_and_query, body, None)
            .await
    }

    /// Deletes a resource; one that is already gone counts as deleted (a retried delete, or a
    /// person who deleted it first, must not turn into an error).
    pub async fn delete(&self, path_and_query: &str) -> Result<(), JiraError> {
        match self.send(Method::DELETE, path_and_query, None).await {
            Ok(_) | Err(JiraError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn send_with_timeout(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(bytes_body::Body, &'static str)>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, JiraError> {
        let url = format!("{}{}", self.base_url, path_and_query);
        let settings = &self.shared.settings;
        let mut attempt: u32 = 0;
        let mut rate_limited: u32 = 0;
        loop {
            let permit = self.budget.acquire().await;
            let token = self.sign(&method, &url)?;
            let mut rb = self
                .shared
                .http
                .request(method.clone(), &url)
                .header("Authorization", format!("JWT {token}"))
                .header("Accept", "application/json");
            if let Some(t) = timeout {
                rb = rb.timeout(t);
            }
            if let Some((b, content_type)) = &body {
                rb = rb.header("Content-Type", *content_type).body(b.clone());
            }
            let result = rb.send().await;
            drop(permit);
            attempt += 1;
            match result {
                Ok(resp) if resp.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let wait = resp
                        .headers()
                        .get("Retry-After")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after)
                        .unwrap_or_else(|| self.backoff(rate_limited));
                    rate_limited += 1;
                    if wait > Duration::from_secs(settings.max_retry_after_secs)
                        || rate_limited > settings.max_retries * 4
                    {
                        return Err(JiraError::RateLimited(wait));
                    }
                    tracing::info!(site = %self.base_url, ?wait, "Jira rate limit: pausing this site");
                    self.budget.pause(wait);
                    // A 429 means the request was not processed; it does not use up a retry.
                    attempt -= 1;
                }
                Ok(resp) if resp.status().is_server_error() => {
                    let status = resp.status().as_u16();
                    if !is_idempotent(&method) || attempt > settings.max_retries {
                        return Err(JiraError::ServerError {
                            status,
                            attempts: attempt,
                        });
                    }
                    tracing::warn!(site = %self.base_url, status, attempt, "Jira server error, retrying");
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                Ok(resp) if resp.status().is_success() || resp.status().is_redirection() => {
                    return Ok(resp)
                }
                Ok(resp) => return Err(client_error(resp).await),
                Err(e) => {
                    // A connection that was never made is safe to retry for any method.
                    let retryable = e.is_connect() || (is_idempotent(&method) && e.is_timeout());
                    let err = JiraError::Network(e.without_url().to_string());
                    if !retryable || attempt > settings.max_retries {
                        return Err(err);
                    }
                    tracing::warn!(site = %self.base_url, attempt, error = %err, "Jira unreachable, retrying");
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
            }
        }
    }

    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, JiraError> {
        let resp = self.send(Method::GET, path_and_query, None).await?;
        decode(resp).await
    }

    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, JiraError> {
        let bytes = serde_json::to_vec(body).map_err(|e| JiraError::Decode(e.to_string()))?;
        let resp = self
            .send(Method::POST, path, Some((bytes.into(), "application/json")))
            .await?;
        decode(resp).await
    }

    /// `GET /rest/api/3/serverInfo`.
    pub async fn server_info(&self) -> Result<ServerInformation, JiraError> {
        self.get_json("/rest/api/3/serverInfo").await
    }

    /// `GET /rest/api/3/myself`: the app's own user on this site.
    pub async fn myself(&self) -> Result<User, JiraError> {
        self.get_json("/rest/api/3/myself").await
    }

    /// `POST /rest/api/3/permissions/check` for global permissions of one user.
    pub async fn global_permissions(
        &self,
        account_id: &str,
        permissions: &[&str],
    ) -> Result<BulkPermissionGrants, JiraError> {
        let req = BulkPermissionsRequest {
            account_id: account_id.to_owned(),
            global_permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            project_permissions: Vec::new(),
        };
        self.post_json("/rest/api/3/permissions/check", &req).await
    }

    /// The content of an attachment as a stream (`redirect=false`: no hop through the media host).
    pub async fn download_attachment(&self, id: &str) -> Result<reqwest::Response, JiraError> {
        self.send_with_timeout(
            Method::GET,
            &format!("/rest/api/3/attachment/content/{id}?redirect=false"),
            None,
            Some(TRANSFER_TIMEOUT),
        )
        .await
    }

    /// Uploads one file as multipart field `file`, streaming `body` (it cannot be replayed, so a
    /// failure is returned to the caller, whose message is retried as a whole).
    pub async fn upload_attachment(
        &self,
        issue_id: &str,
        filename: &str,
        mime: &str,
        len: u64,
        body: reqwest::Body,
    ) -> Result<serde_json::Value, JiraError> {
        let url = format!("{}/rest/api/3/issue/{issue_id}/attachments", self.base_url);
        let part =
            reqwest::multipart::Part::stream_with_length(body, len).file_name(filename.to_owned());
        let part = part
            .mime_str(mime)
            .map_err(|e| JiraError::Decode(e.to_string()))?;
        let form = reqwest::multipart::Form::new().part("file", part);
        let permit = self.budget.acquire().await;
        let token = self.sign(&Method::POST, &url)?;
        let resp = self
            .shared
            .http
            .post(&url)
            .timeout(TRANSFER_TIMEOUT)
            .header("Authorization", format!("JWT {token}"))
            .header("X-Atlassian-Token", "no-check")
            .multipart(form)
            .send()
            .await
            .map_err(|e| JiraError::Network(e.without_url().to_string()))?;
        drop(permit);
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait = resp
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after)
                .unwrap_or(Duration::from_secs(1));
            self.budget.pause(wait);
            return Err(JiraError::RateLimited(wait));
        }
        if resp.status().is_server_error() {
            return Err(JiraError::ServerError {
                status: resp.status().as_u16(),
                attempts: 1,
            });
        }
        if !resp.status().is_success() {
            return Err(client_error(resp).await);
        }
        decode(resp).await
    }

    /// Whether `account_id` is a Jira administrator of this site (ADMINISTER).
    /// Which of `permissions` the user holds on the issue `issue_id` (asked of Jira by the app:
    /// `permissions/check` with the user's accountId), in one call.
    pub async fn issue_permissions(
        &self,
        account_id: &str,
        issue_id: i64,
        permissions: &[&str],
    ) -> Result<Vec<String>, JiraError> {
        let req = BulkPermissionsRequest {
            account_id: account_id.to_owned(),
            global_permissions: Vec::new(),
            project_permissions: vec![crate::jira::types::BulkProjectPermissions {
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                projects: Vec::new(),
                issues: vec![issue_id],
            }],
        };
        let grants: BulkPermissionGrants = self
            .post_json("/rest/api/3/permissions/check", &req)
            .await?;
        Ok(grants
            .project_permissions
            .into_iter()
            .filter(|g| g.issues.contains(&issue_id))
            .map(|g| g.permission)
            .collect())
    }

    pub async fn is_admin(&self, account_id: &str) -> Result<bool, JiraError> {
        let grants = self.global_permissions(account_id, &["ADMINISTER"]).await?;
        Ok(grants.global_permissions.iter().any(|p| p == "ADMINISTER"))
    }
}

/// Total time allowed for one attachment download or upload (a gigabyte over a slow link);
/// the client's read timeout still catches a stalled one.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Request bodies are cheap to clone for retries.
pub mod bytes_body {
    pub type Body = bytes::Bytes;
}

async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, JiraError> {
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| JiraError::Network(e.without_url().to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| JiraError::Decode(e.to_string()))
}

async fn client_error(resp: reqwest::Response) -> JiraError {
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    let message = serde_json::from_slice::<ErrorCollection>(&body)
        .map(|e| e.summary())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        401 => JiraError::Unauthorized,
        403 => JiraError::Forbidden(message),
        404 => JiraError::NotFound(message),
        _ => JiraError::Rejected { status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
