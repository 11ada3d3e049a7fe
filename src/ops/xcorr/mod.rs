//! Ambient-noise cross-correlation with stacking, streaming.
//!
//! Blocks of any size and channel count come in; each channel fills windows of `cc_len_s`
//! starting on multiples of `step_s` since the epoch ([`window`]); when every channel has passed
//! a window's end (or the first has been past it for `wait_s`), each channel's window becomes
//! one conditioned spectrum ([`spectrum`], channels in parallel, computed once and shared by
//! all its pairs), and the pairs' cross-spectra are added to their stacks ([`correlate`], pairs
//! in parallel). Blocks of correlation functions ([`crate::model::CorrBlock`]) come out per
//! window (optional) and per stack period as the periods complete.
//!
//! Memory: per channel, one window plus one step of samples (more while waiting for a late
//! channel); per window, one spectrum per channel; per pair and stack period, one spectral sum
//! (`nfft/2 + 1` complex values), plus each window's `2K + 1` lags for phase-weighted and
//! robust stacks.
//!
//! Streaming equals batch: windows are cut by time, not by block, each window's arithmetic
//! is the same whatever blocks delivered it, and sums run in window order.

pub mod correlate;
pub mod gather;
pub mod pairs;
pub mod params;
pub mod spectrum;
pub mod stack;
pub mod stage;
pub mod window;

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

pub use correlate::{Correlator, WindowSpectra};
pub use params::XcorrConfig;
pub use spectrum::{Plan, Real, Reject};

use self::window::ChannelBuf;
use crate::model::{Chunk, CorrBlock, Nanos, SampleRate};
use crate::ops::ConfigError;

/// What the windows met, for counters and the closing summary.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Channel windows turned into spectra.
    pub windows: u64,
    /// Channel windows left out, by reason (`window_gaps`, `window_amplitude`, `window_flat`,
    /// `window_past_end`: windows the input stopped inside).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Samples that came after their windows were done.
    pub late_samples: u64,
    /// Blocks at another rate than the first (one rate per stage).
    pub rate_mismatch: u64,
}

/// Blocks to window spectra.
pub struct Windower<T: Real> {
    cfg: XcorrConfig,
    plan: Option<Arc<Plan<T>>>,
    rate: f64,
    /// Channel buffers, where each channel is in `chans` (by id), and the buffers in
    /// source-id order (the order of every window's channels).
    chans: Vec<ChannelBuf>,
    index: std::collections::HashMap<String, usize>,
    order: Vec<usize>,
    /// Index of the next window to finish: it starts at `next * step`.
    next: Option<i64>,
    step_ns: i64,
    len_ns: i64,
    wait_ns: i64,
    pub stats: Stats,
}

impl<T: Real> Windower<T> {
    pub fn new(cfg: &XcorrConfig) -> Result<Windower<T>, ConfigError> {
        cfg.validate()?;
        Correlator::<T>::check_periods(cfg)?;
        let len_ns = (cfg.cc_len_s * 1e9).round() as i64;
        Ok(Windower {
            cfg: cfg.clone(),
            plan: None,
            rate: 0.0,
            chans: Vec::new(),
            index: Default::default(),
            order: Vec::new(),
            next: None,
            step_ns: (cfg.step_s * 1e9).round() as i64,
            len_ns,
            wait_ns: cfg.wait_s.map_or(len_ns, |w| (w * 1e9).round() as i64),
            stats: Stats::default(),
        })
    }

    /// The plan, once the first block has given the rate.
    pub fn plan(&self) -> Option<&Arc<Plan<T>>> {
        self.plan.as_ref()
    }

    /// Takes a block; appends the windows it completes. A plan error (the rate does not
    /// suit the parameters) is returned once, with the block dropped.
    pub fn push(&mut self, c: &Chunk, out: &mut Vec<WindowSpectra<T>>) -> Result<(), ConfigError> {
        if c.n_samples() == 0 {
            return Ok(());
        }
        if self.plan.is_none() {
            self.plan = Some(Arc::new(Plan::new(&self.cfg, c.rate.hz())?));
            self.rate = c.rate.hz();
        }
        if !SampleRate(self.rate).tolerably_equal(c.rate) {
            self.stats.rate_mismatch += 1;
            return Ok(());
        }
        // The first window is the first to start at or after the first sample.
        let step = self.step_ns;
        let next = *self
            .next
            .get_or_insert_with(|| -(-c.start).div_euclid(step));
        let open_from = next * self.step_ns;
        let late = c.end_exclusive() <= open_from;
        let mut owned = Vec::new();
        for (meta, row) in c.channels.iter().zip(c.data.rows()) {
            if late {
                self.stats.late_samples += row.len() as u64;
                continue;
            }
            let id = meta.source_id.as_str();
            let k = match self.index.get(id) {
                Some(&k) => k,
                None => {
                    self.chans
                        .push(ChannelBuf::new(meta.clone(), self.rate, c.start));
                    self.index.insert(id.to_string(), self.chans.len() - 1);
                    let chans = &self.chans;
                    self.order = (0..chans.len()).collect();
                    self.order.sort_by(|&a, &b| {
                        chans[a]
                            .meta
                            .source_id
                            .as_str()
                            .cmp(chans[b].meta.source_id.as_str())
                    });
                    self.chans.len() - 1
                }
            };
            let buf = &mut self.chans[k];
            let row: &[f32] = match row.as_slice() {
                Some(r) => r,
                None => {
                    owned.clear();
                    owned.extend(row.iter().copied());
                    &owned
                }
            };
            buf.push(c.start, row);
        }
        self.finish_ready(out, false);
        Ok(())
    }

    fn finish_ready(&mut self, out: &mut Vec<WindowSpectra<T>>, all: bool) {
        let Some(plan) = self.plan.clone() else {
            return;
        };
        loop {
            let Some(k) = self.next else { return };
            let t = k * self.step_ns;
            let end = t + self.len_ns;
            let latest = self.chans.iter().map(ChannelBuf::end).max().unwrap_or(t);
            let oldest = self
                .chans
                .iter()
                .map(ChannelBuf::first_time)
                .min()
                .unwrap_or(t);
            if latest <= t {
                return;
            }
            if oldest >= end {
                // Nothing of this window was ever held (a gap in every channel): skip it.
                self.next = Some(k + 1);
                continue;
            }
            if all && end > latest {
                // The data ended inside this window: no channel can complete it (nor any
                // later one). Said as such, not as gaps.
                *self.stats.rejected.entry("window_past_end").or_default() +=
                    self.chans.len() as u64;
                self.next = Some(k + 1);
                continue;
            }
            let known = self.chans.len() >= self.cfg.channels.unwrap_or(0);
            let ready = all
                || latest >= end + self.wait_ns
                || (known && self.chans.iter().all(|b| b.covers(t, plan.npts)));
            if !ready {
                return;
            }
            out.push(self.window(&plan, t));
            let next_start = t + self.step_ns;
            for b in self.chans.iter_mut() {
                b.drop_before(next_start);
            }
            self.next = Some(k + 1);
        }
    }

    fn window(&mut self, plan: &Plan<T>, t: Nanos) -> WindowSpectra<T> {
        let bufs: Vec<&ChannelBuf> = self.order.iter().map(|&k| &self.chans[k]).collect();
        let results: Vec<Result<spectrum::ChannelSpectrum<T>, Reject>> = bufs
            .par_iter()
            .map_init(
                || (plan.scratch(), Vec::new()),
                |(s, x), b| {
                    let cut = b.cut(t, plan.npts, x);
                    plan.spectrum(x, cut.missing, cut.offset_ns, s)
                },
            )
            .collect();
        let channels = bufs.iter().map(|b| b.meta.clone()).collect();
        let spectra = results
            .into_iter()
            .map(|r| match r {
                Ok(s) => {
                    self.stats.windows += 1;
                    Some(s)
                }
                Err(e) => {
                    *self.stats.rejected.entry(e.reason()).or_default() += 1;
                    None
                }
            })
            .collect();
        WindowSpectra {
            start: t,
            channels,
            spectra,
        }
    }

    /// End of input: every window that has started, with whatever it holds.
    pub fn finish(&mut self, out: &mut Vec<WindowSpectra<T>>) {
        self.finish_ready(out, true);
    }

    /// Samples held in the channel buffers.
    pub fn held_samples(&self) -> usize {
        self.chans.iter().map(ChannelBuf::held).sum()
    }
}

/// The whole operator in one process: blocks in, correlation blocks out.
pub struct Xcorr<T: Real> {
    pub windower: Windower<T>,
    correlator: Option<Correlator<T>>,
    stream: String,
    windows: Vec<WindowSpectra<T>>,
}

impl<T: Real> Xcorr<T> {
    /// `stream` names the product (the Kafka key and the sink's group).
    pub fn new(cfg: &XcorrConfig, stream: &str) -> Result<Xcorr<T>, ConfigError> {
        Ok(Xcorr {
            windower: Windower::new(cfg)?,
            correlator: None,
            stream: stream.to_string(),
            windows: Vec::new(),
        })
    }

    pub fn push(&mut self, c: &Chunk, out: &mut Vec<CorrBlock>) -> Result<(), ConfigError> {
        self.windower.push(c, &mut self.windows)?;
        self.drain(out);
        Ok(())
    }

    fn drain(&mut self, out: &mut Vec<CorrBlock>) {
        if self.windows.is_empty() {
            return;
        }
        let Some(plan) = self.windower.plan().cloned() else {
            return;
        };
        let cfg = &self.windower.cfg;
        let corr = self
            .correlator
            .get_or_insert_with(|| Correlator::new(cfg, plan, &self.stream));
        for w in self.windows.drain(..) {
            corr.add(&w, out);
        }
    }

    pub fn finish(&mut self, out: &mut Vec<CorrBlock>) {
        self.windower.finish(&mut self.windows);
        self.drain(out);
        if let Some(c) = self.correlator.as_mut() {
            c.finish(out);
        }
    }

    /// Pair-windows correlated so far.
    pub fn pair_windows(&self) -> u64 {
        self.correlator.as_ref().map_or(0, |c| c.pair_windows)
    }
}
