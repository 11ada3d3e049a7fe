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
///
/// Each output's taps are summed in eight lanes, the lanes reduced in a fixed tree, and the
/// remaining `taps.len() % 8` taps added in order; the eight-at-a-time and one-at-a-time paths
/// do exactly that, so an output never depends on where a call's boundaries fall.
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
            // SAFETY: the CPU has AVX2 and FMA (checked; AVX-512VL too for the unrolled
            // kernels), and the length check above keeps every load inside `signal` and `taps`.
            unsafe {
                if !(avx512vl() && x86::unrolled(taps, signal, step, out)) {
                    x86::strided_dots(taps, signal, step, out);
                }
            }
            return;
        }
    }
    portable::strided_dots(taps, signal, step, out);
}

/// Which kernel [`strided_dots`] uses on this CPU, for benchmark reports.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2_fma() && avx512vl() {
            return "avx2+fma (unrolled for steps 2 and 4 with AVX-512VL's 32 registers)";
        }
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

#[cfg(target_arch = "x86_64")]
fn avx512vl() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
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
        ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
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

    /// Reduces the eight-lane accumulators of eight outputs to one vector of their sums:
    /// `((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7))` for each, by a tree of horizontal adds.
    #[inline(always)]
    unsafe fn reduce8(a: &[__m256; 8]) -> __m256 {
        let h01 = _mm256_hadd_ps(a[0], a[1]);
        let h23 = _mm256_hadd_ps(a[2], a[3]);
        let h45 = _mm256_hadd_ps(a[4], a[5]);
        let h67 = _mm256_hadd_ps(a[6], a[7]);
        // Per 128-bit half: [s0 s1 s2 s3] partial sums of outputs 0..3, then 4..7.
        let q0123 = _mm256_hadd_ps(h01, h23);
        let q4567 = _mm256_hadd_ps(h45, h67);
        let lo = _mm256_permute2f128_ps(q0123, q4567, 0x20);
        let hi = _mm256_permute2f128_ps(q0123, q4567, 0x31);
        _mm256_add_ps(lo, hi)
    }

    /// The same reduction for one output, in the same order.
    #[inline(always)]
    unsafe fn reduce1(a: __m256) -> f32 {
        let h = _mm256_hadd_ps(a, a);
        let q = _mm256_hadd_ps(h, h);
        _mm_cvtss_f32(_mm_add_ss(
            _mm256_castps256_ps128(q),
            _mm256_extractf128_ps(q, 1),
        ))
    }

    /// Eight outputs' lane sums over the whole tap blocks: one tap load feeds eight chains.
    #[inline(always)]
    unsafe fn accumulate(
        tp: *const f32,
        base: *const f32,
        step: usize,
        blocks: usize,
    ) -> [__m256; 8] {
        let mut acc = [_mm256_setzero_ps(); 8];
        for b in 0..blocks {
            let h = _mm256_loadu_ps(tp.add(b * 8));
            for (q, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(h, _mm256_loadu_ps(base.add(q * step + b * 8)), *a);
            }
        }
        acc
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn strided_dots(taps: &[f32], signal: &[f32], step: usize, out: &mut [f32]) {
        let blocks = taps.len() / 8;
        dots_with(taps, signal, step, out, |tp, base| {
            accumulate(tp, base, step, blocks)
        });
    }

    /// [`strided_dots`] for a step and a tap block count known at compile time, fully
    /// unrolled, on a CPU with 32 vector registers: the taps stay in registers and, where
    /// windows overlap on a vector (output `q + 8 / STEP` at block `b` reads what output `q`
    /// reads at block `b + 1`), the compiler loads it once for all its uses. Every
    /// accumulator receives the same fused multiply-adds in the same order as in
    /// [`accumulate`], so the outputs are bit-for-bit the same.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
    unsafe fn fixed<const STEP: usize, const BLOCKS: usize>(
        taps: &[f32],
        signal: &[f32],
        out: &mut [f32],
    ) {
        let tp = taps.as_ptr();
        let mut t = [_mm256_setzero_ps(); BLOCKS];
        for (b, v) in t.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(tp.add(b * 8));
        }
        dots_with(taps, signal, STEP, out, |_, base| {
            let mut acc = [_mm256_setzero_ps(); 8];
            for (b, h) in t.iter().enumerate() {
                for (q, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(*h, _mm256_loadu_ps(base.add(q * STEP + b * 8)), *a);
                }
            }
            acc
        });
    }

    /// Runs an unrolled kernel when one exists for this step and filter length; false if not.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
    pub unsafe fn unrolled(taps: &[f32], signal: &[f32], step: usize, out: &mut [f32]) -> bool {
        macro_rules! pick {
            ($($s:literal: $($b:literal)+;)+) => {
                match (step, taps.len() / 8) {
                    $($(($s, $b) => fixed::<$s, $b>(taps, signal, out),)+)+
                    _ => return false,
                }
            };
        }
        pick! {
            2: 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20;
            4: 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20;
        }
        true
    }

    /// The outputs eight at a time with `accumulate(taps, window start)` for the whole tap
    /// blocks, the tail taps and the reduction in the fixed order, then one at a time.
    #[inline(always)]
    unsafe fn dots_with(
        taps: &[f32],
        signal: &[f32],
        step: usize,
        out: &mut [f32],
        accumulate: impl Fn(*const f32, *const f32) -> [__m256; 8],
    ) {
        let n = taps.len();
        let blocks = n / 8;
        let tp = taps.as_ptr();
        let sp = signal.as_ptr();
        let mut i = 0;
        // Eight outputs at a time: one tap load feeds eight independent FMA chains, and the
        // eight sums come out as one vector.
        while i + 8 <= out.len() {
            let base = sp.add(i * step);
            let acc = accumulate(tp, base);
            let mut sums = reduce8(&acc);
            for (k, &t) in taps.iter().enumerate().skip(blocks * 8) {
                let s = |q: usize| *base.add(q * step + k);
                let x = _mm256_setr_ps(s(0), s(1), s(2), s(3), s(4), s(5), s(6), s(7));
                sums = _mm256_fmadd_ps(_mm256_set1_ps(t), x, sums);
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(i), sums);
            i += 8;
        }
        while i < out.len() {
            let base = sp.add(i * step);
            let mut a = _mm256_setzero_ps();
            for b in 0..blocks {
                let h = _mm256_loadu_ps(tp.add(b * 8));
                a = _mm256_fmadd_ps(h, _mm256_loadu_ps(base.add(b * 8)), a);
            }
            let mut s = reduce1(a);
            for (k, &t) in taps.iter().enumerate().skip(blocks * 8) {
                s = t.mul_add(*base.add(k), s);
            }
            out[i] = s;
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

    /// The unrolled kernels give exactly the generic kernel's outputs.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn unrolled_kernels_equal_the_generic_one_bit_for_bit() {
        if !(avx2_fma() && avx512vl()) {
            eprintln!("no AVX-512VL here: nothing to compare");
            return;
        }
        let signal: Vec<f32> = (0..3000)
            .map(|i| ((i * 7919 % 1009) as f32 - 500.0) * (i as f32 * 0.013).sin())
            .collect();
        for step in [2, 4] {
            for n_taps in [17, 41, 81, 88, 121, 129, 137, 161] {
                let taps: Vec<f32> = (0..n_taps).map(|k| (k as f32 * 0.21).cos() / 9.0).collect();
                let n = (signal.len() - n_taps) / step + 1;
                let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                // SAFETY: features checked above; `n` outputs fit in `signal`.
                let used = unsafe { x86::unrolled(&taps, &signal, step, &mut a) };
                unsafe { x86::strided_dots(&taps, &signal, step, &mut b) };
                assert!(used, "{n_taps} taps, step {step}: no unrolled kernel");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "{n_taps} taps, step {step}");
            }
        }
    }
}
