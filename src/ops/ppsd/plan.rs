//! What one PPSD segment length at one sampling rate needs, set up once per rate as ObsPy's
//! `PPSD.__init__` does: the segment length, the Welch sub-window (`nfft` = the power of two
//! at or below a quarter of the segment, 75 % overlap), the periods of the spectrum (DC left
//! out, shortest period first), and the smoothing bins (one octave wide by default, every 1/8
//! octave, from the shortest to the longest period); then each segment to its smoothed PSD.

use std::sync::Arc;

use num_complex::Complex;

use super::peterson;
use crate::dsp::welch::Welch;
use crate::metadata::evaluate::{Evaluator, Output};

/// The keys that shape the spectra (ObsPy's PPSD arguments of the same names).
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub ppsd_length_s: f64,
    pub overlap: f64,
    pub smoothing_width_octaves: f64,
    pub step_octaves: f64,
    /// Shortest and longest bin centre, s; by default the spectrum's own.
    pub period_limits: Option<[f64; 2]>,
}

/// One smoothing bin: the mean of the dB values at periods in `[left, right]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    pub left: f64,
    pub center: f64,
    pub right: f64,
    /// The spectrum's period indices inside it: `lo..hi` (empty: the bin's value is NaN).
    lo: usize,
    hi: usize,
}

/// The set-up for one rate.
pub struct Plan {
    pub rate: f64,
    /// Samples per segment: `int(rate · ppsd_length)`.
    pub len: usize,
    pub nfft: usize,
    pub nlap: usize,
    /// Periods of the spectrum, ascending: `1/f` for `f = k·rate/nfft`, `k = nfft/2 … 1`.
    pub periods: Vec<f64>,
    pub bins: Vec<Bin>,
    /// Every bin edge (`lo`, `hi`), sorted, once: where the dB sums are needed.
    edges: Vec<usize>,
    welch: Welch,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("rate", &self.rate)
            .field("len", &self.len)
            .field("nfft", &self.nfft)
            .field("bins", &self.bins.len())
            .finish()
    }
}

/// `2^floor(log2(x))`, as ObsPy's `prev_pow_2`.
fn prev_pow_2(x: f64) -> usize {
    2f64.powf(x.log2().floor()) as usize
}

impl Plan {
    pub fn new(rate: f64, shape: &Shape) -> Result<Plan, String> {
        let len = (rate * shape.ppsd_length_s) as usize;
        let quarter = rate * shape.ppsd_length_s / 4.0;
        if quarter < 4.0 {
            return Err(format!(
                "{} s at {rate} Hz is {len} samples: too short for a spectrum (at least 16)",
                shape.ppsd_length_s
            ));
        }
        let nfft = prev_pow_2(quarter);
        let nlap = (0.75 * nfft as f64) as usize;
        let half = nfft / 2;
        // rfftfreq without DC, reversed into periods.
        let periods: Vec<f64> = (1..=half)
            .rev()
            .map(|k| 1.0 / (k as f64 * rate / nfft as f64))
            .collect();
        let limits = shape
            .period_limits
            .unwrap_or([periods[0], periods[half - 1]]);
        let bins = bins(&periods, shape, limits);
        if bins.is_empty() {
            return Err(format!(
                "period_limits {limits:?} s: no bin inside the spectrum's {} to {} s",
                periods[0],
                periods[half - 1]
            ));
        }
        Ok(Plan {
            rate,
            len,
            nfft,
            nlap,
            periods,
            edges: edges(&bins),
            bins,
            welch: Welch::new(nfft, nlap),
        })
    }

    pub fn centers(&self) -> Vec<f64> {
        self.bins.iter().map(|b| b.center).collect()
    }

    /// `ω² / |H(ω)|²` at each period: what turns a density in counts²/Hz into ground
    /// acceleration (m/s²)²/Hz when `response` maps velocity to counts (ObsPy's PPSD evaluates
    /// the response for velocity and multiplies by ω²; `acceleration = false` leaves out the
    /// ω², for hydrophones and infrasound).
    pub fn correction(&self, response: &Paz, acceleration: bool) -> Vec<f64> {
        self.periods
            .iter()
            .map(|&p| {
                let w = 2.0 * std::f64::consts::PI / p;
                let h2 = response.at(w).norm_sqr();
                if acceleration {
                    w * w / h2
                } else {
                    1.0 / h2
                }
            })
            .collect()
    }

    /// The same from a response evaluated as ObsPy's PPSD does with metadata (evalresp for
    /// velocity, times ω²), or for the response's own input units when it is not motion.
    pub fn correction_from(&self, response: &Evaluator, motion: bool) -> Vec<f64> {
        let freqs: Vec<f64> = self.periods.iter().map(|p| 1.0 / p).collect();
        let output = if motion {
            Output::Velocity
        } else {
            Output::Default
        };
        let h = response.on(&freqs, output);
        self.periods
            .iter()
            .zip(h)
            .map(|(&p, h)| {
                let w = 2.0 * std::f64::consts::PI / p;
                let h2 = h.norm_sqr();
                if motion {
                    w * w / h2
                } else {
                    1.0 / h2
                }
            })
            .collect()
    }

    /// One segment (`len` samples) to its smoothed PSD in dB, one value per bin, as ObsPy:
    /// Welch density, DC dropped, times `correction` (or counts²/Hz without one), floored at
    /// the smallest normal f64, 10·log10, then each bin the mean of its dB values.
    pub fn smoothed(&self, segment: &[f32], correction: Option<&[f64]>) -> Vec<f32> {
        SPECTRA.with_borrow_mut(|(psd, prefix)| {
            self.welch.psd(segment, self.rate, psd);
            let half = self.nfft / 2;
            // Sums of the dB values in period order at the bin edges: each bin is then two
            // lookups. Between two edges the sum of logs is the log of the product (see
            // `LogProduct`), one logarithm per edge instead of one per frequency.
            prefix.clear();
            prefix.push(0.0);
            let mut sum = 0.0;
            let value = |j: usize| {
                let v = psd[half - j] * correction.map_or(1.0, |c| c[j]);
                v.max(f64::MIN_POSITIVE)
            };
            let mut j = self.edges.first().copied().unwrap_or(0);
            for &edge in self.edges.iter().skip(1) {
                // four products in turn, so that each multiply does not wait on the last
                let mut lanes = [LogProduct::default(); 4];
                while j + 4 <= edge {
                    for (l, p) in lanes.iter_mut().enumerate() {
                        p.push(value(j + l));
                    }
                    j += 4;
                }
                for j in j..edge {
                    lanes[0].push(value(j));
                }
                j = edge;
                sum += 10.0 * lanes.iter().map(LogProduct::log10).sum::<f64>();
                prefix.push(sum);
            }
            let at = |i: usize| prefix[self.edges.partition_point(|&e| e < i)];
            self.bins
                .iter()
                .map(|b| {
                    if b.hi > b.lo {
                        ((at(b.hi) - at(b.lo)) / (b.hi - b.lo) as f64) as f32
                    } else {
                        f32::NAN
                    }
                })
                .collect()
        })
    }

    /// The shares of bins (centres within the models' 0.1–100 000 s) above Peterson's high
    /// and below his low noise model, percent: (above NHNM, below NLNM).
    pub fn outside_models(&self, db: &[f32]) -> Option<(f64, f64)> {
        let (mut n, mut above, mut below) = (0u32, 0u32, 0u32);
        for (b, &v) in self.bins.iter().zip(db) {
            let (Some(hi), Some(lo)) = (peterson::nhnm(b.center), peterson::nlnm(b.center)) else {
                continue;
            };
            if !v.is_finite() {
                continue;
            }
            n += 1;
            above += (v as f64 > hi) as u32;
            below += ((v as f64) < lo) as u32;
        }
        (n > 0).then(|| {
            (
                100.0 * above as f64 / n as f64,
                100.0 * below as f64 / n as f64,
            )
        })
    }
}

/// The bins' edges, sorted and unique (a bin with no frequency has none).
fn edges(bins: &[Bin]) -> Vec<usize> {
    let mut e: Vec<usize> = bins
        .iter()
        .filter(|b| b.hi > b.lo)
        .flat_map(|b| [b.lo, b.hi])
        .collect();
    e.sort_unstable();
    e.dedup();
    e
}

/// `Σ log10(v)` over positive values, as the log of their product: the product's mantissa is
/// kept in [1, 2) and its binary exponent counted separately, so it neither overflows nor
/// underflows and costs a multiply and a few bit operations per value instead of a logarithm.
/// Values too large to multiply (infinity) add their own logarithm.
#[derive(Clone, Copy)]
struct LogProduct {
    mantissa: f64,
    exponent: i64,
    rest: f64,
}

impl Default for LogProduct {
    fn default() -> Self {
        LogProduct {
            mantissa: 1.0,
            exponent: 0,
            rest: 0.0,
        }
    }
}

impl LogProduct {
    /// `v` positive and normal (at least `f64::MIN_POSITIVE`), or infinite.
    #[inline(always)]
    fn push(&mut self, v: f64) {
        const EXPONENT: u64 = 0x7ff << 52;
        let p = self.mantissa * v;
        if p.is_finite() {
            let bits = p.to_bits();
            self.exponent += ((bits & EXPONENT) >> 52) as i64 - 1023;
            self.mantissa = f64::from_bits((bits & !EXPONENT) | (1023 << 52));
        } else {
            self.rest += v.log10();
        }
    }

    fn log10(&self) -> f64 {
        self.mantissa.log10() + self.exponent as f64 * std::f64::consts::LOG10_2 + self.rest
    }
}

thread_local! {
    /// One thread's density and prefix sums, reused from segment to segment.
    static SPECTRA: std::cell::RefCell<(Vec<f64>, Vec<f64>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

/// ObsPy's `_setup_period_binning`: the first bin centred on the shortest period, then every
/// `step_octaves` until a centre reaches the longest; bins entirely outside the spectrum go.
fn bins(periods: &[f64], shape: &Shape, limits: [f64; 2]) -> Vec<Bin> {
    let step = 2f64.powf(shape.step_octaves);
    let width = 2f64.powf(shape.smoothing_width_octaves);
    let mut left = limits[0] / width.sqrt();
    let mut right = left * width;
    let mut center = (left * right).sqrt();
    let mut out = vec![(left, center, right)];
    while center < limits[1] {
        left *= step;
        right = left * width;
        center = (left * right).sqrt();
        out.push((left, center, right));
    }
    let (first, last) = (periods[0], periods[periods.len() - 1]);
    out.into_iter()
        .filter(|&(l, _, r)| r > first && l < last)
        .map(|(left, center, right)| Bin {
            left,
            center,
            right,
            lo: periods.partition_point(|&p| p < left),
            hi: periods.partition_point(|&p| p <= right),
        })
        .collect()
}

/// An instrument response as poles and zeros (rad/s) mapping ground velocity to counts:
/// `H(s) = normalization · sensitivity · Π(s − zᵢ) / Π(s − pᵢ)` at `s = iω`, as ObsPy's PPSD
/// takes a PAZ dictionary (`gain` is the normalization factor A0).
#[derive(Debug, Clone, PartialEq)]
pub struct Paz {
    pub poles: Vec<Complex<f64>>,
    pub zeros: Vec<Complex<f64>>,
    pub normalization: f64,
    pub sensitivity: f64,
}

impl Paz {
    pub fn at(&self, w: f64) -> Complex<f64> {
        let s = Complex::new(0.0, w);
        let num: Complex<f64> = self.zeros.iter().map(|z| s - z).product();
        let den: Complex<f64> = self.poles.iter().map(|p| s - p).product();
        num / den * (self.normalization * self.sensitivity)
    }
}

/// A plan shared by the streams at one rate.
pub type SharedPlan = Arc<Plan>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The log of the product against the sum of the logs, over values from the smallest
    /// normal to near the largest, with an infinity among them.
    #[test]
    fn log_product_is_the_sum_of_logs() {
        let mut r = crate::synthetic::signal::Rng::new(3);
        let values: Vec<f64> = (0..5000)
            .map(|i| match i % 97 {
                0 => f64::MIN_POSITIVE,
                1 => 1e300,
                _ => 10f64.powf(r.normal() * 40.0),
            })
            .collect();
        let mut p = LogProduct::default();
        values.iter().for_each(|&v| p.push(v));
        let want: f64 = values.iter().map(|v| v.log10()).sum();
        assert!(
            (p.log10() - want).abs() < 1e-9 * want.abs(),
            "{} vs {want}",
            p.log10()
        );
        p.push(f64::INFINITY);
        assert_eq!(p.log10(), f64::INFINITY);
    }

    fn shape() -> Shape {
        Shape {
            ppsd_length_s: 3600.0,
            overlap: 0.5,
            smoothing_width_octaves: 1.0,
            step_octaves: 0.125,
            period_limits: None,
        }
    }

    #[test]
    fn obspy_sizes_at_100_hz() {
        let p = Plan::new(100.0, &shape()).unwrap();
        assert_eq!((p.len, p.nfft, p.nlap), (360_000, 65_536, 49_152));
        assert_eq!(p.periods.len(), 32_768);
        assert!((p.periods[0] - 0.02).abs() < 1e-15);
        assert!((p.periods[32_767] - 655.36).abs() < 1e-9);
        // the first bin is centred on the shortest period, bins cover the range
        assert!((p.bins[0].center - 0.02).abs() < 1e-12);
        assert!(p.bins.last().unwrap().center >= 655.36);
        assert!(p.bins.iter().all(|b| b.hi > b.lo));
    }

    #[test]
    fn a_flat_spectrum_smooths_to_itself() {
        // white noise of variance 1 at 100 Hz: 2/fs = 0.02 per Hz, -17 dB everywhere, less the
        // bias of averaging dB (a mean of logs of chi-square values: about half a dB here)
        let p = Plan::new(100.0, &shape()).unwrap();
        let mut r = crate::synthetic::signal::Rng::new(5);
        let x: Vec<f32> = (0..p.len).map(|_| r.normal() as f32).collect();
        let db = p.smoothed(&x, None);
        let mid = &db[10..80];
        for v in mid {
            assert!((v - 10.0 * 0.02f32.log10()).abs() < 1.0, "{v}");
        }
    }

    #[test]
    fn too_short_segments_are_refused() {
        let mut s = shape();
        s.ppsd_length_s = 10.0;
        assert!(Plan::new(1.0, &s).is_err());
    }
}
