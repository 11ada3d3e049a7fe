//! Logs, metrics and the HTTP endpoints dashboards and Kubernetes probe.

pub mod http;
pub mod metrics;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global `tracing` subscriber: readable lines or JSON objects on stderr, filtered
/// by `settings.level` (or `RUST_LOG` when set). Calling it twice is harmless.
pub fn init_logging(settings: &LogSettings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Human => builder.try_init(),
    };
}
