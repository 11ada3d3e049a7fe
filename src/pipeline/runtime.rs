//! Running a pipeline: one thread per stage, joined by a bus.
//!
//! Stages are threads, not async tasks: operators are CPU work that would stall a reactor,
//! and the bus calls block, which is the backpressure. The async runtime in `main` only
//! serves metrics and turns SIGINT/SIGTERM into the `shutdown` flag.
//!
//! Stopping: sources see the flag and stop reading. On the memory bus the end then flows
//! downstream as closed channels: every stage drains its queue, flushes its operator, makes
//! its output durable and exits. On Kafka, consumer stages stop taking messages, flush, and
//! commit what is durable; the rest stays in the topic for the next run. A stage that fails
//! stops the others the same way, and the run reports it by name.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::component::{BuildContext, Work};
use super::config::{BusKind, StageDecl};
use super::emit::{Emitter, StageError};
use super::graph::Pipeline;
use super::summary::{StageSummary, Summary};
use crate::bus::kafka::{topic_name, KafkaBus};
use crate::bus::memory::MemoryBus;
use crate::bus::{Bus, BusError, Message, Payload, Position, Recv, Subscriber};
use crate::model::now;
use crate::settings::Settings;
use crate::sinks::SinkReport;
use crate::telemetry::metrics::{Metrics, StageMetrics};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("--stages: {0}")]
    Stages(String),
    #[error("bus: {0}")]
    Bus(#[from] BusError),
    #[error("stage `{stage}`: {error}")]
    Stage { stage: String, error: StageError },
}

/// Shared switches of a run.
pub struct Control {
    /// Set to stop (SIGINT, SIGTERM, or a failed stage).
    pub shutdown: Arc<AtomicBool>,
    /// Set once every stage has started: `/readyz`.
    pub ready: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
}

impl Control {
    pub fn new(pipeline: &str) -> Control {
        Control {
            shutdown: Arc::new(AtomicBool::new(false)),
            ready: Arc::new(AtomicBool::new(false)),
            metrics: Arc::new(Metrics::new(pipeline)),
        }
    }
}

pub struct RunOptions {
    /// Run only these stages (Kafka bus); none: all.
    pub stages: Option<Vec<String>>,
    /// How long to wait for the broker at start.
    pub broker_wait: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            stages: None,
            broker_wait: Duration::from_secs(60),
        }
    }
}

/// The stages this process runs.
fn local_stages<'a>(p: &'a Pipeline, opts: &RunOptions) -> Result<Vec<&'a StageDecl>, RunError> {
    let Some(names) = &opts.stages else {
        return Ok(p.order.iter().filter_map(|n| p.stage(n)).collect());
    };
    let all: Vec<&str> = p.order.iter().map(String::as_str).collect();
    for n in names {
        if p.stage(n).is_none() {
            let hint = super::config::suggest(n, all.iter().copied())
                .map(|h| format!(" (did you mean `{h}`?)"))
                .unwrap_or_default();
            return Err(RunError::Stages(format!(
                "no stage named `{n}`{hint}; stages: {}",
                all.join(", ")
            )));
        }
    }
    let local: Vec<&StageDecl> = p
        .order
        .iter()
        .filter(|n| names.contains(n))
        .filter_map(|n| p.stage(n))
        .collect();
    if p.file.header.bus == BusKind::Memory && local.len() != p.order.len() {
        return Err(RunError::Stages(format!(
            "{}: the memory bus joins stages inside one process; set bus = \"kafka\" in [pipeline] to run some stages here and others elsewhere",
            p.file.path.display()
        )));
    }
    Ok(local)
}

/// Runs the pipeline until its sources end (memory bus), or until `ctl.shutdown`; the
/// summary says what each stage did, also when a stage failed.
pub fn run(
    p: &Pipeline,
    settings: &Settings,
    opts: &RunOptions,
    ctl: &Control,
) -> (Summary, Result<(), RunError>) {
    let started = now();
    let reports: Mutex<BTreeMap<String, SinkReport>> = Mutex::new(BTreeMap::new());
    let (local, result) = match local_stages(p, opts) {
        Ok(local) => {
            let r = run_stages(p, &local, settings, opts, ctl, &reports);
            (local, r)
        }
        Err(e) => (Vec::new(), Err(e)),
    };
    let mut reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
    let summary = Summary {
        pipeline: p.name().to_string(),
        started,
        ended: now(),
        stopped: ctl.shutdown.load(Ordering::Relaxed),
        stages: local
            .iter()
            .map(|s| {
                StageSummary::new(
                    s,
                    ctl.metrics.stage(&s.name).counts(),
                    reports.remove(&s.name),
                )
            })
            .collect(),
    };
    (summary, result)
}

fn run_stages(
    p: &Pipeline,
    local: &[&StageDecl],
    settings: &Settings,
    opts: &RunOptions,
    ctl: &Control,
    reports: &Mutex<BTreeMap<String, SinkReport>>,
) -> Result<(), RunError> {
    let bus: Box<dyn Bus> = match p.file.header.bus {
        BusKind::Memory => Box::new(MemoryBus::new(&p.edges(), p.file.header.queue)),
        BusKind::Kafka => {
            let mut topics: Vec<String> = Vec::new();
            for s in local {
                if p.has_consumers(&s.name) {
                    topics.push(topic_name(p.name(), &s.name));
                }
                topics.extend(s.inputs.iter().map(|i| topic_name(p.name(), i)));
            }
            topics.sort();
            topics.dedup();
            Box::new(KafkaBus::connect(
                &settings.kafka,
                p.name(),
                &topics,
                opts.broker_wait,
            )?)
        }
    };
    let kafka = p.file.header.bus == BusKind::Kafka;
    // Build everything before any thread starts, so that a failure leaves nothing running.
    let mut prepared = Vec::new();
    for s in local {
        let metrics = ctl.metrics.stage(&s.name);
        let publisher = if p.has_consumers(&s.name) {
            bus.publisher(&s.name)?
        } else {
            None
        };
        let input = if s.inputs.is_empty() {
            None
        } else {
            Some(bus.subscriber(&s.name, &s.inputs)?)
        };
        let ctx = BuildContext {
            stage: &s.name,
            inputs: &s.inputs,
            pipeline: p,
            settings,
            metrics: metrics.clone(),
        };
        let work = s.spec.build(&ctx).map_err(|error| RunError::Stage {
            stage: s.name.clone(),
            error,
        })?;
        prepared.push((*s, metrics, publisher, input, work));
    }
    drop(bus);
    let failure: Mutex<Option<RunError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for (s, metrics, publisher, input, work) in prepared {
            let (failure, shutdown) = (&failure, &ctl.shutdown);
            std::thread::Builder::new()
                .name(format!("stage-{}", s.name))
                .spawn_scoped(scope, move || {
                    let mut em = Emitter::new(&s.name, publisher, &metrics, shutdown);
                    tracing::debug!(stage = %s.name, r#type = %s.type_name, "stage started");
                    let res = match (input, work) {
                        (None, Work::Source(src)) => src.run(&mut em).and_then(|()| em.flush()),
                        (Some(sub), work) => {
                            let report = |w: &Work| {
                                if let Work::Sink { sink, .. } = w {
                                    if let Some(r) = sink.report() {
                                        let mut all =
                                            reports.lock().unwrap_or_else(|e| e.into_inner());
                                        all.insert(s.name.clone(), r);
                                    }
                                }
                            };
                            consume(sub, work, &mut em, kafka, report)
                        }
                        (None, _) => Err(StageError::Other(
                            "a stage without inputs that is not a source".into(),
                        )),
                    };
                    em.close();
                    match res {
                        Ok(()) => tracing::debug!(stage = %s.name, "stage finished"),
                        Err(error) => {
                            tracing::error!(stage = %s.name, "stage failed: {error}");
                            metrics.error("fatal");
                            shutdown.store(true, Ordering::Relaxed);
                            let mut f = failure.lock().unwrap_or_else(|e| e.into_inner());
                            // Upstream stages fail in turn when a stage they feed stops; the
                            // stage that stopped first is the one to report.
                            let consequence = |e: &RunError| {
                                matches!(
                                    e,
                                    RunError::Stage {
                                        error: StageError::Bus(BusError::Disconnected(_)),
                                        ..
                                    }
                                )
                            };
                            let new = RunError::Stage {
                                stage: s.name.clone(),
                                error,
                            };
                            if f.as_ref()
                                .is_none_or(|old| consequence(old) && !consequence(&new))
                            {
                                *f = Some(new);
                            }
                        }
                    }
                })
                .map(|_| ())
                .unwrap_or_else(|e| {
                    ctl.shutdown.store(true, Ordering::Relaxed);
                    tracing::error!("cannot start a thread: {e}");
                });
        }
        ctl.ready.store(true, Ordering::Relaxed);
    });
    ctl.ready.store(false, Ordering::Relaxed);
    match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// How a running stage's work is driven by the loops below.
impl Work {
    fn interval(&self) -> Duration {
        match self {
            Work::Sink { commit, .. } => *commit,
            _ => Duration::from_millis(500),
        }
    }

    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        match self {
            Work::Sink { sink, .. } => sink.write(&m),
            Work::Transform(t) => t.take(m, em),
            Work::Source(_) => Ok(()),
        }
    }

    /// The input has nothing more waiting: a transform emits what it held back.
    fn idle(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        match self {
            Work::Transform(t) => t.idle(em),
            _ => Ok(()),
        }
    }

    /// The wall clock moved on a second: returns whether the transform emitted anything.
    fn tick(&mut self, em: &mut Emitter<'_>) -> Result<bool, StageError> {
        match self {
            Work::Transform(t) => t.tick(em),
            _ => Ok(false),
        }
    }

    /// The input ended, or (`resumable`) the stage stops while its input stays in Kafka: a
    /// sink then keeps what it holds back in its checkpoint for the next run, rather than
    /// writing it out early (short records that the next run would not have written).
    fn finish(&mut self, em: &mut Emitter<'_>, resumable: bool) -> Result<(), StageError> {
        match self {
            Work::Transform(t) => t.finish(em),
            Work::Sink { .. } if resumable => Ok(()),
            Work::Sink { sink, .. } => sink.finish(em.shutdown),
            Work::Source(_) => Ok(()),
        }
    }

    /// After a rebalance: what was taken since the last commit will be delivered again.
    fn rollback(&mut self, em: &Emitter<'_>) -> Result<(), StageError> {
        match self {
            Work::Sink { sink, .. } => sink.rollback(),
            // Already published downstream: the re-delivery may repeat it (at least once).
            _ => {
                em.metrics.event("rebalance");
                Ok(())
            }
        }
    }

    fn durable(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        match self {
            Work::Sink { sink, .. } => sink.sync(),
            _ => self.idle(em).and_then(|_| em.flush()),
        }?;
        em.metrics.durable_now();
        Ok(())
    }
}

/// The loop of a stage with inputs: take, work, and every interval make durable and commit.
/// `report` sees the work when it ends, failed or not (what a sink wrote, for the summary).
fn consume(
    sub: Box<dyn Subscriber>,
    mut work: Work,
    em: &mut Emitter<'_>,
    kafka: bool,
    report: impl FnOnce(&Work),
) -> Result<(), StageError> {
    let res = consume_loop(sub, &mut work, em, kafka);
    report(&work);
    res
}

fn consume_loop(
    mut sub: Box<dyn Subscriber>,
    work: &mut Work,
    em: &mut Emitter<'_>,
    kafka: bool,
) -> Result<(), StageError> {
    let interval = work.interval();
    let mut done: BTreeMap<(Arc<str>, i32), Position> = BTreeMap::new();
    let mut last_sync = Instant::now();
    // The gauges are first set at once, then every second.
    let mut last_gauge = Instant::now() - Duration::from_secs(1);
    let mut pending = false;
    loop {
        if kafka && em.stopping() {
            break;
        }
        let got = sub.recv(Duration::from_millis(100));
        if sub.take_revoked() {
            // Partitions moved: nothing taken since the last commit may be kept, or it would
            // be stored twice (here and by the partition's new owner).
            tracing::info!("partitions revoked: dropping what is not yet durable");
            work.rollback(em)?;
            done.clear();
            pending = false;
        }
        match got {
            Recv::Message(m) => {
                let mt = em.metrics;
                mt.records_in.inc();
                mt.bytes_in.inc_by(m.payload.byte_len() as u64);
                if let Payload::Block(c) = &m.payload {
                    mt.samples_in.inc_by(c.data.len() as u64);
                    mt.data_time(c.end_exclusive());
                }
                let pos = m.position.clone();
                work.take(m, em)?;
                if !sub.more_waiting() {
                    work.idle(em)?;
                }
                pending = true;
                if let Some(p) = pos {
                    done.insert((p.topic.clone(), p.partition), p);
                }
            }
            Recv::Idle => {}
            Recv::Closed => break,
            Recv::Bad(e, pos) => {
                em.metrics.error("bad_message");
                tracing::warn!("{e}");
                if let Some(p) = pos {
                    em.metrics.dropped("bad_message", 1);
                    done.insert((p.topic.clone(), p.partition), p);
                }
            }
        }
        // One clock read per message for both intervals.
        let now = Instant::now();
        if pending && now - last_sync >= interval {
            work.durable(em)?;
            commit(sub.as_mut(), &mut done);
            (pending, last_sync) = (false, Instant::now());
        }
        if now - last_gauge >= Duration::from_secs(1) {
            gauges(sub.as_ref(), em.metrics, kafka);
            pending |= work.tick(em)?;
            last_gauge = now;
        }
    }
    let resumable = kafka && em.stopping();
    work.finish(em, resumable)?;
    work.durable(em)?;
    commit(sub.as_mut(), &mut done);
    gauges(sub.as_ref(), em.metrics, kafka);
    Ok(())
}

fn commit(sub: &mut dyn Subscriber, done: &mut BTreeMap<(Arc<str>, i32), Position>) {
    if done.is_empty() {
        return;
    }
    let positions: Vec<Position> = done.values().cloned().collect();
    match sub.commit(&positions) {
        Ok(()) => done.clear(),
        // The data is durable; the commit is retried at the next interval, and what a crash
        // before then replays is deduplicated by idempotent sinks.
        Err(e) => tracing::warn!("offset commit failed, will retry: {e}"),
    }
}

fn gauges(sub: &dyn Subscriber, m: &StageMetrics, kafka: bool) {
    if let Some(b) = sub.backlog() {
        if kafka {
            m.consumer_lag.set(b as i64);
        } else {
            m.queue_depth.set(b as i64);
        }
    }
    if let Some(a) = sub.assigned() {
        m.assigned.set(a as i64);
    }
}
