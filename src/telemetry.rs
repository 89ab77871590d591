//! Logging with `tracing`: human-readable by default, JSON in production. Secrets never reach a
//! log line (they are wrapped in types whose Debug is redacted).

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(filter: &str, json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // try_init: tests and the demo may call this more than once.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
