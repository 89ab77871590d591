//! Command line: `exalate serve`, `exalate migrate`, `exalate --version`.

use crate::configuration;
use crate::startup::{Application, BuildOptions};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "exalate",
    version,
    about = "Exalate for Jira Cloud: keeps issues of two Jira sites in sync"
)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults (also EXALATE_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and background workers (migrates the database first).
    Serve {
        /// Do not run database migrations at start-up (run `exalate migrate` yourself).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Everything on one machine: two emulated Jira sites with the app installed, on SQLite.
    Demo(crate::demo::DemoArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = configuration::load(cli.config.as_deref())?;
    crate::telemetry::init(&settings.log.filter, settings.log.json);
    match cli.command {
        Command::Serve { no_migrate } => {
            let app = Application::build(
                settings,
                BuildOptions {
                    run_migrations: !no_migrate,
                },
            )
            .await?;
            app.run_until_stopped().await?;
        }
        Command::Demo(args) => crate::demo::run(settings, args).await?,
        Command::Migrate => {
            let db = crate::db::connect(&settings.database).await?;
            crate::db::migrate(&db).await?;
            tracing::info!("migrations applied");
        }
    }
    Ok(())
}
