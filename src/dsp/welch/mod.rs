//! Welch's power spectral density exactly as ObsPy's PPSD asks matplotlib for it:
//! `mlab.psd(x, NFFT, Fs, detrend=detrend_linear, window=fft_taper, noverlap, sides="onesided",
//! scale_by_freq=True)`. Sub-windows of `nfft` samples every `nfft - noverlap`, each with its
//! least-squares line removed, multiplied by ObsPy's 20 % cosine taper, transformed, and
//! `|X|²` averaged; the one-sided density doubles every bin but DC and Nyquist and divides by
//! `fs · Σw²`. Matching it term for term is what makes our PPSD values ObsPy's values.
//!
//! A [`Welch`] holds its FFT plan and taper, shared by every stream at one rate and by the
//! threads that compute their segments; each call brings its own buffers.

use std::sync::Arc;

use num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use four_step::FourStep;
use power::{add_power, Twiddles};

mod four_step;
mod power;

/// ObsPy's `cosine_taper(npts, p)` with its defaults (half-cosine ends, not SAC's): `p` is the
/// share of the window tapered, half at each end; the ends are 0, the middle 1.
pub fn cosine_taper(npts: usize, p: f64) -> Vec<f64> {
    obspy_cosine_taper(npts, p, true, false)
}

/// ObsPy's `cosine_taper(npts, p, halfcosine=..., sactaper=...)`: half-cosine or quarter-cosine
/// ramps; `sactaper` starts them one sample further in (SAC's taper, which `remove_response`
/// uses). Ranges are filled in numpy's order, so the end ramp wins where they meet.
pub fn obspy_cosine_taper(npts: usize, p: f64, halfcosine: bool, sactaper: bool) -> Vec<f64> {
    if npts == 0 {
        return Vec::new();
    }
    let frac = if p == 0.0 || p == 1.0 {
        (npts as f64 * p / 2.0) as i64
    } else {
        (npts as f64 * p / 2.0 + 0.5) as i64
    };
    let n = npts as i64;
    let (i1, mut i2, mut i3, i4) = (0i64, frac - 1, n - frac, n - 1);
    if sactaper {
        i2 += 1;
        i3 -= 1;
    }
    // Very short windows: ObsPy moves the inner indices so the ramps are not empty.
    if i1 == i2 {
        i2 += 1;
    }
    if i3 == i4 {
        i3 -= 1;
    }
    let (pi, half_pi) = (std::f64::consts::PI, std::f64::consts::FRAC_PI_2);
    let mut w = vec![0.0; npts];
    let mut set = |i: i64, v: f64| {
        if (0..n).contains(&i) {
            w[i as usize] = v;
        }
    };
    for i in i1..=i2 {
        let x = (i - i1) as f64 / (i2 - i1) as f64;
        set(
            i,
            if halfcosine {
                0.5 * (1.0 - (pi * x).cos())
            } else {
                (-(half_pi * (i2 - i) as f64 / (i2 - i1) as f64)).cos()
            },
        );
    }
    for i in (i2 + 1)..i3 {
        set(i, 1.0);
    }
    for i in i3..=i4 {
        let x = (i3 - i) as f64 / (i4 - i3) as f64;
        set(
            i,
            if halfcosine {
                0.5 * (1.0 + (pi * x).cos())
            } else {
                (half_pi * x).cos()
            },
        );
    }
    w
}

/// A taper as the kernel applies it: its values, and the middle span where it is exactly 1
/// (multiplying by 1 changes no bit, so that span is copied without the multiply and the
/// taper's 0.5 MiB is not streamed through the cache for every sub-window).
pub struct Taper {
    values: Vec<f64>,
    ones: std::ops::Range<usize>,
}

impl Taper {
    pub fn new(values: Vec<f64>) -> Taper {
        let start = values
            .iter()
            .position(|&w| w == 1.0)
            .unwrap_or(values.len());
        let end = values[start..]
            .iter()
            .position(|&w| w != 1.0)
            .map_or(values.len(), |k| start + k);
        Taper {
            values,
            ones: start..end,
        }
    }
}

/// `Σ y` and `Σ (i - centre) y` over `y`, `i` counted from its first sample: eight lanes of
/// f64 sums (they vectorise instead of waiting on one accumulator, as numpy's pairwise sums do
/// not either), then the tail. Around the centre the slope of an hour of counts stays exact.
fn sums(y: &[f32], centre: f64) -> (f64, f64) {
    let whole = y.len() - y.len() % 8;
    let (sy, sxy) = lane_sums(&y[..whole], centre);
    let (mut ty, mut txy) = (0.0, 0.0);
    for (k, &v) in y[whole..].iter().enumerate() {
        let r = (whole + k) as f64 - centre;
        ty += v as f64;
        txy += r * v as f64;
    }
    (sy.iter().sum::<f64>() + ty, sxy.iter().sum::<f64>() + txy)
}

/// Removes the least-squares line of `y` (matplotlib's `detrend_linear`) and applies `taper`,
/// writing `out`: one sub-window on its own (the Welch loop takes its sums from blocks).
#[cfg(test)]
fn detrend_taper(y: &[f32], taper: &Taper, out: &mut [f64]) {
    let n = y.len();
    if n == 0 {
        return;
    }
    let centre = (n as f64 - 1.0) / 2.0;
    let (sy, sxy) = sums(y, centre);
    fill((y, Line::fit(n, sy, sxy)), taper, out);
}

/// `y - (my + b (i - centre))`: a window's least-squares line, its abscissa `i - centre`
/// computed exactly rather than read from a ramp.
#[derive(Clone, Copy)]
struct Line {
    centre: f64,
    my: f64,
    b: f64,
}

impl Line {
    /// The line of a window of `n` samples from `Σ y` and `Σ (i - centre) y`.
    fn fit(n: usize, sy: f64, sxy: f64) -> Line {
        let centre = (n as f64 - 1.0) / 2.0;
        // Σ (i - mx)² over 0..n = n (n² - 1) / 12.
        let sxx = n as f64 * (n as f64 * n as f64 - 1.0) / 12.0;
        Line {
            centre,
            my: sy / n as f64,
            b: if sxx > 0.0 { sxy / sxx } else { 0.0 },
        }
    }

    /// Sample `i` of the window, detrended.
    #[inline(always)]
    fn at(self, v: f32, i: usize) -> f64 {
        v as f64 - (self.my + self.b * (i as f64 - self.centre))
    }
}

/// A sub-window detrended and tapered into the FFT input. Where the taper is 1 it is not
/// multiplied (that changes no bit), so its 0.5 MiB is not streamed through the cache for
/// every sub-window.
fn fill(a: (&[f32], Line), taper: &Taper, out: &mut [f64]) {
    let n = a.0.len();
    let ones = taper.ones.start.min(n)..taper.ones.end.min(n);
    for span in [0..ones.start, ones.clone(), ones.end..n] {
        let w = (span != ones).then(|| &taper.values[span.clone()]);
        fill_span((&a.0[span.clone()], a.1), span.start, w, &mut out[span]);
    }
}

/// `out[k]` for window positions `from + k`, tapered by `w` when given.
fn fill_span(a: (&[f32], Line), from: usize, w: Option<&[f64]>, out: &mut [f64]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        done = a.0.len() - a.0.len() % 4;
        // SAFETY: the CPU has AVX2 (checked above); `done` is within every slice and whole
        // groups of four.
        unsafe { fill_span_avx2(a, from, w, done, out) };
    }
    for k in done..a.0.len() {
        let d = a.1.at(a.0[k], from + k);
        out[k] = match w {
            Some(w) => d * w[k],
            None => d,
        };
    }
}

/// The AVX2 build of [`fill_span`] for its first `len` samples: the same operations in the
/// same order (no fused multiply-add), so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_span_avx2(
    a: (&[f32], Line),
    from: usize,
    w: Option<&[f64]>,
    len: usize,
    out: &mut [f64],
) {
    use std::arch::x86_64::*;
    let lanes = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
    let (my, b, centre) = (_mm256_set1_pd(a.1.my), _mm256_set1_pd(a.1.b), a.1.centre);
    for at in (0..len).step_by(4) {
        let r = _mm256_add_pd(_mm256_set1_pd((from + at) as f64 - centre), lanes);
        let v = _mm256_cvtps_pd(_mm_loadu_ps(a.0.as_ptr().add(at)));
        let mut d = _mm256_sub_pd(v, _mm256_add_pd(my, _mm256_mul_pd(b, r)));
        if let Some(w) = w {
            d = _mm256_mul_pd(d, _mm256_loadu_pd(w.as_ptr().add(at)));
        }
        _mm256_storeu_pd(out.as_mut_ptr().add(at), d);
    }
}

const LANES: [f64; 8] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];

/// Per-lane sums of `y` and of `(i - centre) y` over whole groups of eight (`y.len()` a
/// multiple of 8), lane `l` taking samples `8k + l`.
fn lane_sums(y: &[f32], centre: f64) -> ([f64; 8], [f64; 8]) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU has AVX2 (checked above).
        return unsafe { lane_sums_avx2(y, centre) };
    }
    let (mut sy, mut sxy) = ([0.0f64; 8], [0.0f64; 8]);
    for (k, a) in y.chunks_exact(8).enumerate() {
        let base = (k * 8) as f64 - centre;
        for l in 0..8 {
            let v = a[l] as f64;
            sy[l] += v;
            sxy[l] += (base + LANES[l]) * v;
        }
    }
    (sy, sxy)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lane_sums_avx2(y: &[f32], centre: f64) -> ([f64; 8], [f64; 8]) {
    use std::arch::x86_64::*;
    let lanes = [
        _mm256_loadu_pd(LANES.as_ptr()),
        _mm256_loadu_pd(LANES[4..].as_ptr()),
    ];
    let mut sy = [_mm256_setzero_pd(); 2];
    let mut sxy = [_mm256_setzero_pd(); 2];
    for k in 0..y.len() / 8 {
        let v8 = _mm256_loadu_ps(y.as_ptr().add(k * 8));
        let v = [
            _mm256_cvtps_pd(_mm256_castps256_ps128(v8)),
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v8)),
        ];
        let base = _mm256_set1_pd((k * 8) as f64 - centre);
        for h in 0..2 {
            sy[h] = _mm256_add_pd(sy[h], v[h]);
            sxy[h] = _mm256_add_pd(sxy[h], _mm256_mul_pd(_mm256_add_pd(base, lanes[h]), v[h]));
        }
    }
    let (mut a, mut c) = ([0.0f64; 8], [0.0f64; 8]);
    for h in 0..2 {
        _mm256_storeu_pd(a.as_mut_ptr().add(4 * h), sy[h]);
        _mm256_storeu_pd(c.as_mut_ptr().add(4 * h), sxy[h]);
    }
    (a, c)
}

/// Whether the wide kernels can run (std caches the answer).
#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Complex values as the reals they are made of (re, im, re, im, ...).
fn as_reals(z: &mut [Complex<f64>]) -> &mut [f64] {
    // SAFETY: `Complex<f64>` is `repr(C)` of two f64, so a slice of `n` of them is `2n` f64
    // with the same alignment, borrowed for as long as `z`.
    unsafe { std::slice::from_raw_parts_mut(z.as_mut_ptr() as *mut f64, z.len() * 2) }
}

/// How a sub-window's half-length transform is computed.
enum Transform {
    /// One FFT plan over the whole sub-window; the powers are taken from its output.
    Plan {
        fft: Arc<dyn Fft<f64>>,
        twiddles: Twiddles,
    },
    /// Factored, with the detrend and the powers folded in: power-of-two half-lengths too big
    /// for one plan's buffers to stay in the core's L2 (ObsPy's hour segments).
    Factored(FourStep),
}

/// One thread's buffers for one transform.
enum Scratch {
    Plan {
        /// A sub-window's 0.5 MiB at hour segments.
        work: Vec<Complex<f64>>,
        scratch: Vec<Complex<f64>>,
    },
    Factored {
        work: four_step::Work,
        /// The powers in the factored transform's row layout.
        p: Vec<f64>,
    },
}

impl Transform {
    fn scratch(&self) -> Scratch {
        let zero = Complex::new(0.0, 0.0);
        match self {
            Transform::Plan { fft, .. } => Scratch::Plan {
                work: vec![zero; fft.len()],
                scratch: vec![zero; fft.get_inplace_scratch_len()],
            },
            Transform::Factored(f) => Scratch::Factored {
                work: f.work(),
                p: Vec::new(),
            },
        }
    }
}

/// One thread's buffers for one length, allocated (and their pages faulted in) once per
/// thread, not per segment.
struct Buffers {
    scratch: Scratch,
    /// Per block of `step` samples: `Σ y` and `Σ (i - centre) y` around the block's centre.
    blocks: Vec<(f64, f64)>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<std::collections::HashMap<usize, Buffers>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A Welch estimator for one sub-window length and overlap.
///
/// Each sub-window of `n` real samples is transformed as `n/2` complex ones (even samples
/// as real parts, odd ones as imaginary parts), and its powers are taken straight from that
/// half-length spectrum ([`power`]); at hour segments the transform is factored so that it
/// runs in L1 ([`four_step`]). Where the step divides the window (ObsPy's 75 % overlap), each
/// block of `step` samples is summed once and every sub-window's line is fitted from its
/// blocks' sums instead of reading its samples again.
pub struct Welch {
    nfft: usize,
    step: usize,
    taper: Taper,
    /// `Σ w²`: the density's window normalisation.
    taper_power: f64,
    transform: Transform,
}

impl Welch {
    /// `nfft` samples per sub-window (even), `noverlap` of them shared with the next.
    pub fn new(nfft: usize, noverlap: usize) -> Welch {
        assert!(
            nfft >= 2 && nfft % 2 == 0 && noverlap < nfft,
            "nfft {nfft}, noverlap {noverlap}"
        );
        let taper = cosine_taper(nfft, 0.2);
        let transform = match FourStep::new(nfft / 2) {
            Some(f) => Transform::Factored(f),
            None => Transform::Plan {
                fft: FftPlanner::<f64>::new().plan_fft_forward(nfft / 2),
                twiddles: Twiddles::new(nfft),
            },
        };
        Welch {
            nfft,
            step: nfft - noverlap,
            taper_power: taper.iter().map(|w| w * w).sum(),
            taper: Taper::new(taper),
            transform,
        }
    }

    pub fn nfft(&self) -> usize {
        self.nfft
    }

    /// Sub-windows a segment of `n` samples holds (matplotlib's stride: whole windows only).
    pub fn windows(&self, n: usize) -> usize {
        if n < self.nfft {
            1
        } else {
            1 + (n - self.nfft) / self.step
        }
    }

    /// The one-sided density of `x` at `fs`, into `psd` (`nfft / 2 + 1` values, DC first):
    /// units² / Hz. A segment shorter than `nfft` is zero-padded, as matplotlib does. Samples
    /// are f32 (what blocks carry), every sum and product f64 (as matplotlib on float64).
    pub fn psd(&self, x: &[f32], fs: f64, psd: &mut Vec<f64>) {
        let (n, half) = (self.nfft, self.nfft / 2);
        psd.clear();
        psd.resize(half + 1, 0.0);
        let windows = self.windows(x.len());
        let padded: Vec<f32>;
        let x = if x.len() < n {
            padded = x
                .iter()
                .copied()
                .chain(std::iter::repeat(0.0))
                .take(n)
                .collect();
            &padded[..]
        } else {
            x
        };
        BUFFERS.with_borrow_mut(|b| {
            let b = b.entry(n).or_insert_with(|| Buffers {
                scratch: self.transform.scratch(),
                blocks: Vec::new(),
            });
            self.block_sums(x, windows, &mut b.blocks);
            let window = |k: usize| {
                let y = &x[k * self.step..k * self.step + n];
                (y, self.line(y, k, &b.blocks))
            };
            match (&self.transform, &mut b.scratch) {
                (Transform::Plan { fft, twiddles }, Scratch::Plan { work, scratch }) => {
                    for k in 0..windows {
                        fill(window(k), &self.taper, as_reals(work));
                        fft.process_with_scratch(work, scratch);
                        add_power(psd, work, twiddles);
                    }
                }
                (Transform::Factored(f), Scratch::Factored { work, p }) => {
                    p.clear();
                    p.resize(half + 1, 0.0);
                    for k in 0..windows {
                        f.add_power(window(k), &self.taper, work, p);
                    }
                    f.unscramble(p, psd);
                }
                _ => unreachable!("a length's buffers are made for its transform"),
            }
        });
        // ¼ for add_power's 4 |X|²; two for the one-sided density but at DC and Nyquist.
        let scale = 0.25 / (windows as f64 * fs * self.taper_power);
        for (i, p) in psd.iter_mut().enumerate() {
            let two = if i == 0 || i == half { 1.0 } else { 2.0 };
            *p *= two * scale;
        }
    }

    /// Blocks of `step` samples per sub-window, when the step divides the window.
    fn blocks_per_window(&self) -> Option<usize> {
        (self.nfft % self.step == 0).then_some(self.nfft / self.step)
    }

    /// Each block's sums, for `windows` sub-windows of `x` made of whole blocks (else none).
    fn block_sums(&self, x: &[f32], windows: usize, blocks: &mut Vec<(f64, f64)>) {
        blocks.clear();
        let Some(q) = self.blocks_per_window().filter(|_| windows > 1) else {
            return;
        };
        let centre = (self.step as f64 - 1.0) / 2.0;
        blocks.extend(
            x.chunks_exact(self.step)
                .take(windows - 1 + q)
                .map(|y| sums(y, centre)),
        );
    }

    /// The line of sub-window `k` (`y`): from its blocks' sums where there are, each block's
    /// `Σ (i - c) y` moved from its own centre to the window's.
    fn line(&self, y: &[f32], k: usize, blocks: &[(f64, f64)]) -> Line {
        let n = self.nfft;
        let centre = (n as f64 - 1.0) / 2.0;
        let (sy, sxy) = match self.blocks_per_window() {
            Some(q) if !blocks.is_empty() => {
                let own = (self.step as f64 - 1.0) / 2.0;
                blocks[k..k + q].iter().enumerate().fold(
                    (0.0, 0.0),
                    |(sy, sxy), (j, &(by, bxy))| {
                        let shift = (j * self.step) as f64 + own - centre;
                        (sy + by, sxy + bxy + shift * by)
                    },
                )
            }
            _ => sums(y, centre),
        };
        Line::fit(n, sy, sxy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taper_ends_are_zero_and_middle_is_one() {
        let w = cosine_taper(100, 0.2);
        assert_eq!(w[0], 0.0);
        assert_eq!(w[99], 0.0);
        assert!(w[10..90].iter().all(|&v| v == 1.0));
        // symmetric
        for i in 0..50 {
            assert!((w[i] - w[99 - i]).abs() < 1e-15, "{i}");
        }
    }

    #[test]
    fn a_line_is_removed_whole() {
        let y: Vec<f32> = (0..1001).map(|i| 3.0 + 0.25 * i as f32).collect();
        let mut out = vec![0.0; 1001];
        detrend_taper(&y, &Taper::new(vec![1.0; 1001]), &mut out);
        assert!(out.iter().all(|v| v.abs() < 1e-9));
    }

    /// The kernel against the plain formula with the ramp and taper read from arrays, as it
    /// was written first: the same bits (lanes, order of the sums and all).
    #[test]
    fn detrend_taper_is_the_plain_formula_bit_for_bit() {
        let mut r = crate::synthetic::signal::Rng::new(5);
        for n in [1usize, 7, 8, 100, 4099, 65536] {
            let y: Vec<f32> = (0..n)
                .map(|i| (r.normal() * 1e5 + 3e6 + i as f64 * 7.0) as f32)
                .collect();
            let taper = cosine_taper(n, 0.2);
            let ramp: Vec<f64> = (0..n).map(|i| i as f64 - (n as f64 - 1.0) / 2.0).collect();
            let (mut sy, mut sxy) = ([0.0f64; 8], [0.0f64; 8]);
            let (yc, rc) = (y.chunks_exact(8), ramp.chunks_exact(8));
            let (mut ty, mut txy) = (0.0, 0.0);
            for (&v, &r) in yc.remainder().iter().zip(rc.remainder()) {
                ty += v as f64;
                txy += r * v as f64;
            }
            for (a, r) in yc.zip(rc) {
                for l in 0..8 {
                    sy[l] += a[l] as f64;
                    sxy[l] += r[l] * a[l] as f64;
                }
            }
            let my = (sy.iter().sum::<f64>() + ty) / n as f64;
            let sxx = n as f64 * (n as f64 * n as f64 - 1.0) / 12.0;
            let b = if sxx > 0.0 {
                (sxy.iter().sum::<f64>() + txy) / sxx
            } else {
                0.0
            };
            let want: Vec<f64> = (0..n)
                .map(|i| (y[i] as f64 - (my + b * ramp[i])) * taper[i])
                .collect();
            let mut got = vec![0.0; n];
            detrend_taper(&y, &Taper::new(taper), &mut got);
            assert!(
                want.iter()
                    .zip(&got)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "n = {n}"
            );
        }
    }

    /// The half-length complex transform (one plan, and factored) with its powers taken
    /// directly and the lines fitted from block sums, against each sub-window detrended on its
    /// own and through a real FFT: with an even and an odd count of sub-windows, a step that
    /// divides the window and one that does not, a segment shorter than the window, and a large
    /// offset and trend (counts).
    #[test]
    fn half_length_transform_and_block_sums_equal_one_window_at_a_time() {
        let mut r = crate::synthetic::signal::Rng::new(7);
        for (len, nfft, noverlap) in [
            (20_000usize, 4096usize, 3072usize),
            (21_000, 4096, 3072),
            (20_000, 4096, 1000),
            (3000, 4096, 3072),
            (4096, 4096, 3072),
            (20_000, 4098, 3000),
            (50, 6, 2),
            (50, 2, 1),
            // factored: 64 x 128, 128 x 128, ObsPy's hour at 100 Hz (128 x 256), 256 x 256
            (100_000, 16384, 12288),
            (40_000, 16384, 5000),
            (10_000, 16384, 12288),
            (60_000, 32768, 24576),
            (200_000, 65536, 49152),
            (300_000, 131072, 98304),
        ] {
            let x: Vec<f32> = (0..len)
                .map(|i| (r.normal() * 300.0 + 2e6 + i as f64 * 0.5) as f32)
                .collect();
            let w = Welch::new(nfft, noverlap);
            let mut got = Vec::new();
            w.psd(&x, 100.0, &mut got);

            let mut padded = x.clone();
            padded.resize(len.max(nfft), 0.0);
            let fft = realfft::RealFftPlanner::<f64>::new().plan_fft_forward(nfft);
            let mut want = vec![0.0; nfft / 2 + 1];
            let windows = w.windows(len);
            for k in 0..windows {
                let mut buf = vec![0.0; nfft];
                let y = &padded[k * (nfft - noverlap)..][..nfft];
                detrend_taper(y, &w.taper, &mut buf);
                let mut spectrum = fft.make_output_vec();
                fft.process(&mut buf, &mut spectrum).unwrap();
                for (p, c) in want.iter_mut().zip(&spectrum) {
                    *p += c.norm_sqr();
                }
            }
            let scale = 1.0 / (windows as f64 * 100.0 * w.taper_power);
            for (i, p) in want.iter_mut().enumerate() {
                *p *= if i == 0 || i == nfft / 2 {
                    scale
                } else {
                    2.0 * scale
                };
            }
            let peak = want.iter().cloned().fold(0.0, f64::max);
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                // relative per bin, with a floor far below any bin of this signal
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs() + 1e-15 * peak,
                    "len {len} nfft {nfft} noverlap {noverlap} bin {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn white_noise_density_is_its_variance_over_half_the_rate() {
        // Parseval: a one-sided density of unit-variance white noise at fs is 2 / fs.
        let mut r = crate::synthetic::signal::Rng::new(11);
        let x: Vec<f32> = (0..1 << 16).map(|_| r.normal() as f32).collect();
        let w = Welch::new(4096, 3072);
        let mut p = Vec::new();
        w.psd(&x, 100.0, &mut p);
        let mid = p[100..1900].iter().sum::<f64>() / 1800.0;
        assert!((mid - 0.02).abs() < 0.001, "{mid}");
        assert_eq!(w.windows(x.len()), 61);
    }
}
