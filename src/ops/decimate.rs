//! `decimate`: anti-alias filtering and down-sampling by an integer factor, with linear phase
//! and the filter delay removed.
//!
//! The factor is split into a cascade of stages ([`crate::dsp::cascade`]); each stage is a
//! polyphase FIR that only computes the samples it keeps ([`crate::dsp::dot`]). The taps are
//! centred (length `2 K m + 1`), so output `j` is aligned with input `j * m` exactly: phases are
//! preserved and timestamps need no correction. Before the first sample and after the last one
//! of a segment the signal is taken as zero (as `scipy.signal.upfirdn` does), and a segment of
//! `n` samples gives `ceil(n / factor)` outputs, covering the same time span. By default the
//! outputs are put on the epoch grid of the output rate ([`Align::Epoch`]).

use super::config::{default_max_gap, gap_policy, per_channel_state, Gaps};
use super::rows::map_rows;
use super::stream::{epoch_lead_in, GapPolicy, Kernel, KernelFactory, Streaming};
use super::ConfigError;
use super::Operator;
use crate::dsp::cascade::{Plan, Spec};
use crate::model::{Nanos, SampleRate};
use crate::pipeline::component::{OperatorStage, Role, StageType};
use crate::pipeline::memory::CHUNK_OVERHEAD;
use crate::pipeline::memory::{Flow, Need};
use ndarray::{concatenate, Array2, ArrayView2, Axis};
use serde::Deserialize;
use std::sync::Arc;

/// How the decimated values are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputKind {
    #[default]
    Float,
    /// Rounded to the nearest integer (half away from zero), for Steim2 re-encoding.
    Integer,
}

/// Where the output samples fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// On whole multiples of the output period since the epoch (when the input's period is a
    /// whole number of nanoseconds and its samples are on that grid): every stream and every
    /// segment shares one grid. The first output may then precede the first input by less
    /// than one output period (computed with zeros before the data, like any edge).
    #[default]
    Epoch,
    /// On the first sample of each segment.
    FirstSample,
}

/// Parameters of the `decimate` operator.
#[derive(Debug, Clone, PartialEq)]
pub struct DecimateParams {
    pub factor: usize,
    pub spec: Spec,
    pub output: OutputKind,
    pub gaps: GapPolicy,
    pub align: Align,
}

impl Default for DecimateParams {
    fn default() -> Self {
        DecimateParams {
            factor: 1,
            spec: Spec::default(),
            output: OutputKind::Float,
            gaps: GapPolicy::Restart,
            align: Align::Epoch,
        }
    }
}

/// One polyphase stage's state for all channels of a stream.
struct Stage {
    taps: Arc<[f32]>,
    factor: usize,
    /// Per channel: samples not yet consumed. The next output's window starts at index 0.
    buffers: Vec<Vec<f32>>,
    /// Real (not padding) input samples taken and outputs produced.
    taken: u64,
    produced: u64,
}

impl Stage {
    fn new(taps: Arc<[f32]>, factor: usize, channels: usize) -> Stage {
        // The window of output 0 is centred on input 0: half the taps of zeros come before it.
        let half = taps.len() / 2;
        Stage {
            taps,
            factor,
            buffers: vec![vec![0.0; half]; channels],
            taken: 0,
            produced: 0,
        }
    }

    /// Outputs computable from `held` buffered samples.
    fn ready(&self, held: usize) -> usize {
        if held >= self.taps.len() {
            (held - self.taps.len()) / self.factor + 1
        } else {
            0
        }
    }

    fn push(&mut self, input: ArrayView2<f32>) -> Array2<f32> {
        let held = self.buffers.first().map_or(0, Vec::len) + input.ncols();
        let n_out = self.ready(held);
        self.taken += input.ncols() as u64;
        self.produced += n_out as u64;
        self.run(input, n_out, 0)
    }

    /// Outputs still owed for the samples taken, computed with zeros after the end.
    fn finish(&mut self) -> Array2<f32> {
        let owed = (self.taken.div_ceil(self.factor as u64) - self.produced) as usize;
        self.produced += owed as u64;
        let held = self.buffers.first().map_or(0, Vec::len);
        let needed = if owed == 0 {
            0
        } else {
            (owed - 1) * self.factor + self.taps.len()
        };
        let empty = Array2::zeros((self.buffers.len(), 0));
        self.run(empty.view(), owed, needed.saturating_sub(held))
    }

    fn run(&mut self, input: ArrayView2<f32>, n_out: usize, zeros: usize) -> Array2<f32> {
        let (taps, m) = (&self.taps, self.factor);
        map_rows(&mut self.buffers, input, n_out, |buf, x, y| {
            let joined = Joined {
                held: buf,
                x,
                zeros,
            };
            joined.outputs(taps, m, y);
            let rest = joined.range((n_out * m).min(joined.len())..joined.len());
            *buf = rest;
        })
    }
}

/// A channel's input as the filter sees it: the samples held from earlier calls, then this
/// call's, then `zeros` zeros (only at the end of the input), without copying them together.
///
/// Outputs whose window lies inside this call's samples are computed on them in place; only
/// the few that straddle the held samples or the zeros are computed on a small copy. Each
/// output is the same arithmetic wherever it is computed ([`strided_dots`]), so the result is
/// bit-for-bit that of one contiguous buffer, and a long block is read once instead of being
/// copied into the history first (which cost more memory bandwidth than the filter itself).
///
/// [`strided_dots`]: crate::dsp::dot::strided_dots
struct Joined<'a> {
    held: &'a [f32],
    x: &'a [f32],
    zeros: usize,
}

impl Joined<'_> {
    fn len(&self) -> usize {
        self.held.len() + self.x.len() + self.zeros
    }

    /// Samples `r` of the joined input, copied.
    fn range(&self, r: std::ops::Range<usize>) -> Vec<f32> {
        let (h, n) = (self.held.len(), self.x.len());
        let mut v = Vec::with_capacity(r.len());
        v.extend_from_slice(&self.held[r.start.min(h)..r.end.min(h)]);
        v.extend_from_slice(&self.x[r.start.clamp(h, h + n) - h..r.end.clamp(h, h + n) - h]);
        v.resize(r.len(), 0.0);
        v
    }

    /// `y.len()` outputs, output `i` over samples `i * m .. i * m + taps.len()`.
    fn outputs(&self, taps: &[f32], m: usize, y: &mut [f32]) {
        use crate::dsp::dot::strided_dots;
        let (h, n, t) = (self.held.len(), self.x.len(), taps.len());
        let n_out = y.len();
        // Outputs whose whole window is inside `x`: first..end.
        let first = h.div_ceil(m).min(n_out);
        let end = if h + n >= t { (h + n - t) / m + 1 } else { 0 };
        let end = end.clamp(first, n_out);
        let (head, rest) = y.split_at_mut(first);
        let (body, tail) = rest.split_at_mut(end - first);
        for (out, at) in [(head, 0), (tail, end)] {
            if !out.is_empty() {
                let span = at * m..(at + out.len() - 1) * m + t;
                strided_dots(taps, &self.range(span), m, out);
            }
        }
        if !body.is_empty() {
            strided_dots(taps, &self.x[first * m - h..], m, body);
        }
    }
}

/// The cascade for one stream.
pub struct DecimateKernel {
    stages: Vec<Stage>,
    factor: usize,
    output: OutputKind,
}

impl DecimateKernel {
    fn deliver(&self, mut y: Array2<f32>) -> Array2<f32> {
        if self.output == OutputKind::Integer {
            y.mapv_inplace(f32::round);
        }
        y
    }
}

impl Kernel for DecimateKernel {
    fn ratio(&self) -> usize {
        self.factor
    }

    fn push(&mut self, input: ArrayView2<f32>) -> Array2<f32> {
        let Some((first, rest)) = self.stages.split_first_mut() else {
            return self.deliver(input.to_owned());
        };
        let mut y = first.push(input);
        for stage in rest {
            y = stage.push(y.view());
        }
        self.deliver(y)
    }

    fn finish(&mut self) -> Array2<f32> {
        let mut carried: Option<Array2<f32>> = None;
        for stage in &mut self.stages {
            let pushed = match carried.take() {
                Some(x) => stage.push(x.view()),
                None => Array2::zeros((stage.buffers.len(), 0)),
            };
            let rest = stage.finish();
            carried = Some(concatenate(Axis(1), &[pushed.view(), rest.view()]).expect("same rows"));
        }
        let y = carried.unwrap_or_else(|| Array2::zeros((0, 0)));
        self.deliver(y)
    }
}

/// Builds [`DecimateKernel`]s; the plan is designed once and shared by every stream.
pub struct DecimateFactory {
    plan: Plan,
    taps: Vec<Arc<[f32]>>,
    output: OutputKind,
    align: Align,
}

impl DecimateFactory {
    pub fn new(
        factor: usize,
        spec: Spec,
        output: OutputKind,
        align: Align,
    ) -> Result<Self, ConfigError> {
        let plan = Plan::new(factor, spec).map_err(|e| ConfigError::invalid("factor", e))?;
        let taps = plan
            .stages
            .iter()
            .map(|s| s.taps.iter().map(|&t| t as f32).collect())
            .collect();
        Ok(DecimateFactory {
            plan,
            taps,
            output,
            align,
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

impl KernelFactory for DecimateFactory {
    type Kernel = DecimateKernel;

    fn start(&self, n_channels: usize, _rate: SampleRate) -> Result<DecimateKernel, String> {
        Ok(DecimateKernel {
            stages: self
                .plan
                .stages
                .iter()
                .zip(&self.taps)
                .map(|(s, t)| Stage::new(t.clone(), s.factor, n_channels))
                .collect(),
            factor: self.plan.factor,
            output: self.output,
        })
    }

    fn lead_in(&self, start: Nanos, rate: SampleRate) -> usize {
        match self.align {
            Align::Epoch => epoch_lead_in(start, rate, self.plan.factor),
            Align::FirstSample => 0,
        }
    }
}

/// The `decimate` operator.
pub type Decimate = Streaming<DecimateFactory>;

/// Builds the `decimate` operator.
pub fn decimate(params: &DecimateParams) -> Result<Decimate, ConfigError> {
    let factory = DecimateFactory::new(params.factor, params.spec, params.output, params.align)?;
    Ok(Streaming::new(factory, params.gaps))
}

/// Decimates one whole signal with explicit taps in one stage, no streaming: what
/// `scipy.signal.upfirdn(taps, x, 1, factor)` computes, shifted by the filter's half length so
/// that output `j` is aligned with input `j * factor`. The taps must be `2 K factor + 1` long.
pub fn decimate_with_taps(taps: &[f32], factor: usize, x: &[f32]) -> Vec<f32> {
    assert!(factor > 0 && taps.len() % (2 * factor) == 1);
    let mut stage = Stage::new(taps.into(), factor, 1);
    let input = ArrayView2::from_shape((1, x.len()), x).expect("one row");
    let head = stage.push(input);
    let tail = stage.finish();
    head.iter().chain(tail.iter()).copied().collect()
}

// The `decimate` stage: its keys and how it runs.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignName {
    #[default]
    Epoch,
    FirstSample,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputName {
    #[default]
    Float,
    Integer,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecimateConfig {
    pub factor: usize,
    /// Passband edge as a fraction of the new Nyquist frequency.
    #[serde(default)]
    pub pass_fraction: Option<f64>,
    /// Rejection of what would alias into the passband, dB.
    #[serde(default)]
    pub atten_db: Option<f64>,
    /// Passband ripple, dB.
    #[serde(default)]
    pub ripple_db: Option<f64>,
    #[serde(default)]
    pub output: OutputName,
    #[serde(default)]
    pub align: AlignName,
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

impl DecimateConfig {
    fn params(&self) -> DecimateParams {
        let d = Spec::default();
        DecimateParams {
            factor: self.factor,
            spec: Spec {
                pass_fraction: self.pass_fraction.unwrap_or(d.pass_fraction),
                atten_db: self.atten_db.unwrap_or(d.atten_db),
                ripple_db: self.ripple_db.unwrap_or(d.ripple_db),
            },
            output: match self.output {
                OutputName::Float => OutputKind::Float,
                OutputName::Integer => OutputKind::Integer,
            },
            gaps: gap_policy(self.gaps, self.max_gap_samples),
            align: match self.align {
                AlignName::Epoch => Align::Epoch,
                AlignName::FirstSample => Align::FirstSample,
            },
        }
    }
}

impl StageType for DecimateConfig {
    const NAME: &'static str = "decimate";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "anti-alias FIR cascade (linear phase, delay removed, >= 100 dB) and decimation by an integer factor";
}

impl OperatorStage for DecimateConfig {
    fn operator(&self, _: &str) -> Result<Box<dyn Operator>, ConfigError> {
        Ok(Box::new(decimate(&self.params())?))
    }

    fn state(&self, input: &Flow) -> Need {
        // Each channel keeps, per cascade stage, a delay line of the stage's taps and the
        // samples not yet consumed (at most as many again), in f32.
        let taps: u64 = Plan::new(self.factor, self.params().spec)
            .map(|p| p.stages.iter().map(|s| s.taps.len() as u64).sum())
            .unwrap_or(0);
        let mut need = per_channel_state(input, taps * 2 * 4, &format!("{taps} taps x 2 x 4 B"));
        let f = self.factor.max(1) as u64;
        need.output.rate_hz /= f as f64;
        need.output.message_bytes = input.message_bytes / f + CHUNK_OVERHEAD;
        need
    }
}
