//! Database connection: SQLite (embedded default; WAL, busy timeout, file created) or PostgreSQL,
//! chosen by the URL. The same entities and queries run on both.

use crate::configuration::DatabaseSettings;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("could not create the database folder {0}: {1}")]
    Folder(String, std::io::Error),
    #[error("could not connect to the database: {0}")]
    Connect(DbErr),
    #[error("migrations failed: {0}")]
    Migrate(DbErr),
}

/// The file path of a `sqlite://` URL, when it names a file.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then_some(path)
}

pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbError> {
    if let Some(file) = sqlite_file(&settings.url) {
        if let Some(dir) = std::path::Path::new(file).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbError::Folder(dir.display().to_string(), e))?;
            }
        }
    }
    let mut opts = ConnectOptions::new(settings.url.clone());
    let busy = Duration::from_millis(settings.busy_timeout_ms);
    opts.max_connections(settings.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(busy)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    Database::connect(opts).await.map_err(DbError::Connect)
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbError> {
    Migrator::up(db, None).await.map_err(DbError::Migrate)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_paths() {
        assert_eq!(
            super::sqlite_file("sqlite://./data/x.db?mode=rwc"),
            Some("./data/x.db")
        );
        assert_eq!(super::sqlite_file("sqlite::memory:"), None);
        assert_eq!(super::sqlite_file("postgres://h/db"), None);
    }
}
