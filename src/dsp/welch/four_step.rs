//! A sub-window's half-length complex transform factored as `n1 × n2` (Bailey's four-step),
//! with the detrend and taper folded into its first step and the Welch powers into its last.
//!
//! At ObsPy's hour segments a sub-window is 32,768 complex values: 0.5 MiB, plus as much
//! scratch for one FFT plan, which fills the core's 1 MiB L2 on their own, so the single
//! transform waits on memory. Here every small transform runs on a few KiB in L1:
//!
//! 1. columns: `n1`-point FFTs over `z[n2·i + c]`, `G` columns at a time, gathered straight
//!    from the samples (detrended and tapered as they are read), then multiplied by
//!    `ω^{c·k1}` and stored as rows of `t`;
//! 2. rows: `n2`-point FFTs over each row of `t`, which then holds `Z[k1 + n1·k2]` at
//!    `t[k1][k2]`. Row `k1` pairs with row `n1 - k1` (`m - k` is `n1 - k1 + n1 (n2 - 1 - k2)`),
//!    so each pair of rows goes through [`add_pairs`] while it is still in L1, into powers
//!    kept in the same row layout until the segment is done ([`FourStep::unscramble`]).
//!
//! The samples are read once, `t` written once and read once: no pass writes the FFT input
//! and none reads the spectrum back.

use std::sync::Arc;

use num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::power::{add_pairs, pair, root, Run};
use super::{fill_span, Line, Taper};

/// Columns transformed together: 8 complex values are 16 samples, a 64-byte line of f32.
const G: usize = 8;

/// Padding after each row of `t`: rows `n2` values apart would all fall in the same few sets
/// of the L1 cache (4 KiB apart at hour segments), and step 1 writes every row in turn.
const PAD: usize = 4;

/// The smallest half-length worth factoring: below it one plan's buffers sit in L2 anyway.
const SMALLEST: usize = 8192;

/// The factored transform for one half-length `m = n1 · n2`.
pub(super) struct FourStep {
    n1: usize,
    n2: usize,
    cols: Arc<dyn Fft<f64>>,
    rows: Arc<dyn Fft<f64>>,
    /// `ω^{j·k1}` at `[k1][j]` for `j < G` (`ω = e^{-2πi/m}`).
    lo: Vec<Complex<f64>>,
    /// `ω^{G·g·k1}` at `[g][k1]`: with `lo`, the twiddle of column `G·g + j`.
    hi: Vec<Complex<f64>>,
    /// `W^{n1·k2}` for `k2 < n2` (`W = e^{-iπ/m}`, the real spectrum's twiddle).
    along: Vec<Complex<f64>>,
    /// `W^{k1}` for `k1 <= n1 / 2`.
    across: Vec<Complex<f64>>,
}

/// One thread's buffers for one [`FourStep`].
pub(super) struct Work {
    /// The rows, `n1` of `n2` values, each followed by [`PAD`].
    t: Vec<Complex<f64>>,
    /// `G` columns, each contiguous.
    cols: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl FourStep {
    /// The factored transform for half-length `m`, when `m` is a power of two big enough.
    pub(super) fn new(m: usize) -> Option<FourStep> {
        if !m.is_power_of_two() || m < SMALLEST {
            return None;
        }
        let n1 = 1 << (m.trailing_zeros() / 2);
        let n2 = m / n1;
        let mut planner = FftPlanner::<f64>::new();
        Some(FourStep {
            n1,
            n2,
            cols: planner.plan_fft_forward(n1),
            rows: planner.plan_fft_forward(n2),
            lo: (0..n1)
                .flat_map(|k1| (0..G).map(move |j| root(j * k1, m)))
                .collect(),
            hi: (0..n2 / G)
                .flat_map(|g| (0..n1).map(move |k1| root(G * g * k1, m)))
                .collect(),
            along: (0..n2).map(|k2| root(n1 * k2, 2 * m)).collect(),
            across: (0..=n1 / 2).map(|k1| root(k1, 2 * m)).collect(),
        })
    }

    pub(super) fn work(&self) -> Work {
        let zero = Complex::new(0.0, 0.0);
        let scratch = self
            .cols
            .get_inplace_scratch_len()
            .max(self.rows.get_inplace_scratch_len());
        Work {
            t: vec![zero; self.n1 * (self.n2 + PAD)],
            cols: vec![zero; G * self.n1],
            scratch: vec![zero; scratch],
        }
    }

    /// Adds `4 |X[k]|²` of the sub-window `y` (`2m` samples), detrended by `line` and
    /// tapered, into `p`: `m + 1` powers in row layout (`k1 + n1·k2` at `k1·n2 + k2`, the
    /// Nyquist last).
    pub(super) fn add_power(
        &self,
        y: (&[f32], Line),
        taper: &Taper,
        work: &mut Work,
        p: &mut [f64],
    ) {
        self.columns(y, taper, work);
        self.rows(work, p);
    }

    /// Step 1: every column's transform, twiddled, into the rows of `work.t`.
    fn columns(&self, y: (&[f32], Line), taper: &Taper, work: &mut Work) {
        assert!(y.0.len() >= 2 * self.n1 * self.n2);
        for g in 0..self.n2 / G {
            self.gather(y, taper, g, &mut work.cols);
            self.cols
                .process_with_scratch(&mut work.cols, &mut work.scratch);
            self.twiddle(g, &work.cols, &mut work.t);
        }
    }

    /// Columns `G·g..G·g + G` of the sub-window, detrended and tapered, each contiguous in
    /// `cols`. Row `i` of a group is 16 consecutive samples: one cache line of f32.
    fn gather(
        &self,
        (y, line): (&[f32], Line),
        taper: &Taper,
        g: usize,
        cols: &mut [Complex<f64>],
    ) {
        let (n1, n2) = (self.n1, self.n2);
        #[cfg(target_arch = "x86_64")]
        if super::avx2() {
            // SAFETY: the CPU has AVX2 (checked above); `columns` checked that `y` holds the
            // sub-window, `cols` holds `G·n1` values and the taper `2m`.
            unsafe { gather_avx2((y, line), taper, (n1, n2, g), cols) };
            return;
        }
        let mut d = [0.0f64; 2 * G];
        for i in 0..n1 {
            let from = 2 * (n2 * i + G * g);
            let span = from..from + 2 * G;
            let w = (span.start < taper.ones.start || span.end > taper.ones.end)
                .then(|| &taper.values[span.clone()]);
            fill_span((&y[span], line), from, w, &mut d);
            for j in 0..G {
                cols[j * n1 + i] = Complex::new(d[2 * j], d[2 * j + 1]);
            }
        }
    }

    /// Group `g`'s transformed columns times `ω^{c·k1}`, stored as their place in each row.
    fn twiddle(&self, g: usize, cols: &[Complex<f64>], t: &mut [Complex<f64>]) {
        let (n1, s) = (self.n1, self.n2 + PAD);
        let hi = &self.hi[g * n1..(g + 1) * n1];
        assert!(cols.len() >= G * n1 && t.len() >= n1 * s && self.lo.len() >= G * n1);
        #[cfg(target_arch = "x86_64")]
        if super::avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked above); the lengths are checked above.
            unsafe { twiddle_avx2(hi, &self.lo, cols, (n1, s, g), t) };
            return;
        }
        for k1 in 0..n1 {
            let row = &mut t[k1 * s + G * g..][..G];
            let lo = &self.lo[k1 * G..(k1 + 1) * G];
            for j in 0..G {
                row[j] = cols[j * n1 + k1] * (hi[k1] * lo[j]);
            }
        }
    }

    /// Step 2: each pair of rows transformed and its powers added. Row `k1` pairs with row
    /// `n1 - k1`; rows 0 and `n1 / 2` pair with themselves.
    fn rows(&self, work: &mut Work, p: &mut [f64]) {
        self.first_row(work, p);
        for k1 in 1..self.n1 / 2 {
            self.row_pair(k1, work, p);
        }
        self.middle_row(work, p);
    }

    /// Row 0: `k = n1·k2` pairs with `n1·(n2 - k2)`; DC with the Nyquist, `m/2` alone.
    fn first_row(&self, work: &mut Work, p: &mut [f64]) {
        let (n2, half, m) = (self.n2, self.n2 / 2, self.n1 * self.n2);
        let one = Complex::new(1.0, 0.0);
        let row = &mut work.t[..n2];
        self.rows.process_with_scratch(row, &mut work.scratch);
        let (first, last) = pair(row[0], row[0].conj(), one);
        p[0] += first;
        p[m] += last;
        let (a, b) = row.split_at(half + 1);
        let (pa, pb) = p[..n2].split_at_mut(half + 1);
        let (a, along) = (&a[1..half], &self.along[1..]);
        add_pairs(
            Run {
                a,
                b,
                w0: one,
                along,
            },
            &mut pa[1..half],
            pb,
        );
        pa[half] += pair(row[half], row[half].conj(), self.along[half]).0;
    }

    /// Row `n1 / 2`: `k2` pairs with `n2 - 1 - k2` in the same row.
    fn middle_row(&self, work: &mut Work, p: &mut [f64]) {
        let (k1, n2, s) = (self.n1 / 2, self.n2, self.n2 + PAD);
        let row = &mut work.t[k1 * s..k1 * s + n2];
        self.rows.process_with_scratch(row, &mut work.scratch);
        let (a, b) = row.split_at(n2 / 2);
        let (pa, pb) = p[k1 * n2..(k1 + 1) * n2].split_at_mut(n2 / 2);
        add_pairs(self.run(k1, a, b), pa, pb);
    }

    /// Rows `k1` and `n1 - k1`: `k2` in the first pairs with `n2 - 1 - k2` in the second.
    fn row_pair(&self, k1: usize, work: &mut Work, p: &mut [f64]) {
        let (n1, n2, s) = (self.n1, self.n2, self.n2 + PAD);
        let (left, right) = work.t.split_at_mut((n1 - k1) * s);
        let a = &mut left[k1 * s..k1 * s + n2];
        let b = &mut right[..n2];
        self.rows.process_with_scratch(a, &mut work.scratch);
        self.rows.process_with_scratch(b, &mut work.scratch);
        let (pl, pr) = p.split_at_mut((n1 - k1) * n2);
        add_pairs(
            self.run(k1, a, b),
            &mut pl[k1 * n2..(k1 + 1) * n2],
            &mut pr[..n2],
        );
    }

    /// Row `k1`'s values `a` with their partners `b` (from the end).
    fn run<'a>(&'a self, k1: usize, a: &'a [Complex<f64>], b: &'a [Complex<f64>]) -> Run<'a> {
        let (w0, along) = (self.across[k1], &self.along[..]);
        Run { a, b, w0, along }
    }

    /// Powers in row layout (`m + 1` of them) into natural order in `psd`.
    pub(super) fn unscramble(&self, p: &[f64], psd: &mut [f64]) {
        let (n1, n2) = (self.n1, self.n2);
        // written in order, read across the rows
        for (k2, out) in psd[..n1 * n2].chunks_exact_mut(n1).enumerate() {
            for (k1, o) in out.iter_mut().enumerate() {
                *o = p[k1 * n2 + k2];
            }
        }
        psd[n1 * n2] = p[n1 * n2];
    }
}

/// [`FourStep::gather`] with AVX2, two rows at a time so that each column's two values are
/// one store. The detrend is [`fill_span`]'s kernel: the same operations in the same order
/// (no fused multiply-add), so the same bits; its abscissae are whole or half integers, exact
/// however they are summed.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gather_avx2(
    (y, line): (&[f32], Line),
    taper: &Taper,
    (n1, n2, g): (usize, usize, usize),
    cols: &mut [Complex<f64>],
) {
    use std::arch::x86_64::*;
    let lanes: [__m256d; G / 2] = std::array::from_fn(|q| {
        _mm256_add_pd(
            _mm256_set1_pd(4.0 * q as f64),
            _mm256_setr_pd(0.0, 1.0, 2.0, 3.0),
        )
    });
    let (my, b) = (_mm256_set1_pd(line.my), _mm256_set1_pd(line.b));
    let (yp, wp, cp) = (
        y.as_ptr(),
        taper.values.as_ptr(),
        cols.as_mut_ptr() as *mut f64,
    );
    // Row `i`'s 16 samples as four vectors: columns (2q, 2q + 1) in vector q.
    let row = |i: usize| -> [__m256d; G / 2] {
        let from = 2 * (n2 * i + G * g);
        let tapered = from < taper.ones.start || from + 2 * G > taper.ones.end;
        let base = _mm256_set1_pd(from as i64 as f64 - line.centre);
        // The next group's line of this row, into L1 only: the rows are too far apart for
        // the hardware to see the stream, and the samples are read once per sub-window, so
        // they should not push `t` and the powers out of L2.
        if g + 1 < n2 / G {
            _mm_prefetch::<_MM_HINT_NTA>(yp.add(from + 2 * G) as *const i8);
        }
        std::array::from_fn(|q| {
            let at = from + 4 * q;
            let v = _mm256_cvtps_pd(_mm_loadu_ps(yp.add(at)));
            let r = _mm256_add_pd(base, lanes[q]);
            let d = _mm256_sub_pd(v, _mm256_add_pd(my, _mm256_mul_pd(b, r)));
            if tapered {
                _mm256_mul_pd(d, _mm256_loadu_pd(wp.add(at)))
            } else {
                d
            }
        })
    };
    for i in (0..n1).step_by(2) {
        let (u, v) = (row(i), row(i + 1));
        for q in 0..G / 2 {
            let c = cp.add(2 * (2 * q * n1 + i));
            _mm256_storeu_pd(c, _mm256_permute2f128_pd::<0x20>(u[q], v[q]));
            _mm256_storeu_pd(c.add(2 * n1), _mm256_permute2f128_pd::<0x31>(u[q], v[q]));
        }
    }
}

/// [`FourStep::twiddle`] with AVX2, two rows `k1` at a time: each column's two values are one
/// load, and the twiddles of two columns are made from `hi` and `lo` as they are used.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn twiddle_avx2(
    hi: &[Complex<f64>],
    lo: &[Complex<f64>],
    cols: &[Complex<f64>],
    (n1, s, g): (usize, usize, usize),
    t: &mut [Complex<f64>],
) {
    use super::power::complex_mul;
    use std::arch::x86_64::*;
    let (lp, cp, tp) = (
        lo.as_ptr() as *const f64,
        cols.as_ptr() as *const f64,
        t.as_mut_ptr() as *mut f64,
    );
    let times = |h: Complex<f64>, k1: usize, q: usize, v: __m256d| {
        let w = complex_mul(
            _mm256_set1_pd(h.re),
            _mm256_set1_pd(h.im),
            _mm256_loadu_pd(lp.add(2 * (k1 * G + 2 * q))),
        );
        complex_mul(_mm256_movedup_pd(w), _mm256_permute_pd::<0b1111>(w), v)
    };
    for k1 in (0..n1).step_by(2) {
        let out = tp.add(2 * (k1 * s + G * g));
        for q in 0..G / 2 {
            // columns 2q and 2q + 1, each at rows k1 and k1 + 1
            let a = _mm256_loadu_pd(cp.add(2 * (2 * q * n1 + k1)));
            let b = _mm256_loadu_pd(cp.add(2 * ((2 * q + 1) * n1 + k1)));
            let first = _mm256_permute2f128_pd::<0x20>(a, b);
            let second = _mm256_permute2f128_pd::<0x31>(a, b);
            _mm256_storeu_pd(out.add(4 * q), times(hi[k1], k1, q, first));
            _mm256_storeu_pd(out.add(2 * s + 4 * q), times(hi[k1 + 1], k1 + 1, q, second));
        }
    }
}
