//! Running second-order sections: causal filtering with carried state (SciPy's `sosfilt`) and
//! zero-phase forward-backward filtering of a window (SciPy's `sosfiltfilt`).
//!
//! Arithmetic is f64 whatever the sample type: a high-order band-pass has poles close to the unit
//! circle, and f32 state would drift visibly from the reference implementation.

use super::zpk2sos::Section;

/// Per-section state `[z0, z1]` of the transposed direct form II.
pub type State = Vec<[f64; 2]>;

/// Filters `x` into `y` (same length), carrying `state` across calls: feeding a signal in pieces
/// gives exactly the output of feeding it whole.
pub fn filter(sos: &[Section], state: &mut [[f64; 2]], x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len(), y.len());
    debug_assert_eq!(sos.len(), state.len());
    for (xi, yi) in x.iter().zip(y.iter_mut()) {
        *yi = step(sos, state, *xi as f64) as f32;
    }
}

/// The same in f64, in place (used inside [`filtfilt`]).
fn filter_f64(sos: &[Section], state: &mut [[f64; 2]], x: &mut [f64]) {
    for xi in x.iter_mut() {
        *xi = step(sos, state, *xi);
    }
}

/// One sample through every section (transposed direct form II).
#[inline(always)]
fn step(sos: &[Section], state: &mut [[f64; 2]], mut v: f64) -> f64 {
    for (s, z) in sos.iter().zip(state.iter_mut()) {
        let out = s[0] * v + z[0];
        z[0] = s[1] * v - s[4] * out + z[1];
        z[1] = s[2] * v - s[5] * out;
        v = out;
    }
    v
}

/// Initial state for a step response at steady state, per unit input (SciPy's `sosfilt_zi`).
pub fn steady_state(sos: &[Section]) -> State {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let (b0, b1, b2, a1, a2) = (s[0], s[1], s[2], s[4], s[5]);
            // Solve zi = A zi + B for the companion form of this section.
            let (c0, c1) = (b1 - a1 * b0, b2 - a2 * b0);
            let z0 = (c0 + c1) / (1.0 + a1 + a2);
            let z1 = c1 - a2 * z0;
            let zi = [scale * z0, scale * z1];
            scale *= (b0 + b1 + b2) / (1.0 + a1 + a2);
            zi
        })
        .collect()
}

/// How many samples `filtfilt` extends each end by: three times the filter's number of taps.
pub fn pad_length(sos: &[Section]) -> usize {
    let zeros_b2 = sos.iter().filter(|s| s[2] == 0.0).count();
    let zeros_a2 = sos.iter().filter(|s| s[5] == 0.0).count();
    3 * (2 * sos.len() + 1 - zeros_b2.min(zeros_a2))
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("zero-phase filtering needs more than {needed} samples per window, got {got}")]
pub struct TooShort {
    pub needed: usize,
    pub got: usize,
}

/// Zero-phase filtering of one window, as SciPy's `sosfiltfilt` with its defaults: the window is
/// extended at both ends by odd reflection, filtered forwards from the steady state of its first
/// sample, then backwards from the steady state of the last output, and the extension removed.
///
/// `pad` is the extension length, normally [`pad_length`]; it must be shorter than the window.
pub fn filtfilt(sos: &[Section], x: &[f32], y: &mut [f32], pad: usize) -> Result<(), TooShort> {
    let n = x.len();
    if n <= pad {
        return Err(TooShort {
            needed: pad,
            got: n,
        });
    }
    let (first, last) = (x[0] as f64, x[n - 1] as f64);
    let mut ext = Vec::with_capacity(n + 2 * pad);
    ext.extend((1..=pad).rev().map(|i| 2.0 * first - x[i] as f64));
    ext.extend(x.iter().map(|&v| v as f64));
    ext.extend((1..=pad).map(|i| 2.0 * last - x[n - 1 - i] as f64));
    let zi = steady_state(sos);
    let start = |v: f64| -> State { zi.iter().map(|z| [z[0] * v, z[1] * v]).collect() };
    let mut state = start(ext[0]);
    filter_f64(sos, &mut state, &mut ext);
    ext.reverse();
    let mut state = start(ext[0]);
    filter_f64(sos, &mut state, &mut ext);
    ext.reverse();
    for (o, v) in y.iter_mut().zip(&ext[pad..pad + n]) {
        *o = *v as f32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::butter::{butter, Band};
    use crate::dsp::zpk2sos::zpk2sos;

    #[test]
    fn steady_state_passes_a_constant_unchanged() {
        let sos = zpk2sos(&butter(4, Band::Lowpass(5.0), 100.0).unwrap());
        let mut state: State = steady_state(&sos)
            .iter()
            .map(|z| [z[0] * 3.0, z[1] * 3.0])
            .collect();
        let x = vec![3.0f32; 50];
        let mut y = vec![0.0f32; 50];
        filter(&sos, &mut state, &x, &mut y);
        assert!(y.iter().all(|v| (v - 3.0).abs() < 1e-5), "{y:?}");
    }

    #[test]
    fn short_windows_are_refused() {
        let sos = zpk2sos(&butter(4, Band::Highpass(1.0), 100.0).unwrap());
        let mut y = vec![0.0; 10];
        assert!(filtfilt(&sos, &[0.0; 10], &mut y, pad_length(&sos)).is_err());
    }
}
