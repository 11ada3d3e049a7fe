//! Logs, metrics and the HTTP endpoints dashboards and Kubernetes probe.

pub mod http;
pub mod metrics;

use crate::settings::{LogFormat, LogSettings};

/// Installs the global `tracing` subscriber: readable lines or JSON objects on stderr, filtered
/// by `settings.level` (or `RUST_LOG` when set). Calling it twice is harmless.
pub fn init_logging(settings: &LogSettings) {
    // The ZeroMQ crate logs every reconnection attempt as a warning; the `das_stream`
    // source reports losses itself, once and then as a tally, so the crate's own lines are
    // kept to errors unless the level names it.
    let quiet_zmq = |f: tracing_subscriber::EnvFilter| match "zeromq=error".parse() {
        Ok(d) if !settings.level.contains("zeromq") => f.add_directive(d),
        _ => f,
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.level).map(quiet_zmq))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Human => builder.try_init(),
    };
}
