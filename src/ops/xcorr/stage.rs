//! The `xcorr` stage (sample blocks or window spectra in, correlation blocks out) and the
//! `xcorr_spectra` stage (sample blocks in, window spectra out): together, a correlation split
//! across processes, the spectra of each window computed once and every `xcorr` instance
//! correlating its share of the pairs.

use std::sync::Arc;

use serde::Deserialize;

use super::gather::{to_block, Gatherer};
use super::params::{Mode, Precision, XcorrConfig};
use super::{Correlator, Plan, Real, Stats, Windower, Xcorr};
use crate::bus::{DataKind, Message, Payload};
use crate::model::{Chunk, CorrBlock, SpectraBlock};
use crate::ops::ConfigError;
use crate::pipeline::component::{
    key_error, BuildContext, Component, KeyError, Role, StageType, Transform, Work,
};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need, CHUNK_OVERHEAD};

impl StageType for XcorrConfig {
    const NAME: &'static str = "xcorr";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "ambient-noise cross-correlation of channel pairs, per window and stacked per period";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Samples, DataKind::Spectra];
    const EMITS: Option<DataKind> = Some(DataKind::Correlations);
}

/// The first half of a split `xcorr`: the same keys (those that shape the spectra matter).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct XcorrSpectraConfig(pub XcorrConfig);

impl StageType for XcorrSpectraConfig {
    const NAME: &'static str = "xcorr_spectra";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "the window spectra of every channel, once, for xcorr instances elsewhere (a split xcorr)";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Samples];
    const EMITS: Option<DataKind> = Some(DataKind::Spectra);
}

impl Component for XcorrSpectraConfig {
    fn check(&self, stage: &str) -> Result<(), KeyError> {
        if self.0.precision != Precision::F32 {
            return Err((
                Some("precision".into()),
                "spectra travel as float32: precision = \"f32\"".into(),
            ));
        }
        Xcorr::<f32>::new(&self.0, stage)
            .map(drop)
            .map_err(key_error)
    }

    fn memory(&self, input: &Flow) -> Need {
        let n = input.all_channels();
        let rate = input.rate_hz.max(1.0);
        let nfreq = ((self.0.cc_len_s + self.0.maxlag_s) * rate / 2.0 + 1.0) as u64;
        let buffers = self.0.buffer_bytes(n, rate);
        let out = Flow {
            message_bytes: nfreq * 12 + CHUNK_OVERHEAD,
            streams: n,
            channels: 1,
            rate_hz: rate,
        };
        Need::new(
            buffers + n * nfreq * 8,
            format!("{n} ch windows and one window's spectra of {nfreq} bins"),
            out,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let w = Windower::<f32>::new(&self.0)
            .map_err(|e| StageError::Other(format!("{}: {e}", ctx.stage)))?;
        Ok(Work::Transform(Box::new(SpectraStage {
            stage: ctx.stage.to_string(),
            parameters: self.0.spectral_keys().into(),
            windower: w,
            windows: Vec::new(),
            reported: Stats::default(),
        })))
    }
}

impl XcorrConfig {
    /// Channel buffers: one window, one step and the wait for late channels, with validity.
    fn buffer_bytes(&self, channels: u64, rate: f64) -> u64 {
        let secs = self.cc_len_s + self.step_s + self.wait_s.unwrap_or(self.cc_len_s);
        channels * (secs * rate) as u64 * 5
    }

    fn pairs_for(&self, n: u64) -> u64 {
        let auto = u64::from(self.autocorr);
        let share = |p: u64| p.div_ceil(self.instances as u64);
        share(match self.mode {
            Mode::All => n * n.saturating_sub(1) / 2 + auto * n,
            Mode::Sources => self.sources.len() as u64 * n,
            Mode::List => self.pairs.len() as u64,
        })
    }
}

impl Component for XcorrConfig {
    fn check(&self, stage: &str) -> Result<(), KeyError> {
        Xcorr::<f32>::new(self, stage).map(drop).map_err(key_error)
    }

    fn memory(&self, input: &Flow) -> Need {
        let n = input.all_channels();
        let rate = input.rate_hz.max(1.0);
        let npts = self.cc_len_s * rate;
        let maxlag = self.maxlag_s * rate;
        let nfreq = ((npts + maxlag) / 2.0 + 1.0) as u64;
        let cplx = match self.precision {
            Precision::F32 => 8,
            Precision::F64 => 16,
        };
        let pairs = self.pairs_for(n);
        let periods = self.substacks.len().max(1) as u64;
        let buffers = n
            * ((self.cc_len_s + self.step_s + self.wait_s.unwrap_or(self.cc_len_s)) * rate) as u64
            * 5;
        let spectra = n * nfreq * cplx;
        let sums = pairs * periods * nfreq * cplx;
        let lags = (2.0 * maxlag + 1.0) as u64 * 4;
        let windows_per_period = self
            .substacks
            .iter()
            .filter_map(|p| super::params::parse_period(p))
            .map(|ns| (ns as f64 / 1e9 / self.step_s).ceil() as u64)
            .sum::<u64>();
        let rows = if self
            .stack
            .iter()
            .any(|m| *m != super::params::StackMethod::Linear)
        {
            pairs * windows_per_period * lags
        } else {
            0
        };
        let out_block = pairs * lags + CHUNK_OVERHEAD;
        let out = Flow {
            message_bytes: out_block,
            streams: 1,
            channels: pairs,
            rate_hz: rate,
        };
        Need::new(
            buffers + spectra + sums + rows + out_block,
            format!(
                "{n} ch windows and spectra, {pairs} pairs x {periods} period sums of {nfreq} bins{}",
                if rows > 0 { " + window rows" } else { "" }
            ),
            out,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        // Fails here, before anything runs, as `check` does.
        Xcorr::<f32>::new(self, ctx.stage)
            .map_err(|e| StageError::Other(format!("{}: {e}", ctx.stage)))?;
        Ok(Work::Transform(Box::new(XcorrStage {
            stage: ctx.stage.to_string(),
            cfg: self.clone(),
            engine: None,
            out: Vec::new(),
            reported: Stats::default(),
            failed: false,
        })))
    }
}

/// What an `xcorr` stage runs: the whole correlation from sample blocks ([`Xcorr`], either
/// precision), or its second half from window spectra ([`FromSpectra`]).
trait Engine: Send {
    fn push(&mut self, m: &Payload, out: &mut Vec<CorrBlock>) -> Result<(), ConfigError>;
    fn finish(&mut self, out: &mut Vec<CorrBlock>);
    fn stats(&self) -> Stats;
    fn pair_windows(&self) -> u64;
}

fn mixed() -> ConfigError {
    ConfigError::invalid(
        "inputs",
        "sample blocks and window spectra into one xcorr stage: give it one kind",
    )
}

impl<T: Real> Engine for Xcorr<T> {
    fn push(&mut self, m: &Payload, out: &mut Vec<CorrBlock>) -> Result<(), ConfigError> {
        match m {
            Payload::Block(c) => Xcorr::push(self, c, out),
            _ => Err(mixed()),
        }
    }
    fn finish(&mut self, out: &mut Vec<CorrBlock>) {
        Xcorr::finish(self, out)
    }
    fn stats(&self) -> Stats {
        self.windower.stats.clone()
    }
    fn pair_windows(&self) -> u64 {
        Xcorr::pair_windows(self)
    }
}

/// The second half of a split correlation: gathered window spectra into the correlator.
struct FromSpectra {
    cfg: XcorrConfig,
    stream: String,
    keys: String,
    gatherer: Gatherer,
    correlator: Option<Correlator<f32>>,
    windows: Vec<super::WindowSpectra<f32>>,
    stats: Stats,
}

impl FromSpectra {
    /// Every block must fit this stage's plan (made from the first one): keys, sizes, rows.
    fn check(&mut self, b: &SpectraBlock) -> Result<(), ConfigError> {
        let rows_fit = b.spectra.iter().flatten().all(|s| s.len() == b.bins)
            && b.scales.iter().flatten().all(|s| s.len() == b.bins)
            && b.spectra.len() == b.channels.len()
            && b.scales.len() == b.channels.len();
        if !rows_fit {
            return Err(ConfigError::invalid(
                "inputs",
                format!("a spectra message whose rows are not {} bins long", b.bins),
            ));
        }
        if let Some(c) = &self.correlator {
            let p = c.plan();
            if (p.npts, p.nfft, p.support.start, p.support.len())
                == (b.npts, b.nfft, b.first_bin, b.bins)
            {
                return Ok(());
            }
        }
        if *b.parameters != *self.keys {
            return Err(ConfigError::invalid(
                "inputs",
                format!(
                    "the spectra were made with other keys than this stage's: {} (theirs) vs {} (ours)",
                    b.parameters, self.keys
                ),
            ));
        }
        let plan = Plan::<f32>::new(&self.cfg, b.rate)?;
        let ours = (plan.npts, plan.nfft, plan.support.start, plan.support.len());
        if ours != (b.npts, b.nfft, b.first_bin, b.bins) {
            return Err(ConfigError::invalid(
                "inputs",
                format!(
                    "spectra of {} points ({}-point windows, bins {}+{}), this stage expects {:?}",
                    b.nfft, b.npts, b.first_bin, b.bins, ours
                ),
            ));
        }
        self.correlator = Some(Correlator::new(&self.cfg, Arc::new(plan), &self.stream));
        Ok(())
    }

    fn drain(&mut self, out: &mut Vec<CorrBlock>) {
        if let Some(c) = self.correlator.as_mut() {
            for w in self.windows.drain(..) {
                for s in &w.spectra {
                    match s {
                        Some(_) => self.stats.windows += 1,
                        None => {
                            *self
                                .stats
                                .rejected
                                .entry("window_rejected_upstream")
                                .or_default() += 1
                        }
                    }
                }
                c.add(&w, out);
            }
        }
        self.stats.late_samples = self.gatherer.late;
    }
}

impl Engine for FromSpectra {
    fn push(&mut self, m: &Payload, out: &mut Vec<CorrBlock>) -> Result<(), ConfigError> {
        let Payload::Spectra(b) = m else {
            return Err(mixed());
        };
        self.check(b)?;
        self.gatherer.push(b, &mut self.windows);
        self.drain(out);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<CorrBlock>) {
        self.gatherer.finish(&mut self.windows);
        self.drain(out);
        if let Some(c) = self.correlator.as_mut() {
            c.finish(out);
        }
    }
    fn stats(&self) -> Stats {
        self.stats.clone()
    }
    fn pair_windows(&self) -> u64 {
        self.correlator.as_ref().map_or(0, |c| c.pair_windows)
    }
}

impl XcorrStage {
    /// The engine for the first message's kind.
    fn engine_for(&mut self, m: &Payload) -> Result<&mut Box<dyn Engine>, ConfigError> {
        if self.engine.is_none() {
            let cfg = &self.cfg;
            let e: Box<dyn Engine> = match (m, cfg.precision) {
                (Payload::Spectra(_), Precision::F32) => Box::new(FromSpectra {
                    cfg: cfg.clone(),
                    stream: self.stage.clone(),
                    keys: cfg.spectral_keys(),
                    gatherer: Gatherer::new(
                        (cfg.wait_s.unwrap_or(cfg.cc_len_s) * 1e9).round() as i64,
                        cfg.channels.unwrap_or(0),
                    ),
                    correlator: None,
                    windows: Vec::new(),
                    stats: Stats::default(),
                }),
                (Payload::Spectra(_), Precision::F64) => {
                    return Err(ConfigError::invalid(
                        "precision",
                        "window spectra travel as float32: precision = \"f32\"",
                    ))
                }
                (_, Precision::F32) => Box::new(Xcorr::<f32>::new(cfg, &self.stage)?),
                (_, Precision::F64) => Box::new(Xcorr::<f64>::new(cfg, &self.stage)?),
            };
            self.engine = Some(e);
        }
        Ok(self.engine.as_mut().expect("set above"))
    }
}

struct XcorrStage {
    stage: String,
    cfg: XcorrConfig,
    engine: Option<Box<dyn Engine>>,
    out: Vec<CorrBlock>,
    /// What the counters already say (they are counted as differences).
    reported: Stats,
    failed: bool,
}

impl XcorrStage {
    fn pass_on(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let s = self.engine.as_ref().map(|e| e.stats()).unwrap_or_default();
        count_stats(&self.stage, &s, &self.reported, em);
        self.reported = s;
        for b in self.out.drain(..) {
            let key = b.stream.clone();
            em.emit(&key, Payload::Correlations(b.into()))?;
        }
        Ok(())
    }
}

/// Counts what is new in `s` since `before` (rejected windows by reason, late samples, rate
/// mismatches), with a warning the first time samples come late or at another rate.
fn count_stats(stage: &str, s: &Stats, before: &Stats, em: &mut Emitter<'_>) {
    {
        for (reason, &n) in &s.rejected {
            let was = before.rejected.get(reason).copied().unwrap_or(0);
            if n > was {
                em.metrics.dropped(reason, n - was);
            }
        }
        if s.late_samples > before.late_samples {
            if before.late_samples == 0 {
                tracing::warn!(stage = %stage,
                    "samples arrived after their windows were correlated and are dropped: xcorr needs its channels in time order (live feeds are; replay files with speed = \"realtime\" and a large speedup, which interleaves them by time), or a larger wait_s");
            }
            em.metrics
                .dropped("late_samples", s.late_samples - before.late_samples);
        }
        if s.rate_mismatch > before.rate_mismatch {
            if before.rate_mismatch == 0 {
                tracing::error!(stage = %stage,
                    "blocks at a rate other than the first block's are dropped: one rate per xcorr stage (decimate first)");
            }
            em.metrics
                .dropped("rate_mismatch", s.rate_mismatch - before.rate_mismatch);
        }
    }
}

impl Transform for XcorrStage {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        if matches!(m.payload, Payload::Record(_) | Payload::Correlations(_)) {
            em.wrong_kind(&m.key, &m.payload);
            return Ok(());
        }
        let mut out = std::mem::take(&mut self.out);
        let pushed = self
            .engine_for(&m.payload)
            .and_then(|e| e.push(&m.payload, &mut out));
        self.out = out;
        if let Err(e) = pushed {
            // The input does not suit the parameters (the rate, the spectra's keys): nothing
            // can be computed from it. Said once, counted always.
            if !self.failed {
                tracing::error!(stage = %self.stage, stream = %m.key, "{e}");
                self.failed = true;
            }
            em.metrics.dropped("unusable_input", 1);
            return Ok(());
        }
        self.pass_on(em)
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Some(engine) = self.engine.as_mut() else {
            return Ok(());
        };
        engine.finish(&mut self.out);
        let s = engine.stats();
        let rejected: u64 = s.rejected.values().sum();
        let why: Vec<String> = s.rejected.iter().map(|(k, v)| format!("{v} {k}")).collect();
        tracing::info!(stage = %self.stage, windows = s.windows, rejected,
            pair_windows = engine.pair_windows(),
            "{} channel windows correlated, {rejected} left out{}",
            s.windows,
            if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) });
        self.pass_on(em)
    }
}

/// `xcorr_spectra` running: blocks in, one message per channel and window out.
struct SpectraStage {
    stage: String,
    parameters: Arc<str>,
    windower: Windower<f32>,
    windows: Vec<super::WindowSpectra<f32>>,
    reported: Stats,
}

impl SpectraStage {
    fn pass_on(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let s = self.windower.stats.clone();
        count_stats(&self.stage, &s, &self.reported, em);
        self.reported = s;
        let Some(plan) = self.windower.plan().cloned() else {
            return Ok(());
        };
        for w in self.windows.drain(..) {
            for k in 0..w.channels.len() {
                let b = to_block(&self.stage, &w, k, &plan, &self.parameters);
                let key = w.channels[k].source_id.to_string();
                em.emit(&key, Payload::Spectra(b.into()))?;
            }
        }
        Ok(())
    }
}

impl Transform for SpectraStage {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Payload::Block(c) = &m.payload else {
            em.wrong_kind(&m.key, &m.payload);
            return Ok(());
        };
        let c: &Chunk = c;
        if let Err(e) = self.windower.push(c, &mut self.windows) {
            tracing::error!(stage = %self.stage, stream = %c.stream, rate = c.rate.hz(), "{e}");
            em.metrics.dropped("unusable_input", 1);
            return Ok(());
        }
        self.pass_on(em)
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        self.windower.finish(&mut self.windows);
        self.pass_on(em)
    }
}
