//! `seisreduce run` and `check`: the process around a pipeline (signals, metrics endpoint,
//! exit codes). Kept beside `main.rs` because it is about the process, not the library.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use seisreduce::pipeline::memory::{self, Bytes, Estimate};
use seisreduce::pipeline::runtime::{self, Control, RunOptions};
use seisreduce::pipeline::Pipeline;
use seisreduce::settings::{LogFormat, Settings};

/// How `run` talks to its user.
#[derive(Debug, Clone, Copy, Default)]
pub struct Voice {
    /// Warnings and errors only, no closing summary.
    pub quiet: bool,
}

/// What `check` prints: the stages as they will run, the memory each will hold, and the
/// effective settings as TOML (secrets shown as `***`).
pub fn describe(p: &Pipeline, settings: &Settings, stages: Option<&[String]>) -> String {
    let mut out = format!(
        "{}: ok: pipeline `{}`, {} stages, bus {}\n",
        p.file.path.display(),
        p.name(),
        p.order.len(),
        match p.file.header.bus {
            seisreduce::pipeline::config::BusKind::Memory => "memory",
            seisreduce::pipeline::config::BusKind::Kafka => "kafka",
        }
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
    out += &memory::estimate(p, stages).to_string();
    out += "\n";
    if let Ok(Some((limit, from))) = settings.memory.limit_bytes() {
        out += &format!("  limit {} ({from})\n", Bytes(limit));
    }
    out += &format!("settings:\n{}", settings.to_toml().trim_end());
    out
}

/// Refuses a pipeline whose bound is above the configured limit, naming the stage to shrink.
fn within_limit(est: &Estimate, settings: &Settings) -> anyhow::Result<()> {
    let Some((limit, from)) = settings.memory.limit_bytes().map_err(anyhow::Error::msg)? else {
        return Ok(());
    };
    if est.total() <= limit {
        return Ok(());
    }
    let largest = est
        .largest()
        .map(|s| {
            let queue = if s.queue_why.is_empty() {
                String::new()
            } else {
                format!("; input queue {}", s.queue_why)
            };
            format!(
                "; stage `{}` holds the most ({}: {}{queue})",
                s.stage,
                Bytes(s.total()),
                s.why
            )
        })
        .unwrap_or_default();
    anyhow::bail!(
        "the pipeline may hold {} but the limit is {} ({from}){largest}: shrink it (shorter blocks or windows, fewer channels per stage, a smaller queue) or raise the limit; `seisreduce check` prints the bound of every stage",
        Bytes(est.total()),
        Bytes(limit)
    )
}

/// Runs `p` to the end (or to SIGINT/SIGTERM); exit 0 when every stage finished cleanly.
pub fn run_pipeline(
    p: &Pipeline,
    settings: &Settings,
    opts: RunOptions,
    voice: Voice,
) -> anyhow::Result<ExitCode> {
    let est = memory::estimate(p, opts.stages.as_deref());
    within_limit(&est, settings)?;
    tracing::info!(pipeline = %p.name(), file = %p.file.path.display(), stages = est.stages.len(), memory_bound = %Bytes(est.total()), "starting");
    tracing::debug!("settings:\n{}", settings.to_toml());
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
    let (summary, result) = runtime::run(p, settings, &opts, &ctl);
    rt.shutdown_background();
    if !voice.quiet {
        match settings.log.format {
            LogFormat::Json => summary.log(),
            LogFormat::Human => eprint!("{summary}"),
        }
    }
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
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
