//! `exalate demo`: everything on one machine — two emulated Jira Cloud sites (alpha, beta), the app
//! on SQLite, the app installed on both through Jira's UPM API — and the URLs to open.

use crate::configuration::Settings;
use crate::startup::{Application, BuildOptions};
use jira_emulator::{Emulator, EmulatorConfig, SiteConfig};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address of the app.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub app: String,
    /// Address of the emulated Jira site "alpha".
    #[arg(long, default_value = "127.0.0.1:8101")]
    pub alpha: String,
    /// Address of the emulated Jira site "beta".
    #[arg(long, default_value = "127.0.0.1:8102")]
    pub beta: String,
    /// Folder for the app's database and the sites' state (kept between runs).
    #[arg(long, default_value = "./data/demo")]
    pub data: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the emulated Jira sites could not start: {0}")]
    Emulator(#[from] jira_emulator::EmulatorError),
    #[error("the app could not start: {0}")]
    App(#[from] crate::startup::StartupError),
    #[error("installing the app on {site} failed: {reason}")]
    Install { site: String, reason: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token");

/// Installs the app on a site the way an admin does it with the UPM REST API.
async fn install(http: &reqwest::Client, site: &str, descriptor: &str) -> Result<(), DemoError> {
    let err = |reason: String| DemoError::Install {
        site: site.to_owned(),
        reason,
    };
    let resp = http
        .get(format!("{site}/rest/plugins/1.0/"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    let token = resp
        .headers()
        .get("upm-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| err("no upm-token".into()))?
        .to_owned();
    let resp = http
        .post(format!("{site}/rest/plugins/1.0/?token={token}"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header(
            "Content-Type",
            "application/vnd.atl.plugins.install.uri+json",
        )
        .json(&serde_json::json!({"pluginUri": descriptor}))
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(err(resp.text().await.unwrap_or_default()));
    }
    Ok(())
}

/// The demo's configuration: the defaults (and any --config / environment), pointed at the
/// emulated sites.
/// TEST-1 on a fresh alpha gets a file, so exalating it shows an attachment travel too.
async fn sample_attachment(http: &reqwest::Client, emulator: &Emulator, alpha: &str) {
    let empty = {
        let d = emulator.site("alpha").site.lock();
        d.issues
            .values()
            .find(|i| i.key == "TEST-1")
            .is_some_and(|i| i.attachment_ids.is_empty())
    };
    if !empty {
        return;
    }
    let text = "Steps to reproduce:\n1. Reset the password\n2. Log in with the new one\n3. \"Invalid credentials\"\n";
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(text.as_bytes().to_vec())
            .file_name("steps-to-reproduce.txt")
            .mime_str("text/plain")
            .expect("static mime type"),
    );
    let sent = http
        .post(format!("{alpha}/rest/api/3/issue/TEST-1/attachments"))
        .basic_auth("admin@example.com", Some("admin-token"))
        .header("X-Atlassian-Token", "no-check")
        .multipart(form)
        .send()
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "demo attachment not added");
    }
}

pub fn demo_settings(mut s: Settings, args: &DemoArgs, alpha: &str) -> Settings {
    let data = args.data.display().to_string();
    s.server.listen = args.app.clone();
    s.server.base_url = format!("http://{}", args.app);
    s.database.url = format!("sqlite://{data}/exalate.db?mode=rwc");
    s.security.key_file = format!("{data}/exalate.key");
    s.connect.install_keys_url = format!("{alpha}/_emulator/install-keys");
    s.connect.all_js_url = format!("{alpha}/_emulator/all.js");
    s.jira.allowed_hosts = vec!["127.0.0.1".into(), "localhost".into()];
    s.jira.allow_http = true;
    s.peer.allow_http = true;
    s
}

pub async fn run(settings: Settings, args: DemoArgs) -> Result<(), DemoError> {
    std::fs::create_dir_all(&args.data)?;
    let emulator = Emulator::start(EmulatorConfig {
        sites: vec![
            SiteConfig {
                name: "alpha".into(),
                listen: args.alpha.clone(),
            },
            SiteConfig {
                name: "beta".into(),
                listen: args.beta.clone(),
            },
        ],
        seed: None,
        data_dir: Some(args.data.join("emulator")),
    })
    .await?;
    let alpha = emulator.site("alpha").base_url.clone();
    let beta = emulator.site("beta").base_url.clone();
    let settings = demo_settings(settings, &args, &alpha);
    let base = settings.base_url().to_owned();
    let app = Application::build(settings, BuildOptions::default()).await?;
    let server = app.into_server();
    let handle = server.handle();
    let server_task = tokio::spawn(server);

    let http = reqwest::Client::new();
    let descriptor = format!("{base}/atlassian-connect.json");
    for site in [&alpha, &beta] {
        install(&http, site, &descriptor).await?;
    }
    sample_attachment(&http, &emulator, &alpha).await;
    println!(
        "\nExalate demo is running.\n\n  Jira site alpha  {alpha}\n  Jira site beta   {beta}\n  Exalate app      {base}\n\n\
         Log in on either site as admin@example.com / admin-token (site admin),\n\
         or user@example.com / user-token (not an admin). Then open Apps → Exalate.\n\
         Data is kept in {}. Press Ctrl-C to stop.\n",
        args.data.display()
    );
    tokio::signal::ctrl_c().await?;
    println!("stopping…");
    crate::startup::stop_server(&handle).await;
    let _ = server_task.await;
    emulator.stop().await;
    Ok(())
}
