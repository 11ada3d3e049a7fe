//! `integrate` and `differentiate` in time, streaming.
//!
//! Integration is the cumulative trapezoid starting at 0 (SciPy's
//! `cumulative_trapezoid(x, dx=1/rate, initial=0)`, ObsPy's default), carried across chunks in
//! f64. Differentiation is the central difference with one-sided ends (NumPy's `gradient`,
//! ObsPy's default); each output needs the next sample, so one sample per channel is held back
//! until the next chunk or the end of the segment.

use super::config::{default_max_gap, gap_policy, per_channel_state, Gaps};
use super::rows::map_rows;
use super::stream::{GapPolicy, Kernel, KernelFactory, Streaming};
use super::{ConfigError, Operator};
use crate::model::SampleRate;
use crate::pipeline::component::{OperatorStage, Role, StageType};
use crate::pipeline::memory::{Flow, Need};
use ndarray::{Array2, ArrayView2};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calculus {
    Integrate,
    Differentiate,
}

/// Per channel: the running integral and the previous sample, or the two latest samples.
#[derive(Clone, Default)]
struct Carry {
    sum: f64,
    /// Samples not yet used: at most the two most recent.
    prev: Vec<f64>,
}

pub struct CalculusKernel {
    op: Calculus,
    dt: f64,
    carry: Vec<Carry>,
    /// Samples taken so far this segment (the first sample starts both recurrences).
    seen: u64,
}

impl CalculusKernel {
    fn integrate(dt: f64, c: &mut Carry, x: &[f32], y: &mut [f32]) {
        for (o, &v) in y.iter_mut().zip(x) {
            let v = v as f64;
            if let Some(&p) = c.prev.last() {
                c.sum += (p + v) * dt / 2.0;
            }
            c.prev.clear();
            c.prev.push(v);
            *o = c.sum as f32;
        }
    }

    /// Emits the derivative at every sample that now has both neighbours (or is the first).
    fn differentiate(dt: f64, c: &mut Carry, x: &[f32], y: &mut [f32]) {
        let mut out = y.iter_mut();
        for &v in x {
            let v = v as f64;
            match c.prev.as_slice() {
                [] => {}
                [p] => *out.next().expect("sized") = ((v - p) / dt) as f32,
                [pp, _] => *out.next().expect("sized") = ((v - pp) / (2.0 * dt)) as f32,
                _ => unreachable!("at most two samples are held"),
            }
            if c.prev.len() == 2 {
                c.prev.remove(0);
            }
            c.prev.push(v);
        }
    }
}

impl Kernel for CalculusKernel {
    fn push(&mut self, input: ArrayView2<f32>) -> Array2<f32> {
        let n = input.ncols();
        let (op, dt) = (self.op, self.dt);
        let n_out = match op {
            Calculus::Integrate => n,
            // The first sample of a segment waits for its neighbour.
            Calculus::Differentiate if self.seen == 0 => n.saturating_sub(1),
            Calculus::Differentiate => n,
        };
        self.seen += n as u64;
        map_rows(&mut self.carry, input, n_out, |c, x, y| match op {
            Calculus::Integrate => Self::integrate(dt, c, x, y),
            Calculus::Differentiate => Self::differentiate(dt, c, x, y),
        })
    }

    fn finish(&mut self) -> Array2<f32> {
        let owed = usize::from(self.op == Calculus::Differentiate && self.seen > 0);
        let dt = self.dt;
        let empty = Array2::zeros((self.carry.len(), 0));
        map_rows(&mut self.carry, empty.view(), owed, |c, _, y| {
            if let Some(o) = y.first_mut() {
                // The last sample: one-sided difference, or 0 for a one-sample segment.
                *o = match c.prev.as_slice() {
                    [p, q] => ((q - p) / dt) as f32,
                    _ => 0.0,
                };
            }
        })
    }
}

pub struct CalculusFactory(pub Calculus);

impl KernelFactory for CalculusFactory {
    type Kernel = CalculusKernel;

    /// Acceleration to velocity to displacement and back, in SEED's unit spellings;
    /// other units gain or lose a `*s`.
    fn units(&self, input: Option<&str>) -> Option<String> {
        let u = input?;
        let known = [("m/s**2", "m/s"), ("m/s", "m")];
        Some(match self.0 {
            Calculus::Integrate => known
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(u))
                .map_or(format!("{u}*s"), |(_, b)| b.to_string()),
            Calculus::Differentiate => known
                .iter()
                .find(|(_, b)| b.eq_ignore_ascii_case(u))
                .map_or(format!("{u}/s"), |(a, _)| a.to_string()),
        })
    }

    fn start(&self, n_channels: usize, rate: SampleRate) -> Result<CalculusKernel, String> {
        if !(rate.hz() > 0.0 && rate.hz().is_finite()) {
            return Err(format!(
                "needs a positive sample rate, got {} Hz",
                rate.hz()
            ));
        }
        Ok(CalculusKernel {
            op: self.0,
            dt: 1.0 / rate.hz(),
            carry: vec![Carry::default(); n_channels],
            seen: 0,
        })
    }
}

pub type CalculusOp = Streaming<CalculusFactory>;

pub fn calculus(op: Calculus, gaps: GapPolicy) -> CalculusOp {
    Streaming::new(CalculusFactory(op), gaps)
}

// The `integrate` and `differentiate` stages: their keys and how they run.

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalculusConfig {
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

/// Which of the two a stage is: its name, its description and the operation.
pub trait CalculusKind: std::fmt::Debug + Send + Sync + 'static {
    const NAME: &'static str;
    const ABOUT: &'static str;
    const OP: Calculus;
}

#[derive(Debug)]
pub struct Integration;

impl CalculusKind for Integration {
    const NAME: &'static str = "integrate";
    const ABOUT: &'static str =
        "trapezoidal integration with carried state (velocity to displacement)";
    const OP: Calculus = Calculus::Integrate;
}

#[derive(Debug)]
pub struct Differentiation;

impl CalculusKind for Differentiation {
    const NAME: &'static str = "differentiate";
    const ABOUT: &'static str =
        "central-difference derivative with carried state (velocity to acceleration)";
    const OP: Calculus = Calculus::Differentiate;
}

/// The `integrate` and `differentiate` stages: the keys of [`CalculusConfig`].
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct CalculusStage<K: CalculusKind> {
    pub keys: CalculusConfig,
    #[serde(skip)]
    kind: std::marker::PhantomData<K>,
}

pub type IntegrateConfig = CalculusStage<Integration>;
pub type DifferentiateConfig = CalculusStage<Differentiation>;

impl<K: CalculusKind> StageType for CalculusStage<K> {
    const NAME: &'static str = K::NAME;
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str = K::ABOUT;
}

impl<K: CalculusKind> OperatorStage for CalculusStage<K> {
    fn operator(&self, _: &str) -> Result<Box<dyn Operator>, ConfigError> {
        let gaps = gap_policy(self.keys.gaps, self.keys.max_gap_samples);
        Ok(Box::new(calculus(K::OP, gaps)))
    }

    /// A few samples of state per channel.
    fn state(&self, input: &Flow) -> Need {
        per_channel_state(input, 64, "64 B of state")
    }
}
