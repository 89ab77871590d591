//! `Application::build`: database, migrations, state, and the bound HTTP server. Tests call it
//! with port 0 and their own database.

use crate::configuration::Settings;
use crate::connect::{descriptor, install_keys::InstallKeys};
use crate::connections::{admin_check::AdminChecks, peer::PeerClient, ConnectionService};
use crate::jira::{HostAllowlist, JiraClients};
use crate::state::AppState;
use crate::tenants::{crypto::SecretBox, TenantStore};
use crate::{db, web as app_web};
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use sea_orm::DatabaseConnection;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("the encryption key is unusable: {0}")]
    Crypto(#[from] crate::tenants::crypto::CryptoError),
    #[error(transparent)]
    Descriptor(#[from] descriptor::DescriptorError),
    #[error("could not load tenants: {0}")]
    Tenants(#[from] crate::tenants::TenantError),
    #[error("could not listen on {0}: {1}")]
    Bind(String, std::io::Error),
}

pub struct Application {
    addr: SocketAddr,
    server: Server,
    pub state: AppState,
    pub db: DatabaseConnection,
}

pub struct BuildOptions {
    pub run_migrations: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            run_migrations: true,
        }
    }
}

impl Application {
    /// Binds `server.listen` and builds everything.
    pub async fn build(settings: Settings, opts: BuildOptions) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(&settings.server.listen)
            .map_err(|e| StartupError::Bind(settings.server.listen.clone(), e))?;
        Self::build_with_listener(settings, listener, opts).await
    }

    /// Builds on an already bound listener (tests bind first, to know the base URL).
    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
        opts: BuildOptions,
    ) -> Result<Self, StartupError> {
        if opts.run_migrations {
            // Migrate on a pool of its own and close it: a SQLite connection that loaded the
            // schema halfway through the migration would prepare statements against a stale
            // schema (e.g. an ON CONFLICT without its unique index yet).
            let migrations = db::connect(&settings.database).await?;
            db::migrate(&migrations).await?;
            migrations.close().await.map_err(db::DbError::Connect)?;
        }
        let db = db::connect(&settings.database).await?;
        let secrets = SecretBox::from_settings(
            &settings.security.encryption_key,
            &settings.security.key_file,
        )?;
        let tenants = TenantStore::new(db.clone(), secrets.clone(), &settings.tenants);
        let warmed = tenants.warm().await?;
        let allowlist = HostAllowlist::new(&settings.jira.allowed_hosts, settings.jira.allow_http);
        let descriptor = descriptor::render(
            &settings.connect.app_key,
            &settings.connect.app_name,
            settings.base_url(),
        )?;
        let jira = JiraClients::new(&settings.jira, &settings.connect.app_key, allowlist);
        let self_token = hex::encode(secrets.derive(b"peer-self-token"));
        let connections = ConnectionService {
            db: db.clone(),
            secrets,
            tenants: tenants.clone(),
            jira: jira.clone(),
            admin: AdminChecks::new(settings.connections.admin_check_cache_secs),
            peer: PeerClient::new(&settings.peer, settings.base_url()).with_self_token(self_token),
            app_key: settings.connect.app_key.clone(),
            base_url: settings.base_url().to_owned(),
            invitation_ttl_secs: settings.connections.invitation_ttl_secs,
            redirect_ttl_secs: settings.connections.redirect_ttl_secs,
            accept_retry_secs: settings.connections.accept_retry_secs,
            peer_window_secs: settings.peer.timestamp_window_secs,
            allow_http_links: settings.jira.allow_http,
            titles: Default::default(),
        };
        let sync = crate::sync::SyncService {
            db: db.clone(),
            secrets: connections.secrets.clone(),
            tenants: tenants.clone(),
            jira: jira.clone(),
            peer: connections.peer.clone(),
            base_url: settings.base_url().to_owned(),
            wake: Arc::new(tokio::sync::Notify::new()),
            max_attachment_bytes: settings.sync.max_attachment_bytes,
            retry_base_ms: settings.sync.retry_base_ms,
            concurrency: settings.sync.concurrency,
            leases: crate::sync::lease::IssueLeases::new(
                db.clone(),
                std::time::Duration::from_secs(settings.sync.lease_secs),
                std::time::Duration::from_secs(settings.sync.lease_max_wait_secs),
            ),
            app_accounts: moka::future::Cache::builder().max_capacity(100_000).build(),
            delivered: Default::default(),
        };
        // The sync worker: every replica runs one; outbox claims keep them from colliding.
        tokio::spawn(
            sync.clone()
                .run_worker(std::time::Duration::from_millis(settings.sync.poll_ms)),
        );
        tokio::spawn(sync.clone().run_reconciler(std::time::Duration::from_secs(
            settings.sync.reconcile_secs.max(1),
        )));
        tokio::spawn(
            sync.clone()
                .run_deletion_sweep(std::time::Duration::from_secs(
                    settings.sync.deletion_sweep_secs.max(1),
                )),
        );
        let state = AppState {
            base_path: connect_jwt::base_path_of(settings.base_url()).into(),
            tenants,
            install_keys: InstallKeys::new(&settings.connect),
            descriptor: Arc::new(descriptor),
            jira,
            connections,
            sync,
            guesses: crate::web::guesses::CodeGuesses::new(
                settings.connections.max_code_guesses_per_minute,
            ),
            peer_inflight: crate::web::peer_api::PeerInflight::new(
                settings.peer.max_inflight_bodies,
            ),
            settings: Arc::new(settings),
        };
        let addr = listener
            .local_addr()
            .map_err(|e| StartupError::Bind("listener".into(), e))?;
        let body_limit = state.settings.server.max_body_bytes;
        let workers = match state.settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let data = web::Data::new(state.clone());
        let settings_for_headers = state.settings.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(app_web::security_headers::headers(&settings_for_headers))
                // Trailing slashes are insignificant in Connect's canonical path, so routing
                // ignores them too.
                .wrap(actix_web::middleware::NormalizePath::trim())
                .wrap(tracing_actix_web::TracingLogger::<
                    app_web::request_log::RedactedRequestSpan,
                >::new())
                .app_data(data.clone())
                .app_data(app_web::error::json_config(body_limit))
                .app_data(app_web::error::payload_config(body_limit))
                .configure(app_web::routes::configure)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(app_web::error::ApiError::not_found(
                        "There is nothing at this address.",
                    ))
                }))
        })
        .workers(workers)
        .disable_signals()
        .listen(listener)
        .map_err(|e| StartupError::Bind(addr.to_string(), e))?
        .run();
        tracing::info!(%addr, base_url = %state.settings.base_url(), tenants = warmed, "exalate listening");
        Ok(Application {
            addr,
            server,
            state,
            db,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Runs until Ctrl-C / SIGTERM, then stops gracefully.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            stop_server(&handle).await;
        });
        self.server.await
    }

    /// The server future, for tests that spawn it.
    pub fn into_server(self) -> Server {
        self.server
    }
}

/// Stops an actix server gracefully, but never waits forever: actix-server 2.8 can miss a
/// worker's answer to the stop command and then `stop(true)` never returns
/// (actix/actix-net#945, seen as a hung test). In-flight requests get 10 s.
pub async fn stop_server(handle: &actix_web::dev::ServerHandle) {
    let graceful =
        tokio::time::timeout(std::time::Duration::from_secs(10), handle.stop(true)).await;
    if graceful.is_err() {
        tracing::warn!("graceful stop timed out; stopping now");
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), handle.stop(false)).await;
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
