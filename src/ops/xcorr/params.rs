//! The `xcorr` stage's keys: NoisePy's parameters and defaults unless a comment says otherwise.

use serde::{Deserialize, Serialize};

use crate::ops::ConfigError;

/// Temporal normalisation of each window before its spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeNorm {
    None,
    /// Sign of each sample.
    OneBit,
    /// Divided by the running mean of |x| over `smooth_n` samples (NoisePy's `rma`).
    Rma,
    /// Clipped at `clip_rms` × the window's RMS (MSNoise's winsorizing).
    Clip,
}

/// Spectral whitening of each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Whiten {
    None,
    /// Divided by the running mean of |X| over `smoothspect_n` bins (NoisePy's `rma`).
    Rma,
    /// Unit amplitude, phase kept.
    PhaseOnly,
}

/// How a pair's spectra are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CcMethod {
    /// conj(S) · R.
    Xcorr,
    /// conj(S) · R / smooth|S| (NoisePy's: only the source is divided).
    Coherency,
    /// conj(S) · R / smooth|S|².
    Deconv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackMethod {
    Linear,
    /// Phase-weighted stack (Schimmel and Paulssen 1997), power `pws_power`.
    Pws,
    /// Pavlis and Vernon (2010), as NoisePy's `robust_stack`.
    Robust,
}

impl StackMethod {
    pub fn name(self) -> &'static str {
        match self {
            StackMethod::Linear => "linear",
            StackMethod::Pws => "pws",
            StackMethod::Robust => "robust",
        }
    }
}

/// Which pairs are correlated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every pair of channels (source before receiver in source-id order).
    All,
    /// The `sources` against every channel (virtual sources: the DAS case).
    Sources,
    /// The explicit `pairs`.
    List,
}

/// Length of the transforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FftLength {
    /// Zero-padded by `maxlag`, so every kept lag is a linear (not circular) correlation.
    Padded,
    /// The window's length rounded up to a fast size, as NoisePy does (circular).
    Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    F32,
    F64,
}

/// The `xcorr` keys.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XcorrConfig {
    /// Window length in seconds.
    #[serde(default = "d_cc_len")]
    pub cc_len_s: f64,
    /// Seconds between window starts; windows start on multiples of it since the epoch.
    #[serde(default = "d_step")]
    pub step_s: f64,
    /// Lags kept: ±maxlag seconds.
    #[serde(default = "d_maxlag")]
    pub maxlag_s: f64,
    #[serde(default = "d_freqmin")]
    pub freqmin: f64,
    #[serde(default = "d_freqmax")]
    pub freqmax: f64,
    /// Band-pass each window (zero-phase Butterworth of `corners` poles, applied to its
    /// spectrum as `|H|²`, the response of a forward-backward filter).
    #[serde(default = "yes")]
    pub bandpass: bool,
    #[serde(default = "d_corners")]
    pub corners: usize,
    /// Cosine (Hann) taper on each side: this fraction of the window, at most
    /// `taper_max_samples` (NoisePy: 5 %, at most 20 samples).
    #[serde(default = "d_taper")]
    pub taper_fraction: f64,
    #[serde(default = "d_taper_max")]
    pub taper_max_samples: usize,
    /// A window whose max |x| is above this many standard deviations is rejected.
    #[serde(default = "d_max_over_std")]
    pub max_over_std: f64,
    /// A window with more than this fraction of its samples missing is rejected.
    #[serde(default = "d_gap")]
    pub max_gap_fraction: f64,
    #[serde(default = "d_time_norm")]
    pub time_norm: TimeNorm,
    #[serde(default = "d_smooth")]
    pub smooth_n: usize,
    #[serde(default = "d_clip")]
    pub clip_rms: f64,
    #[serde(default = "d_whiten")]
    pub whiten: Whiten,
    #[serde(default = "d_smooth")]
    pub smoothspect_n: usize,
    /// Whitening only in [freqmin, freqmax], zero outside, with cos² edges over
    /// `whiten_taper_bins` bins (NoisePy's `whiten`).
    #[serde(default = "yes")]
    pub whiten_band: bool,
    #[serde(default = "d_whiten_taper")]
    pub whiten_taper_bins: usize,
    #[serde(default = "d_cc_method")]
    pub cc_method: CcMethod,
    /// Stacks computed per period.
    #[serde(default = "d_stack")]
    pub stack: Vec<StackMethod>,
    /// Stack periods (`30m`, `1h`, `1d`), each aligned on the epoch (UTC hours and days).
    #[serde(default = "d_substacks")]
    pub substacks: Vec<String>,
    #[serde(default = "d_pws_power")]
    pub pws_power: f64,
    #[serde(default = "d_robust_eps")]
    pub robust_epsilon: f64,
    /// Emit each window's correlations too.
    #[serde(default)]
    pub per_window: bool,
    #[serde(default = "d_mode")]
    pub mode: Mode,
    /// Include each channel with itself (`all`, `sources`).
    #[serde(default)]
    pub autocorr: bool,
    /// Virtual sources (`mode = "sources"`): FDSN source ids or SEED ids, `*`/`?` wildcards.
    #[serde(default)]
    pub sources: Vec<String>,
    /// `mode = "list"`: [[source, receiver], ...].
    #[serde(default)]
    pub pairs: Vec<[String; 2]>,
    /// Component pairs kept (`ZZ`, `ZN`, ...), from the last letter of each channel code.
    #[serde(default)]
    pub components: Vec<String>,
    /// Pairs farther apart than this are skipped, where the distance is known.
    #[serde(default)]
    pub max_distance_m: Option<f64>,
    #[serde(default = "d_fft_length")]
    pub fft_length: FftLength,
    /// NoisePy's conditioning of each cross-spectrum before the inverse transform: subtract
    /// its mean ("spike at t=0"), zero the DC bin of cross pairs and the top bin.
    #[serde(default)]
    pub spectral_demean: bool,
    #[serde(default = "d_precision")]
    pub precision: Precision,
    /// Seconds to wait for a late channel after the first has passed a window's end.
    #[serde(default)]
    pub wait_s: Option<f64>,
    /// Channels expected: a window is done early only once this many have passed it (else:
    /// every channel seen so far). For inputs that arrive a channel at a time (Kafka
    /// partitions, file replays).
    #[serde(default)]
    pub channels: Option<usize>,
    /// This process computes block `instance` of `instances` of the pair list.
    #[serde(default)]
    pub instance: usize,
    #[serde(default = "one")]
    pub instances: usize,
}

fn d_cc_len() -> f64 {
    1800.0
}
fn d_step() -> f64 {
    450.0
}
fn d_maxlag() -> f64 {
    200.0
}
fn d_freqmin() -> f64 {
    0.05
}
fn d_freqmax() -> f64 {
    2.0
}
fn yes() -> bool {
    true
}
fn d_corners() -> usize {
    4
}
fn d_taper() -> f64 {
    0.05
}
fn d_taper_max() -> usize {
    20
}
fn d_max_over_std() -> f64 {
    10.0
}
fn d_gap() -> f64 {
    0.3
}
fn d_time_norm() -> TimeNorm {
    TimeNorm::None
}
fn d_smooth() -> usize {
    10
}
fn d_clip() -> f64 {
    3.0
}
fn d_whiten() -> Whiten {
    Whiten::Rma
}
fn d_whiten_taper() -> usize {
    100
}
fn d_cc_method() -> CcMethod {
    CcMethod::Xcorr
}
fn d_stack() -> Vec<StackMethod> {
    vec![StackMethod::Linear]
}
fn d_substacks() -> Vec<String> {
    vec!["1d".into()]
}
fn d_pws_power() -> f64 {
    2.0
}
fn d_robust_eps() -> f64 {
    0.001
}
fn d_mode() -> Mode {
    Mode::All
}
fn d_fft_length() -> FftLength {
    FftLength::Padded
}
fn d_precision() -> Precision {
    Precision::F32
}
fn one() -> usize {
    1
}

impl Default for XcorrConfig {
    fn default() -> Self {
        toml::from_str("").expect("every key has a default")
    }
}

/// A period such as `30m`, `1h`, `1d`, `450s` in ns.
pub fn parse_period(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok().filter(|&n| n > 0)?;
    let unit_ns: i64 = match unit {
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    };
    n.checked_mul(unit_ns)
}

impl XcorrConfig {
    /// Checks values that need no rate; the rate-dependent ones are checked by the plan.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let pos = |k: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(ConfigError::invalid(
                    k,
                    format!("must be positive, got {v}"),
                ))
            }
        };
        pos("cc_len_s", self.cc_len_s)?;
        pos("step_s", self.step_s)?;
        pos("maxlag_s", self.maxlag_s)?;
        pos("freqmin", self.freqmin)?;
        pos("freqmax", self.freqmax)?;
        pos("max_over_std", self.max_over_std)?;
        pos("pws_power", self.pws_power)?;
        pos("robust_epsilon", self.robust_epsilon)?;
        pos("clip_rms", self.clip_rms)?;
        if self.freqmin >= self.freqmax {
            return Err(ConfigError::invalid(
                "freqmax",
                format!("must be above freqmin ({} Hz)", self.freqmin),
            ));
        }
        if self.maxlag_s >= self.cc_len_s {
            return Err(ConfigError::invalid(
                "maxlag_s",
                format!(
                    "must be shorter than the window (cc_len_s = {})",
                    self.cc_len_s
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.max_gap_fraction) {
            return Err(ConfigError::invalid("max_gap_fraction", "must be in 0..1"));
        }
        if !(0.0..=0.5).contains(&self.taper_fraction) {
            return Err(ConfigError::invalid("taper_fraction", "must be in 0..0.5"));
        }
        if self.smooth_n == 0 || self.smoothspect_n == 0 {
            return Err(ConfigError::invalid(
                "smooth_n",
                "smoothing lengths are at least 1",
            ));
        }
        if self.stack.is_empty() && !self.per_window {
            return Err(ConfigError::invalid(
                "stack",
                "no stack and per_window = false: nothing would be emitted",
            ));
        }
        for p in &self.substacks {
            let ns = parse_period(p).ok_or_else(|| {
                ConfigError::invalid("substacks", format!("{p:?}: a period such as 30m, 1h, 1d"))
            })?;
            if ns < (self.step_s * 1e9) as i64 {
                return Err(ConfigError::invalid(
                    "substacks",
                    format!("{p:?} is shorter than step_s"),
                ));
            }
        }
        if !self.stack.is_empty() && self.substacks.is_empty() {
            return Err(ConfigError::invalid(
                "substacks",
                "name at least one period",
            ));
        }
        match self.mode {
            Mode::Sources if self.sources.is_empty() => {
                return Err(ConfigError::invalid(
                    "sources",
                    "mode = \"sources\" needs at least one source",
                ))
            }
            Mode::List if self.pairs.is_empty() => {
                return Err(ConfigError::invalid(
                    "pairs",
                    "mode = \"list\" needs at least one pair",
                ))
            }
            _ => {}
        }
        for c in &self.components {
            if c.chars().count() != 2 {
                return Err(ConfigError::invalid(
                    "components",
                    format!("{c:?}: two component letters, e.g. \"ZZ\""),
                ));
            }
        }
        if self.instances == 0 || self.instance >= self.instances {
            return Err(ConfigError::invalid(
                "instance",
                format!(
                    "must be below instances ({}), got {}",
                    self.instances, self.instance
                ),
            ));
        }
        if let Some(w) = self.wait_s {
            if !w.is_finite() || w < 0.0 {
                return Err(ConfigError::invalid("wait_s", "must be 0 or more"));
            }
        }
        Ok(())
    }
}

impl XcorrConfig {
    /// The keys that shape each channel's spectrum (JSON): the two halves of a split `xcorr`
    /// must agree on them, and the receiving half checks.
    pub fn spectral_keys(&self) -> String {
        serde_json::json!({
            "cc_len_s": self.cc_len_s, "step_s": self.step_s, "maxlag_s": self.maxlag_s,
            "freqmin": self.freqmin, "freqmax": self.freqmax, "bandpass": self.bandpass,
            "corners": self.corners, "taper_fraction": self.taper_fraction,
            "taper_max_samples": self.taper_max_samples, "max_over_std": self.max_over_std,
            "max_gap_fraction": self.max_gap_fraction, "time_norm": self.time_norm,
            "smooth_n": self.smooth_n, "clip_rms": self.clip_rms, "whiten": self.whiten,
            "smoothspect_n": self.smoothspect_n, "whiten_band": self.whiten_band,
            "whiten_taper_bins": self.whiten_taper_bins, "cc_method": self.cc_method,
            "fft_length": self.fft_length,
        })
        .to_string()
    }
}
