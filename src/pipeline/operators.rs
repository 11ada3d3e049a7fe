//! Pipeline-file keys of the operator stages, and the operators they build.
//!
//! Key names follow ObsPy where it has one (`corners`, `zerophase`, `freqmin`, `freqmax`,
//! `max_percentage`), so a seismologist's habits carry over.

use serde::Deserialize;

use crate::dsp::butter::Band;
use crate::dsp::cascade::Spec;
use crate::ops::assemble::{assemble, AssembleParams};
use crate::ops::calculus::{calculus, Calculus};
use crate::ops::decimate::{decimate, Align, DecimateParams, OutputKind};
use crate::ops::detrend::{detrend, Trend};
use crate::ops::filter::{filter, FilterParams, Phase};
use crate::ops::taper::taper;
use crate::ops::{ConfigError, GapPolicy, Operator};

/// What an operator does at a gap: `restart` the filter, or `interpolate` gaps of up to
/// `max_gap_samples` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gaps {
    #[default]
    Restart,
    Interpolate,
}

fn gap_policy(gaps: Gaps, max_gap_samples: u64) -> GapPolicy {
    match gaps {
        Gaps::Restart => GapPolicy::Restart,
        Gaps::Interpolate => GapPolicy::Interpolate {
            max_samples: max_gap_samples,
        },
    }
}

fn default_max_gap() -> u64 {
    10
}

fn default_window() -> f64 {
    3600.0
}

/// `decode`: miniSEED records to sample blocks, one block per record.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeConfig {}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrendName {
    Mean,
    #[default]
    Linear,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetrendConfig {
    #[serde(default)]
    pub kind: TrendName,
    #[serde(default = "default_window")]
    pub window_s: f64,
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaperConfig {
    /// Fraction of the window tapered at each end.
    #[serde(default = "default_taper")]
    pub max_percentage: f64,
    #[serde(default = "default_window")]
    pub window_s: f64,
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

fn default_taper() -> f64 {
    0.05
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalculusConfig {
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

impl DecimateConfig {
    pub fn build(&self) -> Result<Box<dyn Operator>, ConfigError> {
        let d = Spec::default();
        let params = DecimateParams {
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
        };
        Ok(Box::new(decimate(&params)?))
    }
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

    pub fn build(&self) -> Result<Box<dyn Operator>, ConfigError> {
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
}

impl DetrendConfig {
    pub fn build(&self) -> Result<Box<dyn Operator>, ConfigError> {
        let trend = match self.kind {
            TrendName::Mean => Trend::Mean,
            TrendName::Linear => Trend::Linear,
        };
        let gaps = gap_policy(self.gaps, self.max_gap_samples);
        Ok(Box::new(detrend(trend, self.window_s, gaps)?))
    }
}

impl TaperConfig {
    pub fn build(&self) -> Result<Box<dyn Operator>, ConfigError> {
        let gaps = gap_policy(self.gaps, self.max_gap_samples);
        Ok(Box::new(taper(self.max_percentage, self.window_s, gaps)?))
    }
}

impl CalculusConfig {
    pub fn build(&self, op: Calculus) -> Box<dyn Operator> {
        Box::new(calculus(op, gap_policy(self.gaps, self.max_gap_samples)))
    }
}

/// `assemble`: one-channel streams (a large-N array, DAS channels stored as miniSEED) into
/// time-aligned (channel, time) blocks, NaN where a channel has no data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssembleConfig {
    /// Name of the assembled stream (Kafka key, Zarr group); default: the stage name.
    #[serde(default)]
    pub stream: Option<String>,
    /// Block length, seconds.
    #[serde(default = "one_second")]
    pub block_s: f64,
    /// Seconds the newest channel may run ahead before a block goes out without the others.
    #[serde(default = "ten_seconds")]
    pub wait_s: f64,
    /// Channels expected: a block goes out as soon as that many have passed its end.
    #[serde(default)]
    pub channels: Option<usize>,
    /// Order rows by the channel index in the station code (DAS channels as miniSEED).
    #[serde(default)]
    pub station_index: bool,
    /// Fibre channel spacing, metres: positions `first_m + index × spacing_m`.
    #[serde(default)]
    pub spacing_m: Option<f64>,
    #[serde(default)]
    pub first_m: f64,
}

fn one_second() -> f64 {
    1.0
}

fn ten_seconds() -> f64 {
    10.0
}

impl AssembleConfig {
    pub fn build(&self, stage: &str) -> Result<Box<dyn Operator>, ConfigError> {
        Ok(Box::new(assemble(AssembleParams {
            stream: self.stream.clone().unwrap_or_else(|| stage.to_string()),
            block_s: self.block_s,
            wait_s: self.wait_s,
            channels: self.channels,
            station_index: self.station_index,
            spacing_m: self.spacing_m,
            first_m: self.first_m,
        })?))
    }
}
