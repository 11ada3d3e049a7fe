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

/// Filters several channels through the same sections, each carrying its own state: the same
/// result per channel as [`filter`] on each, computed four channels at a time in SIMD lanes
/// when the CPU has AVX2 and FMA (checked at run time) and the cascade has at most eight
/// sections.
///
/// A recursive filter is latency-bound on one channel (each sample waits for the previous
/// one), so running independent channels side by side is what makes it fast; a group of fewer
/// than four channels is padded with silent lanes, so a channel's output is bit-for-bit the
/// same whatever block it arrives in and however it is split in time.
pub fn filter_channels(sos: &[Section], states: &mut [State], x: &[&[f32]], y: &mut [&mut [f32]]) {
    debug_assert_eq!(states.len(), x.len());
    debug_assert_eq!(x.len(), y.len());
    #[cfg(target_arch = "x86_64")]
    {
        if lanes::usable(sos.len()) {
            for ((st, xs), ys) in states
                .chunks_mut(lanes::WIDTH)
                .zip(x.chunks(lanes::WIDTH))
                .zip(y.chunks_mut(lanes::WIDTH))
            {
                lanes::filter_group(sos, st, xs, ys);
            }
            return;
        }
    }
    for ((st, xs), ys) in states.iter_mut().zip(x).zip(y.iter_mut()) {
        filter(sos, st, xs, ys);
    }
}

/// Which kernel [`filter_channels`] uses for `sections` sections on this CPU, for benchmark
/// reports.
pub fn kernel_name(sections: usize) -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if lanes::usable(sections) {
            return "avx2+fma, 4 channels per vector";
        }
    }
    "portable, one channel at a time"
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

/// Four channels per 256-bit vector of f64 (AVX2 + FMA): the transposed direct form II of
/// [`step`] with fused multiply-adds, the section count a compile-time constant so that the
/// states stay in registers.
#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::{Section, State};
    use std::arch::x86_64::*;

    pub const WIDTH: usize = 4;
    /// Longer cascades (a band-pass above order 16) run one channel at a time.
    const MAX_SECTIONS: usize = 8;

    pub fn usable(sections: usize) -> bool {
        (1..=MAX_SECTIONS).contains(&sections)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }

    /// Up to four channels; missing lanes are fed zeros and their outputs thrown away.
    pub fn filter_group(sos: &[Section], states: &mut [State], x: &[&[f32]], y: &mut [&mut [f32]]) {
        let n = x.first().map_or(0, |r| r.len());
        assert!(x.len() <= WIDTH && y.len() == x.len() && states.len() == x.len());
        assert!(x.iter().all(|r| r.len() == n) && y.iter().all(|r| r.len() == n));
        let silent = vec![0f32; if x.len() < WIDTH { n } else { 0 }];
        let mut spare: Vec<Vec<f32>> = (x.len()..WIDTH).map(|_| vec![0f32; n]).collect();
        let xs: [&[f32]; WIDTH] = std::array::from_fn(|l| x.get(l).copied().unwrap_or(&silent));
        let mut z = vec![[[0f64; WIDTH]; 2]; sos.len()];
        for (l, st) in states.iter().enumerate() {
            for (k, zk) in st.iter().enumerate() {
                z[k][0][l] = zk[0];
                z[k][1][l] = zk[1];
            }
        }
        {
            let mut ys: Vec<&mut [f32]> = y.iter_mut().map(|r| &mut **r).collect();
            ys.extend(spare.iter_mut().map(Vec::as_mut_slice));
            let ys: [&mut [f32]; WIDTH] = ys.try_into().expect("four lanes");
            // SAFETY: AVX2 and FMA were checked by `usable`; every row holds `n` samples.
            unsafe {
                match sos.len() {
                    1 => run::<1>(sos, &mut z, xs, ys, n),
                    2 => run::<2>(sos, &mut z, xs, ys, n),
                    3 => run::<3>(sos, &mut z, xs, ys, n),
                    4 => run::<4>(sos, &mut z, xs, ys, n),
                    5 => run::<5>(sos, &mut z, xs, ys, n),
                    6 => run::<6>(sos, &mut z, xs, ys, n),
                    7 => run::<7>(sos, &mut z, xs, ys, n),
                    8 => run::<8>(sos, &mut z, xs, ys, n),
                    _ => unreachable!("checked by usable"),
                }
            }
        }
        for (l, st) in states.iter_mut().enumerate() {
            for (k, zk) in st.iter_mut().enumerate() {
                *zk = [z[k][0][l], z[k][1][l]];
            }
        }
    }

    /// Rows ↔ lanes, four samples at a time: `[a, b, c, d]` rows to four vectors of one time
    /// step each (and back, the same shuffle).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn transpose(r: [__m128; 4]) -> [__m128; 4] {
        let t0 = _mm_unpacklo_ps(r[0], r[1]);
        let t1 = _mm_unpacklo_ps(r[2], r[3]);
        let t2 = _mm_unpackhi_ps(r[0], r[1]);
        let t3 = _mm_unpackhi_ps(r[2], r[3]);
        [
            _mm_movelh_ps(t0, t1),
            _mm_movehl_ps(t1, t0),
            _mm_movelh_ps(t2, t3),
            _mm_movehl_ps(t3, t2),
        ]
    }

    /// # Safety
    /// The CPU has AVX2 and FMA; every row of `x` and `y` holds at least `n` samples.
    ///
    /// Everything lives in local arrays of vectors indexed by constants once the section loop
    /// is unrolled, so that the states stay in registers from sample to sample.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run<const N: usize>(
        sos: &[Section],
        z: &mut [[[f64; WIDTH]; 2]],
        x: [&[f32]; WIDTH],
        y: [&mut [f32]; WIDTH],
        n: usize,
    ) {
        let coef =
            |i: usize| -> [__m256d; N] { std::array::from_fn(|k| _mm256_set1_pd(sos[k][i])) };
        let (b0, b1, b2, a1, a2) = (coef(0), coef(1), coef(2), coef(4), coef(5));
        let mut z0: [__m256d; N] = std::array::from_fn(|k| _mm256_loadu_pd(z[k][0].as_ptr()));
        let mut z1: [__m256d; N] = std::array::from_fn(|k| _mm256_loadu_pd(z[k][1].as_ptr()));
        let xp: [*const f32; WIDTH] = std::array::from_fn(|l| x[l].as_ptr());
        let yp: [*mut f32; WIDTH] = std::array::from_fn(|l| y[l].as_ptr() as *mut f32);
        // One sample of each lane through every section.
        macro_rules! step {
            ($v:expr) => {{
                let mut v = $v;
                for k in 0..N {
                    let out = _mm256_fmadd_pd(b0[k], v, z0[k]);
                    let t = _mm256_fmadd_pd(b1[k], v, z1[k]);
                    z0[k] = _mm256_fnmadd_pd(a1[k], out, t);
                    z1[k] = _mm256_fnmadd_pd(a2[k], out, _mm256_mul_pd(b2[k], v));
                    v = out;
                }
                v
            }};
        }
        let mut t = 0;
        while t + 4 <= n {
            let s = transpose([
                _mm_loadu_ps(xp[0].add(t)),
                _mm_loadu_ps(xp[1].add(t)),
                _mm_loadu_ps(xp[2].add(t)),
                _mm_loadu_ps(xp[3].add(t)),
            ]);
            let o0 = _mm256_cvtpd_ps(step!(_mm256_cvtps_pd(s[0])));
            let o1 = _mm256_cvtpd_ps(step!(_mm256_cvtps_pd(s[1])));
            let o2 = _mm256_cvtpd_ps(step!(_mm256_cvtps_pd(s[2])));
            let o3 = _mm256_cvtpd_ps(step!(_mm256_cvtps_pd(s[3])));
            let r = transpose([o0, o1, o2, o3]);
            _mm_storeu_ps(yp[0].add(t), r[0]);
            _mm_storeu_ps(yp[1].add(t), r[1]);
            _mm_storeu_ps(yp[2].add(t), r[2]);
            _mm_storeu_ps(yp[3].add(t), r[3]);
            t += 4;
        }
        while t < n {
            let v = _mm256_setr_pd(
                *xp[0].add(t) as f64,
                *xp[1].add(t) as f64,
                *xp[2].add(t) as f64,
                *xp[3].add(t) as f64,
            );
            let mut o = [0f32; 4];
            _mm_storeu_ps(o.as_mut_ptr(), _mm256_cvtpd_ps(step!(v)));
            for l in 0..WIDTH {
                *yp[l].add(t) = o[l];
            }
            t += 1;
        }
        for k in 0..N {
            _mm256_storeu_pd(z[k][0].as_mut_ptr(), z0[k]);
            _mm256_storeu_pd(z[k][1].as_mut_ptr(), z1[k]);
        }
    }
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

    fn channels(c: usize, n: usize) -> Vec<Vec<f32>> {
        (0..c)
            .map(|ch| {
                (0..n)
                    .map(|i| ((i * 7919 + ch * 31) % 1000) as f32 - 500.0 + (i as f32 * 0.01).sin())
                    .collect()
            })
            .collect()
    }

    fn run_channels(sos: &[Section], x: &[Vec<f32>], pieces: &[usize]) -> Vec<Vec<f32>> {
        let mut states: Vec<State> = vec![vec![[0.0; 2]; sos.len()]; x.len()];
        let mut out: Vec<Vec<f32>> = x.iter().map(|r| vec![0.0; r.len()]).collect();
        let mut at = 0usize;
        for &len in pieces.iter().chain(std::iter::once(&usize::MAX)) {
            let end = at.saturating_add(len).min(x[0].len());
            let xs: Vec<&[f32]> = x.iter().map(|r| &r[at..end]).collect();
            let mut ys: Vec<&mut [f32]> = out.iter_mut().map(|r| &mut r[at..end]).collect();
            filter_channels(sos, &mut states, &xs, &mut ys);
            at = end;
        }
        out
    }

    #[test]
    fn channels_together_equal_each_alone_and_in_pieces() {
        for (order, band) in [
            (4, Band::Bandpass(0.1, 10.0)),
            (2, Band::Lowpass(5.0)),
            (10, Band::Bandpass(1.0, 20.0)),
        ] {
            let sos = zpk2sos(&butter(order, band, 100.0).unwrap());
            let x = channels(7, 1001);
            let whole = run_channels(&sos, &x, &[]);
            for (ch, row) in x.iter().enumerate() {
                // Bit for bit: alone, in a group of another size, and split at odd points.
                let alone = run_channels(&sos, std::slice::from_ref(row), &[]);
                assert_eq!(alone[0], whole[ch], "order {order} channel {ch} alone");
                let pieces = run_channels(&sos, std::slice::from_ref(row), &[1, 3, 250, 5]);
                assert_eq!(pieces[0], whole[ch], "order {order} channel {ch} in pieces");
                // And equal to the one-channel reference loop within rounding.
                let mut state = vec![[0.0; 2]; sos.len()];
                let mut want = vec![0.0; row.len()];
                filter(&sos, &mut state, row, &mut want);
                let peak = want.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (a, b) in whole[ch].iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-5 * peak, "order {order}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn short_windows_are_refused() {
        let sos = zpk2sos(&butter(4, Band::Highpass(1.0), 100.0).unwrap());
        let mut y = vec![0.0; 10];
        assert!(filtfilt(&sos, &[0.0; 10], &mut y, pad_length(&sos)).is_err());
    }
}
