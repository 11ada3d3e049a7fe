//! The decimating FIR inner loop: many dot products of one set of taps with windows of a signal
//! that start `step` samples apart.
//!
//! `out[i] = sum_k taps[k] * signal[i * step + k]`, which is a polyphase decimator when `step` is
//! the decimation factor (the taps are symmetric, so correlation equals convolution).
//!
//! Every output is computed by the same sequence of operations wherever it falls in a call: eight
//! lanes accumulated over the taps in blocks of eight, reduced in a fixed order, then the tail
//! taps added one by one. Feeding a stream in pieces therefore gives bit-for-bit the output of
//! feeding it whole. Outputs are computed eight at a time, sharing each load of the taps and
//! keeping eight independent accumulation chains in flight; with AVX2 and FMA (detected at run
//! time) each block is one fused multiply-add instruction per output.

/// Computes `out.len()` outputs. `signal` must hold at least
/// `(out.len() - 1) * step + taps.len()` samples.
pub fn strided_dots(taps: &[f32], signal: &[f32], step: usize, out: &mut [f32]) {
    if out.is_empty() {
        return;
    }
    assert!(
        signal.len() >= (out.len() - 1) * step + taps.len(),
        "signal too short for the outputs asked"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA (checked), and the length check above keeps every
            // load inside `signal` and `taps`.
            unsafe { x86::strided_dots(taps, signal, step, out) };
            return;
        }
    }
    portable::strided_dots(taps, signal, step, out);
}

/// Which kernel [`strided_dots`] uses on this CPU, for benchmark reports.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2_fma() {
            return "avx2+fma";
        }
    }
    "portable"
}

#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Plain Rust: eight-lane arrays the compiler vectorises with whatever the target offers.
mod portable {
    #[inline(always)]
    fn dot(taps: &[f32], x: &[f32]) -> f32 {
        let blocks = taps.len() / 8;
        let mut acc = [0f32; 8];
        for b in 0..blocks {
            for l in 0..8 {
                acc[l] += taps[b * 8 + l] * x[b * 8 + l];
            }
        }
        let mut s = hsum(acc);
        for k in blocks * 8..taps.len() {
            s += taps[k] * x[k];
        }
        s
    }

    #[inline(always)]
    fn hsum(a: [f32; 8]) -> f32 {
        let q = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
        (q[0] + q[2]) + (q[1] + q[3])
    }

    pub fn strided_dots(taps: &[f32], signal: &[f32], step: usize, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot(taps, &signal[i * step..i * step + taps.len()]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Horizontal sum in the same order as the portable kernel: halves, then pairs.
    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        // q = [a0+a4, a1+a5, a2+a6, a3+a7]; (q0+q2) + (q1+q3)
        let h = _mm_add_ps(q, _mm_movehl_ps(q, q));
        _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)))
    }

    #[inline(always)]
    unsafe fn tail(taps: &[f32], x: *const f32, from: usize, mut s: f32) -> f32 {
        for (k, &t) in taps.iter().enumerate().skip(from) {
            s += t * *x.add(k);
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn strided_dots(taps: &[f32], signal: &[f32], step: usize, out: &mut [f32]) {
        let n = taps.len();
        let blocks = n / 8;
        let tp = taps.as_ptr();
        let sp = signal.as_ptr();
        let mut i = 0;
        // Eight outputs at a time: one tap load feeds eight independent FMA chains.
        while i + 8 <= out.len() {
            let base = sp.add(i * step);
            let mut acc = [_mm256_setzero_ps(); 8];
            for b in 0..blocks {
                let h = _mm256_loadu_ps(tp.add(b * 8));
                for (q, a) in acc.iter_mut().enumerate() {
                    let x = _mm256_loadu_ps(base.add(q * step + b * 8));
                    *a = _mm256_fmadd_ps(h, x, *a);
                }
            }
            for (q, a) in acc.iter().enumerate() {
                out[i + q] = tail(taps, base.add(q * step), blocks * 8, hsum(*a));
            }
            i += 8;
        }
        while i < out.len() {
            let base = sp.add(i * step);
            let mut a = _mm256_setzero_ps();
            for b in 0..blocks {
                let h = _mm256_loadu_ps(tp.add(b * 8));
                a = _mm256_fmadd_ps(h, _mm256_loadu_ps(base.add(b * 8)), a);
            }
            out[i] = tail(taps, base, blocks * 8, hsum(a));
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(taps: &[f32], signal: &[f32], step: usize, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                taps.iter()
                    .enumerate()
                    .map(|(k, &t)| t as f64 * signal[i * step + k] as f64)
                    .sum()
            })
            .collect()
    }

    #[test]
    fn matches_a_plain_dot_product() {
        for n_taps in [1, 7, 8, 9, 33, 161] {
            for step in [1, 2, 3, 10] {
                let taps: Vec<f32> = (0..n_taps)
                    .map(|k| ((k * 7 % 13) as f32 - 6.0) / 10.0)
                    .collect();
                let signal: Vec<f32> = (0..2000).map(|i| ((i * 31 % 101) as f32).sin()).collect();
                let n = (signal.len() - n_taps) / step + 1;
                let mut out = vec![0.0; n];
                strided_dots(&taps, &signal, step, &mut out);
                let want = reference(&taps, &signal, step, n);
                for (o, w) in out.iter().zip(&want) {
                    assert!((*o as f64 - w).abs() < 1e-4, "{n_taps} taps, step {step}");
                }
            }
        }
    }

    #[test]
    fn an_output_does_not_depend_on_its_neighbours() {
        let taps: Vec<f32> = (0..45).map(|k| (k as f32 * 0.37).cos()).collect();
        let signal: Vec<f32> = (0..500).map(|i| (i as f32 * 0.11).sin() * 1e3).collect();
        let mut all = vec![0.0; 40];
        strided_dots(&taps, &signal, 4, &mut all);
        for i in 0..40 {
            let mut one = [0.0];
            strided_dots(&taps, &signal[i * 4..], 4, &mut one);
            assert_eq!(one[0].to_bits(), all[i].to_bits());
        }
    }
}
