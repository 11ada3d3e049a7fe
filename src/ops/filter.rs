//! `filter`: Butterworth low-, high- and band-pass as second-order sections, run causally with
//! carried state, or zero-phase (forward-backward) over fixed windows.
//!
//! The sections are designed per stream rate and equal SciPy's
//! `butter(order, corners, btype, fs=rate, output='sos')`; the causal path equals `sosfilt` and
//! each zero-phase window equals `sosfiltfilt` on that window.

use super::config::{
    default_max_gap, default_window, gap_policy, per_channel_state, windowed_state, Gaps,
};
use super::rows::map_row_groups;
use super::stream::{GapPolicy, Kernel, KernelFactory, Streaming};
use super::window::{WindowFn, WindowedFactory};
use super::ConfigError;
use super::Operator;
use crate::dsp::butter::{butter, Band};
use crate::dsp::sos::{self, State};
use crate::dsp::zpk2sos::{zpk2sos, Section};
use crate::model::SampleRate;
use crate::pipeline::component::{OperatorStage, Role, StageType};
use crate::pipeline::memory::{Flow, Need};
use ndarray::{Array2, ArrayView2};
use serde::Deserialize;
use std::sync::Arc;

/// Causal (minimum delay, phase shifted) or zero-phase over windows (no phase shift, twice the
/// attenuation, needs a whole window before output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Causal,
    ZeroPhase { window_s: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterParams {
    pub order: usize,
    pub band: Band,
    pub phase: Phase,
    pub gaps: GapPolicy,
}

/// The sections for a stream at `rate`.
pub fn design(order: usize, band: Band, rate: SampleRate) -> Result<Vec<Section>, String> {
    butter(order, band, rate.hz())
        .map(|zpk| zpk2sos(&zpk))
        .map_err(|e| e.to_string())
}

/// Causal filtering of one stream: each channel carries its section states.
pub struct CausalKernel {
    sections: Arc<[Section]>,
    states: Vec<State>,
}

impl Kernel for CausalKernel {
    fn push(&mut self, input: ArrayView2<f32>) -> Array2<f32> {
        let sections = &self.sections;
        map_row_groups(&mut self.states, input, input.ncols(), 8, |st, x, y| {
            sos::filter_channels(sections, st, x, y)
        })
    }

    fn finish(&mut self) -> Array2<f32> {
        Array2::zeros((self.states.len(), 0))
    }
}

pub struct CausalFactory {
    order: usize,
    band: Band,
}

impl KernelFactory for CausalFactory {
    type Kernel = CausalKernel;

    fn start(&self, n_channels: usize, rate: SampleRate) -> Result<CausalKernel, String> {
        let sections: Arc<[Section]> = design(self.order, self.band, rate)?.into();
        Ok(CausalKernel {
            states: vec![vec![[0.0; 2]; sections.len()]; n_channels],
            sections,
        })
    }
}

/// Zero-phase filtering of one window.
pub struct ZeroPhaseFn {
    sections: Vec<Section>,
}

impl WindowFn for ZeroPhaseFn {
    fn apply(&self, x: &[f32], y: &mut [f32]) {
        // A window shorter than SciPy's default extension (a segment's last one) is extended by
        // as much as it can be.
        let pad = sos::pad_length(&self.sections).min(x.len().saturating_sub(1));
        if sos::filtfilt(&self.sections, x, y, pad).is_err() {
            y.copy_from_slice(x);
        }
    }
}

/// The `filter` operator: causal or zero-phase, chosen by the parameters.
pub enum Filter {
    Causal(Streaming<CausalFactory>),
    ZeroPhase(Streaming<WindowedFactory<ZeroPhaseFn>>),
}

pub fn filter(p: &FilterParams) -> Result<Filter, ConfigError> {
    if !(1..=64).contains(&p.order) {
        return Err(ConfigError::invalid(
            "order",
            format!("must be 1 to 64, got {}", p.order),
        ));
    }
    // Check the corners against a rate at which every corner is valid, so that a reversed band
    // or a negative corner is a configuration error, not a per-stream one.
    let top = match p.band {
        Band::Lowpass(f) | Band::Highpass(f) => f,
        Band::Bandpass(_, hi) => hi,
    };
    butter(p.order, p.band, 4.0 * top.abs().max(1e-9))
        .map_err(|e| ConfigError::invalid("corners", e))?;
    Ok(match p.phase {
        Phase::Causal => Filter::Causal(Streaming::new(
            CausalFactory {
                order: p.order,
                band: p.band,
            },
            p.gaps,
        )),
        Phase::ZeroPhase { window_s } => {
            let (order, band) = (p.order, p.band);
            Filter::ZeroPhase(Streaming::new(
                WindowedFactory::new(window_s, move |rate| {
                    Ok(Arc::new(ZeroPhaseFn {
                        sections: design(order, band, rate)?,
                    }))
                })?,
                p.gaps,
            ))
        }
    })
}

impl super::Operator for Filter {
    fn process(&mut self, chunk: crate::model::Chunk, out: &mut super::Output) {
        match self {
            Filter::Causal(op) => op.process(chunk, out),
            Filter::ZeroPhase(op) => op.process(chunk, out),
        }
    }

    fn flush(&mut self, out: &mut super::Output) {
        match self {
            Filter::Causal(op) => op.flush(out),
            Filter::ZeroPhase(op) => op.flush(out),
        }
    }
}

// The `filter` stage: its keys and how it runs.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterKind {
    Lowpass,
    Highpass,
    Bandpass,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    pub kind: FilterKind,
    /// Corner of a low- or high-pass, Hz.
    #[serde(default)]
    pub freq: Option<f64>,
    /// Corners of a band-pass, Hz.
    #[serde(default)]
    pub freqmin: Option<f64>,
    #[serde(default)]
    pub freqmax: Option<f64>,
    /// Butterworth order.
    #[serde(default = "default_corners")]
    pub corners: usize,
    /// Forward and backward on fixed windows of `window_s` seconds.
    #[serde(default)]
    pub zerophase: bool,
    #[serde(default = "default_window")]
    pub window_s: f64,
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

fn default_corners() -> usize {
    4
}

impl FilterConfig {
    fn band(&self) -> Result<Band, ConfigError> {
        let need = |v: Option<f64>, key: &'static str| {
            v.ok_or_else(|| {
                ConfigError::invalid(key, format!("required for kind = {:?}", self.kind))
            })
        };
        Ok(match self.kind {
            FilterKind::Lowpass => Band::Lowpass(need(self.freq, "freq")?),
            FilterKind::Highpass => Band::Highpass(need(self.freq, "freq")?),
            FilterKind::Bandpass => Band::Bandpass(
                need(self.freqmin, "freqmin")?,
                need(self.freqmax, "freqmax")?,
            ),
        })
    }
}

impl StageType for FilterConfig {
    const NAME: &'static str = "filter";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "Butterworth low-, high- or band-pass (second-order sections), causal or zero-phase on windows";
}

impl OperatorStage for FilterConfig {
    fn operator(&self, _: &str) -> Result<Box<dyn Operator>, ConfigError> {
        let params = FilterParams {
            order: self.corners,
            band: self.band()?,
            phase: if self.zerophase {
                Phase::ZeroPhase {
                    window_s: self.window_s,
                }
            } else {
                Phase::Causal
            },
            gaps: gap_policy(self.gaps, self.max_gap_samples),
        };
        Ok(Box::new(filter(&params)?))
    }

    fn state(&self, input: &Flow) -> Need {
        if self.zerophase {
            return windowed_state(input, self.window_s);
        }
        // Two f64 state values per section; a band-pass has twice the sections.
        let sections = self.corners.div_ceil(2) as u64
            * if self.kind == FilterKind::Bandpass {
                2
            } else {
                1
            };
        per_channel_state(input, sections * 16, &format!("{sections} sections x 16 B"))
    }
}
