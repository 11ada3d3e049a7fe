//! Frequency response of FIR filters, evaluated densely with an FFT.
//!
//! Used to verify every designed filter against its specification before it is used, so that a
//! design formula's occasional miss costs a few more taps instead of a broken promise.

use rustfft::{num_complex::Complex64, FftPlanner};

/// `|H(f)|` of the taps on `points` evenly spaced frequencies from 0 to 0.5 cycles/sample
/// (inclusive). The FFT is zero-padded to at least 16 points per tap so that the ripple peaks
/// between grid points are resolved to well under 0.001 dB.
pub fn amplitude(taps: &[f64]) -> Vec<(f64, f64)> {
    let n = (taps.len() * 16).max(1024).next_power_of_two();
    let mut buf: Vec<Complex64> = taps.iter().map(|&t| Complex64::new(t, 0.0)).collect();
    buf.resize(n, Complex64::new(0.0, 0.0));
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    buf[..=n / 2]
        .iter()
        .enumerate()
        .map(|(k, c)| (k as f64 / n as f64, c.norm()))
        .collect()
}

/// The worst passband deviation (dB, absolute) up to `pass_edge` and the worst stop-band level
/// (dB, negative) from `stop_edge` to 0.5, frequencies in cycles per sample.
pub fn measure(taps: &[f64], pass_edge: f64, stop_edge: f64) -> (f64, f64) {
    let mut ripple: f64 = 0.0;
    let mut stop = f64::NEG_INFINITY;
    for (f, a) in amplitude(taps) {
        let db = 20.0 * a.max(1e-300).log10();
        if f <= pass_edge {
            ripple = ripple.max(db.abs());
        }
        if f >= stop_edge {
            stop = stop.max(db);
        }
    }
    (ripple, stop)
}
