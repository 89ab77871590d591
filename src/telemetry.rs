//! Logging with `tracing`: human-readable by default, JSON in production. Secrets never reach a
//! log line (they are wrapped in types whose Debug is redacted).

use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init(filter: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    // Colours only for a person at a terminal: piped into a file or a log collector, escape codes
    // are noise. NO_COLOR (no-color.org) turns them off at a terminal too.
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi);
    // try_init: tests and the demo may call this more than once.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
