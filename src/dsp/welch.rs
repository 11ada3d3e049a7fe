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
use realfft::{RealFftPlanner, RealToComplex};

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

/// Removes the least-squares line of `y` (matplotlib's `detrend_linear`) and applies `taper`,
/// writing `out`. The abscissa is `i - (n - 1) / 2`, computed exactly rather than read. Sums
/// run in f64 around the middle index (the slope of an hour of counts stays exact) in eight
/// lanes, so they vectorise instead of waiting on one accumulator, as numpy's pairwise sums do
/// not either. The AVX2 kernels do the same operations in the same order (no fused
/// multiply-add), so both paths give the same bits.
fn detrend_taper(y: &[f32], taper: &Taper, out: &mut [f64]) {
    let n = y.len();
    if n == 0 {
        return;
    }
    let centre = (n as f64 - 1.0) / 2.0;
    let whole = n - n % 8;
    let (sy, sxy) = lane_sums(&y[..whole], centre);
    let (mut ty, mut txy) = (0.0, 0.0);
    for (k, &v) in y[whole..].iter().enumerate() {
        let r = (whole + k) as f64 - centre;
        ty += v as f64;
        txy += r * v as f64;
    }
    let my = (sy.iter().sum::<f64>() + ty) / n as f64;
    // Σ (i - mx)² over 0..n = n (n² - 1) / 12.
    let sxx = n as f64 * (n as f64 * n as f64 - 1.0) / 12.0;
    let b = if sxx > 0.0 {
        (sxy.iter().sum::<f64>() + txy) / sxx
    } else {
        0.0
    };
    let line = Line { centre, my, b };
    let ones = taper.ones.start.min(n)..taper.ones.end.min(n);
    for span in [0..ones.start, ones.clone(), ones.end..n] {
        let w = (span != ones).then(|| &taper.values[span.clone()]);
        line.remove(&y[span.clone()], span.start, w, &mut out[span]);
    }
}

/// `y - (my + b (i - centre))`, times the taper where it is not 1.
#[derive(Clone, Copy)]
struct Line {
    centre: f64,
    my: f64,
    b: f64,
}

const LANES: [f64; 8] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];

impl Line {
    /// Samples `from..` of the window (`y`, into `out`), tapered by `w` when given.
    fn remove(self, y: &[f32], from: usize, w: Option<&[f64]>, out: &mut [f64]) {
        let whole = y.len() - y.len() % 8;
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // SAFETY: the CPU has AVX2 (checked above); slices of equal, whole-lane length.
            unsafe {
                self.remove_avx2(&y[..whole], from, w.map(|w| &w[..whole]), &mut out[..whole])
            };
            return self.remove_scalar(
                &y[whole..],
                from + whole,
                w.map(|w| &w[whole..]),
                &mut out[whole..],
            );
        }
        let _ = whole;
        self.remove_scalar(y, from, w, out)
    }

    fn remove_scalar(self, y: &[f32], from: usize, w: Option<&[f64]>, out: &mut [f64]) {
        for (k, (o, &v)) in out.iter_mut().zip(y).enumerate() {
            let d = v as f64 - (self.my + self.b * ((from + k) as f64 - self.centre));
            *o = match w {
                Some(w) => d * w[k],
                None => d,
            };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn remove_avx2(self, y: &[f32], from: usize, w: Option<&[f64]>, out: &mut [f64]) {
        use std::arch::x86_64::*;
        let lanes = [
            _mm256_loadu_pd(LANES.as_ptr()),
            _mm256_loadu_pd(LANES[4..].as_ptr()),
        ];
        let (my, b) = (_mm256_set1_pd(self.my), _mm256_set1_pd(self.b));
        for k in 0..y.len() / 8 {
            let at = k * 8;
            let v8 = _mm256_loadu_ps(y.as_ptr().add(at));
            let v = [
                _mm256_cvtps_pd(_mm256_castps256_ps128(v8)),
                _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v8)),
            ];
            let base = _mm256_set1_pd((from + at) as f64 - self.centre);
            for h in 0..2 {
                let r = _mm256_add_pd(base, lanes[h]);
                let mut d = _mm256_sub_pd(v[h], _mm256_add_pd(my, _mm256_mul_pd(b, r)));
                if let Some(w) = w {
                    d = _mm256_mul_pd(d, _mm256_loadu_pd(w.as_ptr().add(at + 4 * h)));
                }
                _mm256_storeu_pd(out.as_mut_ptr().add(at + 4 * h), d);
            }
        }
    }
}

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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_power_avx2(psd: &mut [f64], spectrum: &[Complex<f64>]) {
    add_power_body(psd, spectrum)
}

/// `psd[k] += |X[k]|²`.
fn add_power(psd: &mut [f64], spectrum: &[Complex<f64>]) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        return unsafe { add_power_avx2(psd, spectrum) };
    }
    add_power_body(psd, spectrum)
}

#[inline(always)]
fn add_power_body(psd: &mut [f64], spectrum: &[Complex<f64>]) {
    for (p, c) in psd.iter_mut().zip(spectrum) {
        *p += c.re * c.re + c.im * c.im;
    }
}

/// One thread's FFT buffers for one length: a sub-window's 1.5 MiB is allocated (and its
/// pages faulted in) once per thread, not once per segment.
struct Buffers {
    work: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<std::collections::HashMap<usize, Buffers>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A Welch estimator for one sub-window length and overlap.
pub struct Welch {
    nfft: usize,
    step: usize,
    taper: Taper,
    /// `Σ w²`: the density's window normalisation.
    taper_power: f64,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl Welch {
    /// `nfft` samples per sub-window (even), `noverlap` of them shared with the next.
    pub fn new(nfft: usize, noverlap: usize) -> Welch {
        assert!(
            nfft >= 2 && nfft % 2 == 0 && noverlap < nfft,
            "nfft {nfft}, noverlap {noverlap}"
        );
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(nfft);
        let taper = cosine_taper(nfft, 0.2);
        Welch {
            nfft,
            step: nfft - noverlap,
            taper_power: taper.iter().map(|w| w * w).sum(),
            taper: Taper::new(taper),
            fft,
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
        let half = self.nfft / 2 + 1;
        psd.clear();
        psd.resize(half, 0.0);
        let windows = self.windows(x.len());
        let padded: Vec<f32>;
        let x = if x.len() < self.nfft {
            padded = x
                .iter()
                .copied()
                .chain(std::iter::repeat(0.0))
                .take(self.nfft)
                .collect();
            &padded[..]
        } else {
            x
        };
        BUFFERS.with_borrow_mut(|b| {
            let b = b.entry(self.nfft).or_insert_with(|| Buffers {
                work: self.fft.make_input_vec(),
                spectrum: self.fft.make_output_vec(),
                scratch: self.fft.make_scratch_vec(),
            });
            for k in 0..windows {
                let seg = &x[k * self.step..k * self.step + self.nfft];
                detrend_taper(seg, &self.taper, &mut b.work);
                self.fft
                    .process_with_scratch(&mut b.work, &mut b.spectrum, &mut b.scratch)
                    .expect("buffers made by the plan");
                add_power(psd, &b.spectrum);
            }
        });
        let scale = 1.0 / (windows as f64 * fs * self.taper_power);
        let last = half - 1;
        for (i, p) in psd.iter_mut().enumerate() {
            let two = if i == 0 || i == last { 1.0 } else { 2.0 };
            *p *= two * scale;
        }
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
