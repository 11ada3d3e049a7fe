//! Correlation products: cross-correlation functions of channel pairs over lag, one block per
//! stack period.
//!
//! Lag convention (the same as NoisePy's and MSNoise's intent, and documented in the README):
//! the value at lag `k / rate` is `Σ_n s[n] · r[n + k]`, so a **positive lag means the
//! receiver's signal arrives later than the source's**; `np.roll(x, 30)` as receiver against
//! `x` as source peaks at +30 samples. Zero lag sits at index `max_lag` of each row.

use std::sync::Arc;

use ndarray::Array2;

use super::{Nanos, SourceId};

/// A source–receiver pair of channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub source: SourceId,
    pub receiver: SourceId,
    /// Distance between the two in metres where it is known (DAS: along the fibre).
    pub distance_m: Option<f64>,
}

/// Correlation functions of several pairs for one stack period.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrBlock {
    /// The product this block belongs to (Kafka key, Zarr group): `STAGE` by default.
    pub stream: String,
    /// What the rows are: `window` (one window each), `linear`, `pws` or `robust` stacks.
    pub method: String,
    /// The stack period's name (`1h`, `1d`; `window` for single windows).
    pub period: String,
    /// Start of the period (a window's start for single windows).
    pub start: Nanos,
    /// Length of the period in ns.
    pub length_ns: i64,
    /// Lag sampling rate in Hz: lags are `k / rate` for `k = -max_lag ..= max_lag`.
    pub rate: f64,
    pub max_lag: usize,
    pub pairs: Vec<Pair>,
    /// Windows stacked into each row.
    pub windows: Vec<u32>,
    /// pairs × (2 max_lag + 1).
    pub data: Array2<f32>,
    /// Every processing parameter, as JSON (written to the Zarr attributes).
    pub parameters: Arc<str>,
}

impl CorrBlock {
    /// Lag of column `j` in seconds: exactly `(j - max_lag) / rate`.
    pub fn lag_s(&self, j: usize) -> f64 {
        (j as f64 - self.max_lag as f64) / self.rate
    }

    pub fn n_lags(&self) -> usize {
        2 * self.max_lag + 1
    }

    /// Group name for sinks: `linear_1d`, `pws_1h`, `window`.
    pub fn product(&self) -> String {
        if self.method == "window" {
            "window".into()
        } else {
            format!("{}_{}", self.method, self.period)
        }
    }
}

/// One window's spectra of some channels, as they travel between the two halves of a split
/// `xcorr` (`xcorr_spectra` → bus → `xcorr` instances): float32, the bins from `first_bin`
/// that can be non-zero (the whitening band; all of 0 ..= nfft/2 without whitening).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectraBlock {
    pub stream: String,
    /// The window's start.
    pub start: Nanos,
    pub rate: f64,
    pub npts: usize,
    pub nfft: usize,
    pub first_bin: usize,
    /// Bins per spectrum.
    pub bins: usize,
    /// The spectral parameters that made them (JSON), checked by the consumer.
    pub parameters: Arc<str>,
    pub channels: Vec<super::ChannelMeta>,
    /// Per channel: the spectrum, or None when its window was rejected.
    pub spectra: Vec<Option<Vec<num_complex::Complex32>>>,
    /// Per channel: the source-form factor (coherency, deconvolution).
    pub scales: Vec<Option<Vec<f32>>>,
}
