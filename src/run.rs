//! `seisreduce run` and `check`: the process around a pipeline (signals, metrics endpoint,
//! exit codes). Kept beside `main.rs` because it is about the process, not the library.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use seisreduce::pipeline::runtime::{self, Control, RunOptions};
use seisreduce::pipeline::Pipeline;
use seisreduce::settings::Settings;

/// What `check` prints: the stages as they will run, and the effective settings (secrets
/// shown as `***`).
pub fn describe(p: &Pipeline, settings: &Settings) -> String {
    let mut out = format!(
        "{}: ok: pipeline `{}`, {} stages, bus {:?}\n",
        p.file.path.display(),
        p.name(),
        p.order.len(),
        p.file.header.bus
    );
    for name in &p.order {
        if let Some(s) = p.stage(name) {
            let from = if s.inputs.is_empty() {
                String::new()
            } else {
                format!(" <- {}", s.inputs.join(", "))
            };
            out += &format!("  {} ({} {}){from}\n", s.name, s.role.plural(), s.type_name);
        }
    }
    out += &format!("settings: {settings:?}");
    out
}

/// Runs `p` to the end (or to SIGINT/SIGTERM); exit 0 when every stage finished cleanly.
pub fn run_pipeline(
    p: &Pipeline,
    settings: &Settings,
    opts: RunOptions,
) -> anyhow::Result<ExitCode> {
    tracing::info!(pipeline = %p.name(), file = %p.file.path.display(), settings = ?settings, "starting");
    let ctl = Control::new(p.name());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    if let Some(listen) = &settings.metrics.listen {
        let addr = rt.block_on(seisreduce::telemetry::http::serve(
            listen,
            ctl.metrics.clone(),
            ctl.ready.clone(),
        ));
        match addr {
            Ok(a) => tracing::info!("metrics on http://{a}/metrics"),
            Err(e) => anyhow::bail!("metrics.listen {listen}: {e}"),
        }
    }
    let shutdown = ctl.shutdown.clone();
    rt.spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: draining, flushing and committing (signal again to abort)");
        shutdown.store(true, Ordering::Relaxed);
        wait_for_signal().await;
        tracing::warn!("second signal: aborting");
        std::process::exit(130);
    });
    let result = runtime::run(p, settings, &opts, &ctl);
    rt.shutdown_background();
    match result {
        Ok(()) => {
            tracing::info!(pipeline = %p.name(), "finished");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("seisreduce: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            std::future::pending::<()>().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
