//! What every request handler shares. Cheap to clone (everything inside is reference-counted).

use crate::configuration::Settings;
use crate::connect::auth::Verifier;
use crate::connect::descriptor::Descriptor;
use crate::connect::install_keys::InstallKeys;
use crate::connect::lifecycle::LifecycleContext;
use crate::connections::ConnectionService;
use crate::jira::JiraClients;
use crate::tenants::TenantStore;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    /// Path of our base URL (`""` when it has none); canonical requests are relative to it.
    pub base_path: Arc<str>,
    pub tenants: TenantStore,
    pub install_keys: InstallKeys,
    pub descriptor: Arc<Descriptor>,
    pub jira: JiraClients,
    pub connections: ConnectionService,
    pub sync: crate::sync::SyncService,
    pub guesses: crate::web::guesses::CodeGuesses,
    pub peer_inflight: crate::web::peer_api::PeerInflight,
}

impl AppState {
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier {
            tenants: &self.tenants,
            base_path: &self.base_path,
            leeway_secs: self.settings.connect.jwt_leeway_secs,
            now: chrono::Utc::now().timestamp(),
        }
    }

    pub fn lifecycle(&self) -> LifecycleContext<'_> {
        LifecycleContext {
            tenants: &self.tenants,
            install_keys: &self.install_keys,
            allowlist: self.jira.allowlist(),
            app_key: &self.settings.connect.app_key,
            base_url: self.settings.base_url(),
            base_path: &self.base_path,
            leeway_secs: self.settings.connect.jwt_leeway_secs,
            now: chrono::Utc::now().timestamp(),
        }
    }
}
