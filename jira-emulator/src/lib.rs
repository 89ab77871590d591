//! jira-emulator: several Jira Cloud sites on one machine, each on its own loopback port, faithful
//! enough that the Exalate app (or any third-party Jira client) can be tested, benchmarked and
//! demonstrated against it. See README.md for what is emulated and what is not.

pub mod adf;
pub mod auth;
pub mod connect;
pub mod control;
pub mod error;
pub mod faults;
pub mod jql;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod render;
pub mod rest;
pub mod site;
pub mod webhooks;

use actix_web::dev::{ServerHandle, Service};
use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::future::FutureExt;
use model::{Seed, SiteData};
use site::Site;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub name: String,
    /// `127.0.0.1:8101`, or port 0 for any free port.
    pub listen: String,
}

#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    pub sites: Vec<SiteConfig>,
    /// Seed JSON (defaults to `seed/default.json`).
    pub seed: Option<String>,
    /// When set, each site's state is kept in `<dir>/<site>.json` and attachments under
    /// `<dir>/<site>-attachments/`, so a restart keeps everything.
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("the seed is invalid: {0}")]
    Seed(String),
    #[error("could not listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("could not use the data folder: {0}")]
    Io(#[from] std::io::Error),
}

pub struct RunningSite {
    pub name: String,
    pub base_url: String,
    pub site: Arc<Site>,
    handle: ServerHandle,
}

pub struct Emulator {
    pub sites: Vec<RunningSite>,
}

impl Emulator {
    /// Starts every site. Must be called inside a tokio runtime.
    pub async fn start(cfg: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let seed_text = cfg
            .seed
            .clone()
            .unwrap_or_else(|| model::DEFAULT_SEED.to_owned());
        let seed: Seed =
            serde_json::from_str(&seed_text).map_err(|e| EmulatorError::Seed(e.to_string()))?;
        let mut sites = Vec::new();
        for sc in &cfg.sites {
            sites.push(start_site(sc, &seed, cfg.data_dir.as_deref()).await?);
        }
        Ok(Emulator { sites })
    }

    pub fn site(&self, name: &str) -> &RunningSite {
        self.sites
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no site {name}"))
    }

    pub async fn stop(self) {
        for s in self.sites {
            // Graceful, but bounded: actix-server 2.8 can miss a worker's answer to the stop
            // command, and then `stop(true)` never returns (actix/actix-net#945).
            let graceful =
                tokio::time::timeout(std::time::Duration::from_secs(10), s.handle.stop(true)).await;
            if graceful.is_err() {
                tracing::warn!(site = %s.base_url, "graceful stop timed out; stopping now");
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(2), s.handle.stop(false))
                        .await;
            }
        }
    }
}

async fn start_site(
    sc: &SiteConfig,
    seed: &Seed,
    data_dir: Option<&std::path::Path>,
) -> Result<RunningSite, EmulatorError> {
    let listener =
        TcpListener::bind(&sc.listen).map_err(|e| EmulatorError::Bind(sc.listen.clone(), e))?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let (state_file, attachments_dir) = match data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (
                Some(dir.join(format!("{}.json", sc.name))),
                dir.join(format!("{}-attachments", sc.name)),
            )
        }
        None => (
            None,
            std::env::temp_dir().join(format!(
                "jira-emulator-{}-{}-{}",
                std::process::id(),
                sc.name,
                addr.port()
            )),
        ),
    };
    std::fs::create_dir_all(&attachments_dir)?;
    // Uploads a previous run was receiving when it stopped (see `rest::upload_attachments`).
    for entry in std::fs::read_dir(&attachments_dir)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("upload-") && name.ends_with(".part") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let data = match state_file.as_ref().filter(|f| f.exists()) {
        Some(f) => serde_json::from_slice::<SiteData>(&std::fs::read(f)?)
            .map_err(|e| EmulatorError::Seed(format!("{}: {e}", f.display())))?,
        None => SiteData::from_seed(seed).map_err(EmulatorError::Seed)?,
    };
    let (dispatcher, rx) = webhooks::channel();
    let site = Arc::new(Site::new(
        &sc.name,
        data,
        seed.clone(),
        attachments_dir,
        state_file,
        dispatcher,
    ));
    site.set_base_url(&base_url);
    webhooks::spawn_worker(Arc::downgrade(&site), rx, site.http.clone());

    let data = web::Data::from(site.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(4 * 1024 * 1024 * 1024))
            .wrap_fn(|req, srv| {
                let site = req.app_data::<web::Data<Site>>().expect("site").clone();
                let method = req.method().as_str().to_owned();
                let path = req.path().to_owned();
                let injected = if path.starts_with("/rest/api/")
                    || path.starts_with("/rest/atlassian-connect/")
                {
                    let by_app = req
                        .headers()
                        .get("Authorization")
                        .and_then(|h| h.to_str().ok())
                        .is_some_and(|h| h.starts_with("JWT "));
                    site.faults.decide(&method, &path, by_app)
                } else {
                    Vec::new()
                };
                let mut delay = std::time::Duration::ZERO;
                let mut respond = None;
                for i in injected {
                    match i {
                        faults::Injected::Delay(d) => delay += d,
                        faults::Injected::Respond {
                            status,
                            retry_after,
                        } if respond.is_none() => respond = Some((status, retry_after)),
                        _ => {}
                    }
                }
                if let Some((status, retry_after)) = respond {
                    site.counters.update(|c| c.faults_injected += 1);
                    let mut b = HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(status)
                            .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE),
                    );
                    if let Some(r) = retry_after {
                        b.insert_header(("Retry-After", r.to_string()));
                    }
                    let msg = if status == 429 {
                        "Rate limit exceeded."
                    } else {
                        "Internal server error (injected fault)."
                    };
                    let resp = b.json(serde_json::json!({"errorMessages": [msg], "errors": {}}));
                    let sr = req.into_response(resp).map_into_boxed_body();
                    return async move {
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        Ok(sr)
                    }
                    .boxed_local();
                }
                let fut = srv.call(req);
                async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let res = fut.await?;
                    let pattern = res
                        .request()
                        .match_pattern()
                        .unwrap_or_else(|| res.request().path().to_owned());
                    site.counters.update(|c| {
                        *c.requests.entry(format!("{method} {pattern}")).or_default() += 1
                    });
                    Ok(res.map_into_boxed_body())
                }
                .boxed_local()
            })
            .configure(rest::configure)
            .configure(connect::configure)
            // Pages before the /_emulator scope: a scope answers 404 for paths it does not route,
            // and pages own /_emulator/all.js and /_emulator/context-token.
            .configure(pages::configure)
            .configure(control::configure)
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .map_err(|e| EmulatorError::Bind(addr.to_string(), e))?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    tracing::info!(site = %sc.name, %base_url, "Jira site ready");
    Ok(RunningSite {
        name: sc.name.clone(),
        base_url,
        site,
        handle,
    })
}
