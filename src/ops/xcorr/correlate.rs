//! Window spectra to pair correlations and their stacks.
//!
//! Each pair keeps, per stack period, the sum of its window cross-spectra (linear stacks: one
//! inverse transform per period) and, where a phase-weighted or robust stack or per-window
//! output is asked for, each window's correlation. Periods nest (each a multiple of the next
//! shorter): a closed period's spectral sum is added into the next longer one, so every window
//! is multiplied once whatever the number of periods. Pairs run in parallel, each pair's sums
//! in window order, so the result does not depend on the thread count or on the blocks the
//! data arrived in.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::Array2;
use num_complex::Complex;
use rayon::prelude::*;

use super::pairs::{self, PairIdx};
use super::params::{StackMethod, XcorrConfig};
use super::spectrum::{cross_into, ChannelSpectrum, Plan, Real};
use super::stack;
use crate::model::{ChannelMeta, CorrBlock, Nanos, Pair, SourceId};

/// One window's spectra of every channel that delivered it (None: rejected or absent).
#[derive(Debug, Clone)]
pub struct WindowSpectra<T> {
    pub start: Nanos,
    pub channels: Vec<ChannelMeta>,
    pub spectra: Vec<Option<ChannelSpectrum<T>>>,
}

/// One stack period's sums for one pair (the cross-spectrum over the plan's support).
struct PeriodAcc<T> {
    spec: Vec<Complex<T>>,
    rows: Vec<Vec<f32>>,
    windows: u32,
}

struct PairState<T> {
    pair: Pair,
    periods: Vec<PeriodAcc<T>>,
}

struct Period {
    name: String,
    len_ns: i64,
    current: Option<i64>,
}

/// A closed period of one pair: its state index, one row per stack method, windows.
type Closed = (usize, Vec<(StackMethod, Vec<f32>)>, u32);

/// Frequency bins per tile: a tile of the source's and receiver's spectra stays in cache
/// while a task's pairs go over it.
const TILE: usize = 2048;
/// Pairs per parallel task.
const PAIRS_PER_TASK: usize = 16;

pub struct Correlator<T: Real> {
    cfg: XcorrConfig,
    plan: Arc<Plan<T>>,
    stream: String,
    parameters: Arc<str>,
    periods: Vec<Period>,
    pairs: Vec<PairState<T>>,
    index: HashMap<(SourceId, SourceId), usize>,
    /// Channels seen so far, in source-id order, and the pairs among them.
    channels: Vec<ChannelMeta>,
    selected: Vec<PairIdx>,
    nonlinear: bool,
    /// Pair-windows correlated (for the benches and the summary).
    pub pair_windows: u64,
}

impl<T: Real> Correlator<T> {
    pub fn new(cfg: &XcorrConfig, plan: Arc<Plan<T>>, stream: &str) -> Correlator<T> {
        let mut periods: Vec<Period> = cfg
            .substacks
            .iter()
            .filter_map(|p| {
                Some(Period {
                    name: p.clone(),
                    len_ns: super::params::parse_period(p)?,
                    current: None,
                })
            })
            .collect();
        periods.sort_by_key(|p| p.len_ns);
        let nonlinear = cfg.stack.iter().any(|m| *m != StackMethod::Linear);
        let mut params = serde_json::to_value(cfg).unwrap_or_default();
        if let Some(o) = params.as_object_mut() {
            o.insert("sampling_rate_hz".into(), plan.rate.into());
            o.insert("nfft".into(), plan.nfft.into());
            o.insert("npts".into(), plan.npts.into());
            o.insert("max_lag_samples".into(), plan.max_lag.into());
            o.insert(
                "lag_convention".into(),
                "positive lag: the receiver's signal arrives later than the source's".into(),
            );
        }
        Correlator {
            cfg: cfg.clone(),
            plan,
            stream: stream.to_string(),
            parameters: params.to_string().into(),
            periods,
            pairs: Vec::new(),
            index: HashMap::new(),
            channels: Vec::new(),
            selected: Vec::new(),
            nonlinear,
            pair_windows: 0,
        }
    }

    pub fn plan(&self) -> &Plan<T> {
        &self.plan
    }

    /// Stack periods must nest so that a closed period's sum can feed the next.
    pub fn check_periods(cfg: &XcorrConfig) -> Result<(), crate::ops::ConfigError> {
        let mut lens: Vec<i64> = cfg
            .substacks
            .iter()
            .filter_map(|p| super::params::parse_period(p))
            .collect();
        lens.sort();
        for w in lens.windows(2) {
            if w[1] % w[0] != 0 {
                return Err(crate::ops::ConfigError::invalid(
                    "substacks",
                    "each period must be a whole multiple of the next shorter one (1h within 1d)",
                ));
            }
        }
        Ok(())
    }

    fn learn_channels(&mut self, w: &WindowSpectra<T>) {
        let mut grew = false;
        for c in &w.channels {
            if let Err(at) = self
                .channels
                .binary_search_by(|k| k.source_id.as_str().cmp(c.source_id.as_str()))
            {
                self.channels.insert(at, c.clone());
                grew = true;
            }
        }
        if !grew {
            return;
        }
        self.selected = pairs::select(&self.cfg, &self.channels);
        for p in &self.selected {
            let key = (p.pair.source.clone(), p.pair.receiver.clone());
            if !self.index.contains_key(&key) {
                self.index.insert(key, self.pairs.len());
                self.pairs.push(PairState {
                    pair: p.pair.clone(),
                    periods: (0..self.periods.len())
                        .map(|_| PeriodAcc {
                            spec: Vec::new(),
                            rows: Vec::new(),
                            windows: 0,
                        })
                        .collect(),
                });
            }
        }
    }

    /// Adds one window; appends the blocks it completes (per-window output, closed periods).
    pub fn add(&mut self, w: &WindowSpectra<T>, out: &mut Vec<CorrBlock>) {
        // Periods the window is past are complete.
        for level in 0..self.periods.len() {
            let p = w.start.div_euclid(self.periods[level].len_ns);
            match self.periods[level].current {
                Some(c) if c != p => {
                    self.close(level, out);
                    self.periods[level].current = Some(p);
                }
                None => self.periods[level].current = Some(p),
                _ => {}
            }
        }
        self.learn_channels(w);
        let at: HashMap<&str, usize> = w
            .channels
            .iter()
            .enumerate()
            .filter(|(i, _)| w.spectra[*i].is_some())
            .map(|(i, c)| (c.source_id.as_str(), i))
            .collect();
        // (pair state, source spectrum, receiver spectrum) for the pairs this window has.
        let mut work: Vec<(usize, usize, usize)> = self
            .selected
            .iter()
            .filter_map(|p| {
                let s = *at.get(p.pair.source.as_str())?;
                let r = *at.get(p.pair.receiver.as_str())?;
                let k = self.index[&(p.pair.source.clone(), p.pair.receiver.clone())];
                Some((k, s, r))
            })
            .collect();
        work.sort_unstable();
        if work.is_empty() {
            return;
        }
        self.pair_windows += work.len() as u64;
        let plan = &*self.plan;
        let support = plan.support.clone();
        let nfreq = support.len();
        let n_lags = plan.n_lags();
        let keep_rows = self.nonlinear;
        let per_window = self.cfg.per_window;
        let need_time = keep_rows || per_window;
        // The pair states this window feeds, with their spectra (`work` is sorted by state).
        let mut states: Vec<(usize, &mut PairState<T>, usize, usize)> =
            Vec::with_capacity(work.len());
        {
            let mut it = work.iter().peekable();
            for (k, st) in self.pairs.iter_mut().enumerate() {
                if let Some(&&(wk, s, r)) = it.peek() {
                    if wk == k {
                        states.push((k, st, s, r));
                        it.next();
                    }
                }
            }
        }
        let spectra = &w.spectra;
        let rows: Vec<(usize, Vec<f32>)> = states
            .par_chunks_mut(PAIRS_PER_TASK)
            .flat_map_iter(|task| {
                let mut tmp: Vec<Vec<Complex<T>>> = Vec::new();
                if need_time {
                    tmp = task
                        .iter()
                        .map(|_| vec![Complex::default(); nfreq])
                        .collect();
                }
                for (_, st, _, _) in task.iter_mut() {
                    if let Some(p0) = st.periods.first_mut() {
                        if p0.spec.len() != nfreq {
                            p0.spec = vec![Complex::default(); nfreq];
                        }
                    }
                }
                let mut lo = support.start;
                while lo < support.end {
                    let hi = (lo + TILE).min(support.end);
                    for (i, (_, st, s, r)) in task.iter_mut().enumerate() {
                        let (Some(src), Some(rcv)) = (&spectra[*s], &spectra[*r]) else {
                            continue;
                        };
                        let acc: &mut [Complex<T>] = if need_time {
                            &mut tmp[i]
                        } else {
                            &mut st.periods[0].spec
                        };
                        cross_into(src, rcv, acc, support.start, lo..hi);
                    }
                    lo = hi;
                }
                let mut out = Vec::new();
                let (mut buf, mut time) = (Vec::new(), Vec::new());
                for (i, (k, st, s, r)) in task.iter_mut().enumerate() {
                    for p in st.periods.iter_mut() {
                        p.windows += 1;
                    }
                    if !need_time {
                        continue;
                    }
                    let mut row = vec![0.0f32; n_lags];
                    plan.to_lags(&tmp[i], 1, s == r, &mut buf, &mut time, &mut row);
                    if let Some(p0) = st.periods.first_mut() {
                        for (a, t) in p0.spec.iter_mut().zip(&tmp[i]) {
                            *a = *a + *t;
                        }
                    }
                    if keep_rows {
                        for p in st.periods.iter_mut() {
                            p.rows.push(row.clone());
                        }
                    }
                    if per_window {
                        out.push((*k, row));
                    }
                }
                out
            })
            .collect();
        if per_window && !rows.is_empty() {
            let mut data = Array2::zeros((rows.len(), n_lags));
            let mut pairs = Vec::with_capacity(rows.len());
            for (i, (k, row)) in rows.iter().enumerate() {
                data.row_mut(i)
                    .iter_mut()
                    .zip(row)
                    .for_each(|(d, v)| *d = *v);
                pairs.push(self.pairs[*k].pair.clone());
            }
            out.push(self.block(
                "window",
                "window",
                w.start,
                (self.cfg.cc_len_s * 1e9) as i64,
                pairs,
                vec![1; rows.len()],
                data,
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        method: &str,
        period: &str,
        start: Nanos,
        length_ns: i64,
        pairs: Vec<Pair>,
        windows: Vec<u32>,
        data: Array2<f32>,
    ) -> CorrBlock {
        CorrBlock {
            stream: self.stream.clone(),
            method: method.into(),
            period: period.into(),
            start,
            length_ns,
            rate: self.plan.rate,
            max_lag: self.plan.max_lag,
            pairs,
            windows,
            data,
            parameters: self.parameters.clone(),
        }
    }

    /// Emits the stacks of period `level` and passes its spectral sums to the next level.
    fn close(&mut self, level: usize, out: &mut Vec<CorrBlock>) {
        let Some(current) = self.periods[level].current else {
            return;
        };
        let (name, len) = (self.periods[level].name.clone(), self.periods[level].len_ns);
        let plan = self.plan.clone();
        let n_lags = plan.n_lags();
        let nfreq = plan.support.len();
        let cfg = &self.cfg;
        let has_next = level + 1 < self.periods.len();
        let results: Vec<Closed> = self
            .pairs
            .par_iter_mut()
            .enumerate()
            .filter(|(_, st)| st.periods[level].windows > 0)
            .map_init(
                || (Vec::new(), Vec::new()),
                |(buf, time), (k, st)| {
                    let same = st.pair.source == st.pair.receiver;
                    let n = st.periods[level].windows;
                    let mut stacks = Vec::new();
                    for &m in &cfg.stack {
                        let acc = &st.periods[level];
                        let row = match m {
                            StackMethod::Linear => {
                                let mut row = vec![0.0f32; n_lags];
                                plan.to_lags(&acc.spec, n, same, buf, time, &mut row);
                                row
                            }
                            StackMethod::Pws => {
                                let r: Vec<&[f32]> = acc.rows.iter().map(|r| &r[..]).collect();
                                stack::pws(&r, cfg.pws_power)
                            }
                            StackMethod::Robust => {
                                let r: Vec<&[f32]> = acc.rows.iter().map(|r| &r[..]).collect();
                                stack::robust(&r, cfg.robust_epsilon)
                            }
                        };
                        stacks.push((m, row));
                    }
                    if has_next {
                        let (a, b) = st.periods.split_at_mut(level + 1);
                        let next = &mut b[0];
                        if next.spec.len() != nfreq {
                            next.spec = vec![Complex::default(); nfreq];
                        }
                        for (x, y) in next.spec.iter_mut().zip(&a[level].spec) {
                            *x = *x + *y;
                        }
                    }
                    let acc = &mut st.periods[level];
                    acc.spec.iter_mut().for_each(|c| *c = Complex::default());
                    acc.rows.clear();
                    acc.windows = 0;
                    (k, stacks, n)
                },
            )
            .collect();
        self.periods[level].current = None;
        if results.is_empty() {
            return;
        }
        let pairs: Vec<Pair> = results
            .iter()
            .map(|(k, _, _)| self.pairs[*k].pair.clone())
            .collect();
        let windows: Vec<u32> = results.iter().map(|(_, _, n)| *n).collect();
        for (mi, m) in cfg.stack.iter().enumerate() {
            let mut data = Array2::zeros((results.len(), n_lags));
            for (i, (_, stacks, _)) in results.iter().enumerate() {
                data.row_mut(i)
                    .iter_mut()
                    .zip(&stacks[mi].1)
                    .for_each(|(d, v)| *d = *v);
            }
            out.push(self.block(
                m.name(),
                &name,
                current * len,
                len,
                pairs.clone(),
                windows.clone(),
                data,
            ));
        }
    }

    /// End of input: every open period, shortest first (each feeds the next).
    pub fn finish(&mut self, out: &mut Vec<CorrBlock>) {
        for level in 0..self.periods.len() {
            self.close(level, out);
        }
    }

    /// Bytes held by the sums (for the memory statement).
    pub fn held_bytes(&self) -> usize {
        self.pairs
            .iter()
            .flat_map(|p| &p.periods)
            .map(|a| {
                a.spec.len() * std::mem::size_of::<Complex<T>>()
                    + a.rows.iter().map(|r| r.len() * 4).sum::<usize>()
            })
            .sum()
    }
}
