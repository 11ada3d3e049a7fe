//! Welch powers taken straight from a half-length complex spectrum.
//!
//! A sub-window of `2m` real samples is transformed as `m` complex ones (even samples as real
//! parts, odd ones as imaginary parts). Its real spectrum follows from pairs of that spectrum's
//! values: `X[k] = E + W^k O` and `X[m-k] = conj(E - W^k O)`, with `2E = Z[k] + conj Z[m-k]`,
//! `2O = -i (Z[k] - conj Z[m-k])` and `W = e^{-iπ/m}`. Only the powers are wanted, so the
//! spectrum is never written out: the post-processing a real FFT would do and the Welch sum
//! are one pass, [`add_pairs`], which both transforms (one plan, or the factored one) feed.

use num_complex::Complex;

/// `(4 |X[k]|², 4 |X[m-k]|²)` from `a = Z[k]`, `b = conj Z[m-k]` and `w = W^k`.
#[inline(always)]
pub(super) fn pair(a: Complex<f64>, b: Complex<f64>, w: Complex<f64>) -> (f64, f64) {
    let (e, d) = (a + b, a - b);
    let t = w * Complex::new(d.im, -d.re);
    ((e + t).norm_sqr(), (e - t).norm_sqr())
}

/// A run of pairs of the half-length spectrum: `Z[k] = a[i]` with `Z[m-k] = b[n-1-i]` and
/// `W^k = w0 · along[i]`, for each `i` below `n = a.len()`. The partner runs backwards, which
/// is how both transforms lay out `k` and `m - k`.
#[derive(Clone, Copy)]
pub(super) struct Run<'a> {
    pub a: &'a [Complex<f64>],
    pub b: &'a [Complex<f64>],
    pub w0: Complex<f64>,
    pub along: &'a [Complex<f64>],
}

/// Adds the run's `4 |X[k]|²` to `pa[i]` and `4 |X[m-k]|²` to `pb[n-1-i]`.
pub(super) fn add_pairs(run: Run, pa: &mut [f64], pb: &mut [f64]) {
    let Run { a, b, w0, along } = run;
    let n = a.len();
    assert!(b.len() == n && pa.len() == n && pb.len() == n && along.len() >= n);
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    if super::avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked above); the lengths are checked above and
        // the kernel reads and writes only below them.
        i = unsafe { add_pairs_avx2(&run, pa, pb) };
    }
    for i in i..n {
        let (x, y) = pair(a[i], b[n - 1 - i].conj(), w0 * along[i]);
        pa[i] += x;
        pb[n - 1 - i] += y;
    }
}

/// `(re, im) × z` for two complex values in `z`, `re` and `im` in both halves of each lane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) unsafe fn complex_mul(
    re: std::arch::x86_64::__m256d,
    im: std::arch::x86_64::__m256d,
    z: std::arch::x86_64::__m256d,
) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    _mm256_fmaddsub_pd(re, z, _mm256_mul_pd(im, _mm256_permute_pd::<0b0101>(z)))
}

/// [`add_pairs`] four `i` at a time; returns the first `i` not done (the caller does at most
/// three more).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_pairs_avx2(run: &Run, pa: &mut [f64], pb: &mut [f64]) -> usize {
    use std::arch::x86_64::*;
    let Run { a, b, w0, along } = *run;
    let n = a.len();
    let (ap, bp, fp) = (
        a.as_ptr() as *const f64,
        b.as_ptr() as *const f64,
        along.as_ptr() as *const f64,
    );
    let (pap, pbp) = (pa.as_mut_ptr(), pb.as_mut_ptr());
    let conj = _mm256_setr_pd(0.0, -0.0, 0.0, -0.0);
    let (cr, ci) = (_mm256_set1_pd(w0.re), _mm256_set1_pd(w0.im));
    // (|p_i|², |q_i|², |p_i+1|², |q_i+1|²) for i and i + 1
    let two = |i: usize| {
        // a = (Z[k], Z[k+1]); b = conj (Z[m-k], Z[m-k-1]); w = (W^k, W^{k+1})
        let av = _mm256_loadu_pd(ap.add(2 * i));
        let r = _mm256_loadu_pd(bp.add(2 * (n - 2 - i)));
        let bv = _mm256_xor_pd(_mm256_permute2f128_pd::<0x01>(r, r), conj);
        let w = complex_mul(cr, ci, _mm256_loadu_pd(fp.add(2 * i)));
        let e = _mm256_add_pd(av, bv);
        let d = _mm256_sub_pd(av, bv);
        // t = -i (w d) = (u.im, -u.re) for u = w d: (u.im, u.re) straight from the swapped
        // d, then the sign
        let (wr, wi) = (_mm256_movedup_pd(w), _mm256_permute_pd::<0b1111>(w));
        let su = _mm256_fmsubadd_pd(wr, _mm256_permute_pd::<0b0101>(d), _mm256_mul_pd(wi, d));
        let t = _mm256_xor_pd(su, conj);
        let (p, q) = (_mm256_add_pd(e, t), _mm256_sub_pd(e, t));
        _mm256_hadd_pd(_mm256_mul_pd(p, p), _mm256_mul_pd(q, q))
    };
    let mut i = 0;
    while i + 4 <= n {
        let (h0, h1) = (two(i), two(i + 2));
        // (p_i, p_i+2, p_i+1, p_i+3) and (q_i, q_i+2, q_i+1, q_i+3)
        let ps = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_unpacklo_pd(h0, h1));
        let qs = _mm256_permute4x64_pd::<0b00_10_01_11>(_mm256_unpackhi_pd(h0, h1));
        let lo = pap.add(i);
        _mm256_storeu_pd(lo, _mm256_add_pd(_mm256_loadu_pd(lo), ps));
        let hi = pbp.add(n - 4 - i);
        _mm256_storeu_pd(hi, _mm256_add_pd(_mm256_loadu_pd(hi), qs));
        i += 4;
    }
    i
}

/// `psd[k] += 4 |X[k]|²` for `k` in `0..=m`, where `z` is the `m`-point complex FFT of the
/// `2m` real samples taken as pairs, in natural order.
pub(super) fn add_power(psd: &mut [f64], z: &[Complex<f64>], twiddles: &Twiddles) {
    let m = z.len();
    let (first, last) = pair(z[0], z[0].conj(), Complex::new(1.0, 0.0));
    psd[0] += first;
    psd[m] += last;
    // k and m - k for k in 1..upper, in runs that share one coarse twiddle
    let upper = m.div_ceil(2);
    let mut k = 1;
    while k < upper {
        let end = ((k / FINE + 1) * FINE).min(upper);
        let (left, right) = psd.split_at_mut(m - end + 1);
        let run = Run {
            a: &z[k..end],
            b: &z[m - end + 1..m - k + 1],
            w0: twiddles.coarse[k / FINE],
            along: &twiddles.fine[k % FINE..],
        };
        add_pairs(run, &mut left[k..end], &mut right[..end - k]);
        k = end;
    }
    if m % 2 == 0 && m >= 2 {
        let k = m / 2;
        psd[k] += pair(z[k], z[k].conj(), twiddles.at(k)).0;
    }
}

/// Fine twiddles per coarse one.
const FINE: usize = 64;

/// `W^k = e^{-2πik/n}` for `k` up to `n/4` as `coarse[k / FINE] · fine[k % FINE]`: two tables
/// of a few KiB instead of one of `n/4` values (256 KiB at ObsPy's hour segments), which
/// would share the core's cache with the FFT. The product costs about an ulp.
pub(super) struct Twiddles {
    coarse: Vec<Complex<f64>>,
    fine: Vec<Complex<f64>>,
}

impl Twiddles {
    pub(super) fn new(n: usize) -> Twiddles {
        Twiddles {
            coarse: (0..=n / 4 / FINE).map(|j| root(j * FINE, n)).collect(),
            fine: (0..FINE).map(|k| root(k, n)).collect(),
        }
    }

    fn at(&self, k: usize) -> Complex<f64> {
        self.coarse[k / FINE] * self.fine[k % FINE]
    }
}

/// `e^{-2πik/n}`, from the angle of `k mod n` (exact to the rounding of one sine and cosine).
pub(super) fn root(k: usize, n: usize) -> Complex<f64> {
    let (s, c) = (-2.0 * std::f64::consts::PI * (k % n) as f64 / n as f64).sin_cos();
    Complex::new(c, s)
}
