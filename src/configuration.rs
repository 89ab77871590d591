//! Layered configuration: the built-in `config/default.toml`, then an optional file, then
//! environment variables `EXALATE__SECTION__KEY`. No limit or timeout lives anywhere else.

use serde::Deserialize;
use std::path::Path;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub connect: ConnectSettings,
    pub tenants: TenantSettings,
    pub jira: JiraSettings,
    pub connections: ConnectionSettings,
    pub peer: PeerSettings,
    pub sync: SyncSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SyncSettings {
    pub poll_ms: u64,
    pub retry_base_ms: u64,
    pub reconcile_secs: u64,
    pub deletion_sweep_secs: u64,
    pub concurrency: usize,
    pub max_attachment_bytes: u64,
    /// How long a per-issue lock lasts without renewal (its holder renews it while it works).
    pub lease_secs: u64,
    /// How long a sync waits for another's lock on the same issue before it tries later.
    pub lease_max_wait_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionSettings {
    pub invitation_ttl_secs: i64,
    pub redirect_ttl_secs: i64,
    pub accept_retry_secs: i64,
    pub max_code_guesses_per_minute: u32,
    pub admin_check_cache_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeerSettings {
    pub allowed_hosts: Vec<String>,
    pub allow_http: bool,
    /// Whether other nodes may be on loopback or private addresses (tests and labs only).
    pub allow_private_networks: bool,
    pub timeout_ms: u64,
    pub timestamp_window_secs: i64,
    /// Largest sync message accepted from the other side (it carries the comments).
    pub max_message_bytes: usize,
    /// Bodies of one connection read at once (each up to `max_message_bytes`).
    pub max_inflight_bodies: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub listen: String,
    pub base_url: String,
    pub max_body_bytes: usize,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

#[derive(Clone, Deserialize)]
pub struct SecuritySettings {
    pub encryption_key: String,
    pub key_file: String,
}

impl std::fmt::Debug for SecuritySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecuritySettings")
            .field("encryption_key", &"<redacted>")
            .field("key_file", &self.key_file)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConnectSettings {
    pub app_key: String,
    pub app_name: String,
    pub install_keys_url: String,
    pub install_keys_cache_capacity: u64,
    pub install_keys_cache_ttl_secs: u64,
    pub install_keys_fetch_timeout_ms: u64,
    pub jwt_leeway_secs: i64,
    pub session_ttl_secs: i64,
    pub all_js_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TenantSettings {
    pub cache_capacity: u64,
    pub cache_ttl_secs: u64,
    pub negative_cache_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JiraSettings {
    pub allowed_hosts: Vec<String>,
    pub allow_http: bool,
    pub request_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub max_retries: u32,
    pub retry_base_delay_ms: u64,
    pub retry_max_delay_ms: u64,
    pub max_retry_after_secs: u64,
    pub max_concurrent_requests: usize,
    pub requests_per_second: u32,
    pub token_ttl_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub filter: String,
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration is invalid: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("configuration value {key} is invalid: {reason}")]
    Value { key: &'static str, reason: String },
}

/// Reads the defaults, then `file` (if given), then the environment.
pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
    let env_file = std::env::var_os("EXALATE_CONFIG").map(std::path::PathBuf::from);
    if let Some(path) = file.map(Path::to_path_buf).or(env_file) {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    let settings: Settings = builder
        .add_source(
            config::Environment::with_prefix("EXALATE")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("jira.allowed_hosts")
                .with_list_parse_key("peer.allowed_hosts")
                .try_parsing(true),
        )
        .build()?
        .try_deserialize()?;
    settings.validate()?;
    Ok(settings)
}

impl Settings {
    fn validate(&self) -> Result<(), ConfigError> {
        let base = url::Url::parse(&self.server.base_url).map_err(|e| ConfigError::Value {
            key: "server.base_url",
            reason: e.to_string(),
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() {
            return Err(ConfigError::Value {
                key: "server.base_url",
                reason: "must be an http(s) URL without a query".into(),
            });
        }
        if self.connect.app_key.is_empty() || self.connect.app_key.len() > 64 {
            return Err(ConfigError::Value {
                key: "connect.app_key",
                reason: "must be 1 to 64 characters".into(),
            });
        }
        if self.jira.requests_per_second == 0 || self.jira.max_concurrent_requests == 0 {
            return Err(ConfigError::Value {
                key: "jira.requests_per_second",
                reason: "the Jira request budget must be positive".into(),
            });
        }
        Ok(())
    }

    /// The base URL without a trailing slash, as it appears in the descriptor and in `aud`.
    pub fn base_url(&self) -> &str {
        self.server.base_url.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test, because environment variables are process-wide.
    #[test]
    fn defaults_then_environment_overrides() {
        let s = load(None).expect("defaults are valid");
        assert_eq!(s.connect.jwt_leeway_secs, 30);
        assert!(s.jira.allowed_hosts.iter().any(|h| h == "*.atlassian.net"));
        assert!(s.database.url.starts_with("sqlite://./data/"));

        std::env::set_var("EXALATE__SERVER__LISTEN", "127.0.0.1:0");
        std::env::set_var("EXALATE__JIRA__ALLOWED_HOSTS", "*.atlassian.net,127.0.0.1");
        std::env::set_var("EXALATE__CONNECT__JWT_LEEWAY_SECS", "5");
        let s = load(None).expect("overrides are valid");
        assert_eq!(s.server.listen, "127.0.0.1:0");
        assert_eq!(s.jira.allowed_hosts, ["*.atlassian.net", "127.0.0.1"]);
        assert_eq!(s.connect.jwt_leeway_secs, 5);

        std::env::set_var("EXALATE__SERVER__BASE_URL", "not a url");
        assert!(load(None).is_err());
        for k in [
            "SERVER__LISTEN",
            "JIRA__ALLOWED_HOSTS",
            "CONNECT__JWT_LEEWAY_SECS",
            "SERVER__BASE_URL",
        ] {
            std::env::remove_var(format!("EXALATE__{k}"));
        }
    }
}
