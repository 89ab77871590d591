//! Public keys for signed installs, fetched by `kid` from Atlassian's key service (configurable so
//! tests and the emulator serve their own). Cached and bounded; an unknown `kid` is fetched again
//! (keys rotate), but a `kid` the service does not know is remembered briefly so forged installs
//! cannot turn us into a request amplifier.

use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum InstallKeyError {
    #[error("the key id is not acceptable")]
    BadKid,
    #[error("the key service does not know this key id")]
    UnknownKid,
    #[error("the key service could not be reached: {0}")]
    Unavailable(String),
    #[error("the key service answered something that is not an RSA public key")]
    NotAKey,
}

#[derive(Clone)]
pub struct InstallKeys {
    base_url: String,
    http: reqwest::Client,
    keys: Cache<String, Arc<Vec<u8>>>,
    unknown: Cache<String, ()>,
}

impl InstallKeys {
    pub fn new(settings: &crate::configuration::ConnectSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(
                settings.install_keys_fetch_timeout_ms,
            ))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static reqwest configuration");
        InstallKeys {
            base_url: settings.install_keys_url.trim_end_matches('/').to_owned(),
            http,
            keys: Cache::builder()
                .max_capacity(settings.install_keys_cache_capacity)
                .time_to_live(Duration::from_secs(settings.install_keys_cache_ttl_secs))
                .build(),
            unknown: Cache::builder()
                .max_capacity(1024)
                .time_to_live(Duration::from_secs(30))
                .build(),
        }
    }

    /// The PEM public key for `kid`.
    pub async fn get(&self, kid: &str) -> Result<Arc<Vec<u8>>, InstallKeyError> {
        if kid.is_empty()
            || kid.len() > 128
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            || kid.starts_with('.')
        {
            return Err(InstallKeyError::BadKid);
        }
        if self.unknown.contains_key(kid) {
            return Err(InstallKeyError::UnknownKid);
        }
        let result = self
            .keys
            .try_get_with(kid.to_owned(), self.fetch(kid))
            .await
            .map_err(|e: Arc<InstallKeyError>| (*e).clone());
        if let Err(InstallKeyError::UnknownKid) = result {
            self.unknown.insert(kid.to_owned(), ()).await;
        }
        result
    }

    async fn fetch(&self, kid: &str) -> Result<Arc<Vec<u8>>, InstallKeyError> {
        let url = format!("{}/{}", self.base_url, kid);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| InstallKeyError::Unavailable(e.without_url().to_string()))?;
        match resp.status().as_u16() {
            200 => {}
            403 | 404 => return Err(InstallKeyError::UnknownKid),
            s => return Err(InstallKeyError::Unavailable(format!("HTTP {s}"))),
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| InstallKeyError::Unavailable(e.without_url().to_string()))?;
        if body.len() > 16 * 1024 || jsonwebtoken::DecodingKey::from_rsa_pem(&body).is_err() {
            return Err(InstallKeyError::NotAKey);
        }
        tracing::info!(kid, "fetched signed-install public key");
        Ok(Arc::new(body.to_vec()))
    }
}
