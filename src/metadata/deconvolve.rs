//! Instrument response removal on a window of samples, as ObsPy's `Trace.remove_response`
//! does it: demean, SAC cosine taper (`taper_fraction` of the window), FFT on ObsPy's length
//! (at least twice the window, with small prime factors), the optional `pre_filt` cosine
//! band in frequency, division by the response evaluated with evalresp's semantics with the
//! water level (in dB below the response's peak, phase kept), inverse FFT.
//!
//! A [`Deconvolver`] is made for one window length and rate and reused: the FFT plans and the
//! inverted, band-limited response are computed once. Deconvolution is a whole-window
//! operation: the taper and the circular FFT make a window's edges depend on its length, so
//! streams are deconvolved window by window (with overlap where continuity matters), not
//! sample by sample with carried state.

use std::sync::Arc;

use num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::evaluate::{fft_frequencies, Evaluator, Output};
use crate::dsp::welch::obspy_cosine_taper;

/// ObsPy's `remove_response` keywords.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemoveOptions {
    pub output: Output,
    /// dB below the response's peak where its inverse is clipped; `None`: plain inverse.
    pub water_level: Option<f64>,
    /// Corner frequencies (f1, f2, f3, f4) of the frequency-domain cosine band.
    pub pre_filt: Option<[f64; 4]>,
    pub zero_mean: bool,
    pub taper: bool,
    pub taper_fraction: f64,
}

impl Default for RemoveOptions {
    fn default() -> Self {
        RemoveOptions {
            output: Output::Velocity,
            water_level: Some(60.0),
            pre_filt: None,
            zero_mean: true,
            taper: true,
            taper_fraction: 0.05,
        }
    }
}

/// ObsPy's FFT length for `npts` samples: 2·npts (rounded up to even), moved up to a length
/// whose prime factors are below 500 when it has a larger one, else to a power of two.
pub fn fft_length(npts: usize) -> usize {
    let nfft = if npts % 2 == 1 {
        2 * (npts + 1)
    } else {
        2 * npts
    };
    let good = |x: usize| largest_prime_factor(x) < 500;
    if nfft > 5000 && !good(nfft) {
        for i in 1..=10 {
            if good(nfft + 2 * i) {
                return nfft + 2 * i;
            }
        }
        return nfft.next_power_of_two();
    }
    nfft
}

fn largest_prime_factor(mut x: usize) -> usize {
    let mut largest = 1;
    let mut p = 2;
    while p * p <= x {
        while x % p == 0 {
            largest = p;
            x /= p;
        }
        p += 1;
    }
    largest.max(x)
}

/// ObsPy's `cosine_sac_taper`: 0 outside (f1, f4), 1 inside [f2, f3], cosine flanks.
pub fn sac_band(f: f64, [f1, f2, f3, f4]: [f64; 4]) -> f64 {
    if f1 <= f && f <= f2 {
        0.5 * (1.0 - (std::f64::consts::PI * (f - f1) / (f2 - f1)).cos())
    } else if f2 < f && f < f3 {
        1.0
    } else if f3 <= f && f <= f4 {
        0.5 * (1.0 + (std::f64::consts::PI * (f - f3) / (f4 - f3)).cos())
    } else {
        0.0
    }
}

/// ObsPy's `invert_spectrum`: values below the water level raised to it (phase kept), then
/// inverted; zeros stay zero.
fn invert(spec: &mut [Complex<f64>], water_level_db: Option<f64>) {
    match water_level_db {
        None => {
            spec[0] = Complex::new(0.0, 0.0);
            for v in &mut spec[1..] {
                *v = v.inv();
            }
        }
        Some(db) => {
            let peak = spec.iter().map(|v| v.norm()).fold(0.0, f64::max);
            let swamp = peak * 10f64.powf(-db / 20.0);
            for v in spec.iter_mut() {
                let len = v.norm();
                if len < swamp && len > 0.0 {
                    *v *= swamp / len;
                }
                *v = if v.norm() > 0.0 {
                    v.inv()
                } else {
                    Complex::new(0.0, 0.0)
                };
            }
        }
    }
}

/// Response removal for windows of one length at one rate.
pub struct Deconvolver {
    npts: usize,
    nfft: usize,
    opts: RemoveOptions,
    taper: Vec<f64>,
    /// The inverted response times the `pre_filt` band, per FFT bin.
    multiplier: Vec<Complex<f64>>,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    time: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
}

impl Deconvolver {
    /// Prepares for windows of `npts` samples at `rate` Hz.
    pub fn new(response: &Evaluator, rate: f64, npts: usize, opts: RemoveOptions) -> Self {
        let nfft = fft_length(npts.max(1));
        let freqs = fft_frequencies(1.0 / rate, nfft);
        let mut multiplier = response.on(&freqs, opts.output);
        invert(&mut multiplier, opts.water_level);
        if let Some(band) = opts.pre_filt {
            for (m, f) in multiplier.iter_mut().zip(&freqs) {
                *m *= sac_band(*f, band);
            }
        }
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(nfft);
        let inverse = planner.plan_fft_inverse(nfft);
        Deconvolver {
            npts,
            nfft,
            opts,
            taper: if opts.taper {
                obspy_cosine_taper(npts, opts.taper_fraction, false, true)
            } else {
                Vec::new()
            },
            multiplier,
            time: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            forward,
            inverse,
        }
    }

    /// The window length this deconvolver takes.
    pub fn window(&self) -> usize {
        self.npts
    }

    /// Removes the response from `data` (exactly the window length) into `out`.
    pub fn apply(&mut self, data: &[f64], out: &mut Vec<f64>) {
        assert_eq!(data.len(), self.npts, "window length");
        let mean = if self.opts.zero_mean && !data.is_empty() {
            data.iter().sum::<f64>() / data.len() as f64
        } else {
            0.0
        };
        self.time.fill(0.0);
        for (i, x) in data.iter().enumerate() {
            let v = x - mean;
            self.time[i] = if self.opts.taper {
                v * self.taper[i]
            } else {
                v
            };
        }
        self.forward
            .process(&mut self.time, &mut self.spectrum)
            .expect("FFT lengths match the plan");
        for (s, m) in self.spectrum.iter_mut().zip(&self.multiplier) {
            *s *= m;
        }
        let last = self.spectrum.len() - 1;
        self.spectrum[last] = Complex::new(self.spectrum[last].norm(), 0.0);
        self.spectrum[0].im = 0.0;
        self.inverse
            .process(&mut self.spectrum, &mut self.time)
            .expect("FFT lengths match the plan");
        let scale = 1.0 / self.nfft as f64;
        out.clear();
        out.extend(self.time[..self.npts].iter().map(|v| v * scale));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_lengths_as_obspy_chooses_them() {
        // obspy.signal.util._npts2nfft's doctests.
        assert_eq!(fft_length(1_800_028), 3_600_056);
        assert_eq!(fft_length(1_800_029), 4_194_304);
        assert_eq!(fft_length(1_800_031), 3_600_082);
        assert_eq!(fft_length(7), 16);
    }

    #[test]
    fn sac_taper_ends_at_zero_and_is_one_inside() {
        let w = obspy_cosine_taper(100, 0.05, false, true);
        // cos(±π/2): zero to rounding, as numpy computes it.
        assert!(w[0].abs() < 1e-15 && w[99].abs() < 1e-15);
        assert!(w[10..90].iter().all(|v| *v == 1.0));
        assert!(w[1] > 0.0 && w[1] < 1.0);
    }

    #[test]
    fn band_is_zero_outside_and_one_inside() {
        let b = [0.01, 0.02, 1.0, 2.0];
        assert_eq!(sac_band(0.005, b), 0.0);
        assert_eq!(sac_band(0.5, b), 1.0);
        assert!((sac_band(0.015, b) - 0.5).abs() < 1e-12);
        assert_eq!(sac_band(3.0, b), 0.0);
    }
}
