//! Forge's signing keys: the JWKS at a configurable URL (production by default), cached for the
//! `max-age` it is served with, clamped to 5 min–24 h, fetched with a short timeout. A `kid` the
//! set does not hold triggers at most one refetch (keys rotate) and is then remembered as unknown
//! for a minute, so forged tokens cannot turn us into a request amplifier.

use super::fit::{FitError, FitKeys};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::DecodingKey;
use moka::future::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

const MIN_MAX_AGE: Duration = Duration::from_secs(5 * 60);
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// A JWKS larger than this is not one Atlassian serves.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The RSA keys of one fetched set, by `kid`, and until when it may be used.
struct Fetched {
    keys: Vec<(String, DecodingKey)>,
    fresh_until: Instant,
}

#[derive(Clone)]
pub struct Jwks {
    url: String,
    http: reqwest::Client,
    current: Arc<RwLock<Option<Fetched>>>,
    unknown: Cache<String, ()>,
}

impl Jwks {
    pub fn new(url: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("static reqwest configuration");
        Jwks {
            url: url.to_owned(),
            http,
            current: Arc::new(RwLock::new(None)),
            unknown: Cache::builder()
                .max_capacity(1024)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }

    fn find(set: &Fetched, kid: &str) -> Option<DecodingKey> {
        set.keys
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key.clone())
    }

    /// Fetches the set again unless another caller just did (single flight under the lock).
    async fn refresh(&self, seen_before: Option<Instant>) -> Result<(), FitError> {
        let mut current = self.current.write().await;
        let already = current.as_ref().map(|c| c.fresh_until);
        if already.is_some() && already != seen_before {
            return Ok(());
        }
        *current = Some(self.fetch().await?);
        Ok(())
    }

    async fn fetch(&self) -> Result<Fetched, FitError> {
        let unavailable = |why: String| FitError::KeysUnavailable(why);
        let resp = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(unavailable(format!("HTTP {}", resp.status().as_u16())));
        }
        let max_age = max_age(resp.headers()).clamp(MIN_MAX_AGE, MAX_MAX_AGE);
        let body = resp
            .bytes()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(unavailable("the key set is too large".into()));
        }
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|_| unavailable("the key set is not a JWKS".into()))?;
        let keys = set
            .keys
            .iter()
            .filter(|k| matches!(k.algorithm, AlgorithmParameters::RSA(_)))
            .filter_map(|k| Some((k.common.key_id.clone()?, DecodingKey::from_jwk(k).ok()?)))
            .collect::<Vec<_>>();
        tracing::info!(
            keys = keys.len(),
            max_age_secs = max_age.as_secs(),
            "fetched Forge signing keys"
        );
        Ok(Fetched {
            keys,
            fresh_until: Instant::now() + max_age,
        })
    }
}

/// `Cache-Control: max-age=N` (0 when absent, which the clamp turns into the minimum).
fn max_age(headers: &reqwest::header::HeaderMap) -> Duration {
    let secs = headers
        .get_all(reqwest::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_secs(secs)
}

impl FitKeys for Jwks {
    async fn key(&self, kid: &str) -> Result<DecodingKey, FitError> {
        if self.unknown.contains_key(kid) {
            return Err(FitError::UnknownKid);
        }
        let seen = {
            let current = self.current.read().await;
            match current.as_ref() {
                Some(set) if set.fresh_until > Instant::now() => {
                    if let Some(key) = Self::find(set, kid) {
                        return Ok(key);
                    }
                    Some(set.fresh_until)
                }
                Some(set) => Some(set.fresh_until),
                None => None,
            }
        };
        self.refresh(seen).await?;
        let current = self.current.read().await;
        match current.as_ref().and_then(|set| Self::find(set, kid)) {
            Some(key) => Ok(key),
            None => {
                self.unknown.insert(kid.to_owned(), ()).await;
                Err(FitError::UnknownKid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::fit::tests::{jwks_json, KID};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn served(cache_control: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("cache-control", cache_control)
                    .set_body_string(jwks_json()),
            )
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn a_known_kid_is_fetched_once_and_an_unknown_one_is_refetched_once_then_remembered() {
        let server = served("public, max-age=3600").await;
        let jwks = Jwks::new(&server.uri(), Duration::from_secs(2));
        for _ in 0..5 {
            jwks.key(KID).await.unwrap();
        }
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
        for _ in 0..5 {
            assert!(matches!(
                jwks.key("forged").await,
                Err(FitError::UnknownKid)
            ));
        }
        // One refetch for the unknown kid, then it is remembered.
        assert_eq!(server.received_requests().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn max_age_is_clamped_between_five_minutes_and_a_day() {
        let h = |v: &str| {
            let mut m = reqwest::header::HeaderMap::new();
            m.insert(reqwest::header::CACHE_CONTROL, v.parse().unwrap());
            max_age(&m).clamp(MIN_MAX_AGE, MAX_MAX_AGE)
        };
        assert_eq!(h("max-age=0"), MIN_MAX_AGE);
        assert_eq!(h("no-cache"), MIN_MAX_AGE);
        assert_eq!(h("public, max-age=3600"), Duration::from_secs(3600));
        assert_eq!(h("max-age=9999999"), MAX_MAX_AGE);
    }

    #[tokio::test]
    async fn a_key_service_that_fails_or_hangs_is_unavailable_not_unknown() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let jwks = Jwks::new(&server.uri(), Duration::from_secs(2));
        assert!(matches!(
            jwks.key(KID).await,
            Err(FitError::KeysUnavailable(_))
        ));
        let slow = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(jwks_json())
                    .set_delay(Duration::from_secs(3)),
            )
            .mount(&slow)
            .await;
        let jwks = Jwks::new(&slow.uri(), Duration::from_millis(200));
        let started = Instant::now();
        assert!(matches!(
            jwks.key(KID).await,
            Err(FitError::KeysUnavailable(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
