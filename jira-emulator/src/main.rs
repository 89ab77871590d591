//! `jira-emulator --site alpha=127.0.0.1:8101 --site beta=127.0.0.1:8102`: several emulated Jira
//! Cloud sites, each on its own port, until Ctrl-C.

use clap::Parser;
use jira_emulator::{Emulator, EmulatorConfig, SiteConfig};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "jira-emulator",
    version,
    about = "Emulated Jira Cloud sites for tests, benchmarks and demos"
)]
struct Cli {
    /// A site as NAME=HOST:PORT (repeatable). Port 0 picks a free port.
    #[arg(long = "site", value_name = "NAME=HOST:PORT")]
    sites: Vec<String>,
    /// A config file (JSON): {"sites": [{"name": "alpha", "listen": "127.0.0.1:8101"}], "seed": "seed.json", "dataDir": "./data/emulator"}
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed file (JSON, see seed/default.json) used for every site.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Keep each site's state (and attachments) in this folder across restarts.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileConfig {
    #[serde(default)]
    sites: Vec<FileSite>,
    seed: Option<PathBuf>,
    data_dir: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct FileSite {
    name: String,
    listen: String,
}

fn parse_site(s: &str) -> Result<SiteConfig, String> {
    let (name, listen) = s
        .split_once('=')
        .ok_or_else(|| format!("--site {s}: expected NAME=HOST:PORT"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "--site {s}: the name may hold letters, digits, - and _"
        ));
    }
    Ok(SiteConfig {
        name: name.to_owned(),
        listen: listen.to_owned(),
    })
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let mut cfg = EmulatorConfig {
        data_dir: cli.data_dir.clone(),
        ..Default::default()
    };
    let mut seed_path = cli.seed.clone();
    if let Some(path) = &cli.config {
        let f: FileConfig = serde_json::from_slice(&std::fs::read(path)?)?;
        cfg.sites.extend(f.sites.into_iter().map(|s| SiteConfig {
            name: s.name,
            listen: s.listen,
        }));
        seed_path = seed_path.or(f.seed);
        cfg.data_dir = cfg.data_dir.or(f.data_dir);
    }
    for s in &cli.sites {
        cfg.sites.push(parse_site(s)?);
    }
    if cfg.sites.is_empty() {
        cfg.sites.push(SiteConfig {
            name: "alpha".into(),
            listen: "127.0.0.1:8101".into(),
        });
    }
    if let Some(p) = seed_path {
        cfg.seed = Some(std::fs::read_to_string(p)?);
    }
    let emulator = Emulator::start(cfg).await?;
    for s in &emulator.sites {
        println!("site {:<8} {}   (log in: admin@example.com / admin-token; user@example.com / user-token)", s.name, s.base_url);
    }
    if let Some(first) = emulator.sites.first() {
        println!(
            "install keys: {}/_emulator/install-keys   all.js: {}/_emulator/all.js",
            first.base_url, first.base_url
        );
    }
    tokio::signal::ctrl_c().await?;
    emulator.stop().await;
    Ok(())
}
