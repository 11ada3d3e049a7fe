//! One window of one channel to its conditioned spectrum, and a pair's summed cross-spectrum
//! back to lags. The FFT plans and the per-plan tables (taper, band-pass gain, whitening band)
//! are made once; each call reuses the caller's [`Scratch`].
//!
//! Steps, in NoisePy's order where it has one: gap and amplitude rejection; demean, linear
//! detrend, Hann taper; forward real FFT (zero-padded to `nfft`); band-pass as the squared
//! magnitude of the Butterworth response (a forward-backward filter's, without its edge
//! transients: the taper has already brought the edges to zero); temporal normalisation (on
//! the band-passed samples, then transformed again); spectral whitening; and a sub-sample
//! time shift so that every channel's window starts exactly at the window's start time.

use std::sync::Arc;

use num_complex::Complex;
use num_traits::{Float, FromPrimitive, ToPrimitive};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::params::{CcMethod, FftLength, TimeNorm, Whiten, XcorrConfig};
use crate::dsp::butter::{butter, Band};
use crate::ops::ConfigError;

/// The float type spectra are held in (f32 by default, f64 on request).
pub trait Real:
    realfft::FftNum + Float + FromPrimitive + ToPrimitive + Default + Send + Sync + 'static
{
    fn of(x: f64) -> Self {
        Self::from_f64(x).unwrap_or_else(Self::zero)
    }
    fn f64(self) -> f64 {
        self.to_f64().unwrap_or(0.0)
    }
}
impl Real for f32 {}
impl Real for f64 {}

/// Why a window was left out of the correlations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reject {
    /// More than `max_gap_fraction` of its samples missing (the fraction).
    Gaps(f64),
    /// max |x| over the standard deviation above `max_over_std` (the ratio).
    Amplitude(f64),
    /// Constant: nothing to correlate.
    Flat,
}

impl Reject {
    pub fn reason(self) -> &'static str {
        match self {
            Reject::Gaps(_) => "window_gaps",
            Reject::Amplitude(_) => "window_amplitude",
            Reject::Flat => "window_flat",
        }
    }
}

/// A channel's spectrum for one window, in both the forms a pair needs.
#[derive(Debug, Clone)]
pub struct ChannelSpectrum<T> {
    /// The receiver form R(f) over the plan's support (bins `support.start..support.end`).
    pub spec: Vec<Complex<T>>,
    /// The source form's real factor: conj(S)·scale (coherency, deconvolution).
    pub scale: Option<Vec<T>>,
}

/// Buffers reused across calls (one per thread).
pub struct Scratch<T> {
    work: Vec<f64>,
    time: Vec<T>,
    spec: Vec<Complex<T>>,
    fft: Vec<Complex<T>>,
    mags: Vec<f64>,
    smooth: Vec<f64>,
}

/// Everything fixed by the parameters and the sampling rate.
pub struct Plan<T: Real> {
    pub rate: f64,
    /// Samples per window.
    pub npts: usize,
    pub nfft: usize,
    pub nfreq: usize,
    /// Lags kept each side.
    pub max_lag: usize,
    /// The bins a spectrum can be non-zero in (the whitening band, else all): cross-spectra
    /// are summed over these only.
    pub support: std::ops::Range<usize>,
    fwd: Arc<dyn RealToComplex<T>>,
    inv: Arc<dyn ComplexToReal<T>>,
    /// Left half of the taper (the right is its mirror).
    taper: Vec<f64>,
    /// |H(f)|² per bin, or None.
    gain: Option<Vec<T>>,
    /// Whitening bins: zero below `lo0` and from `hi1`, cos² edges over lo0..lo1 and hi0..hi1.
    band: [usize; 4],
    cfg: XcorrConfig,
}

/// The smallest 2^a·3^b·5^c at or above `n` (what SciPy's `next_fast_len` gives for FFTPACK).
pub fn next_fast_len(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut k = m;
        for p in [2, 3, 5] {
            while k % p == 0 {
                k /= p;
            }
        }
        if k == 1 {
            return m;
        }
        m += 1;
    }
}

/// |c| as √(re² + im²): `hypot`'s care for overflow is not needed at seismic magnitudes and
/// costs a library call per bin.
fn magnitude<T: Real>(c: Complex<T>) -> T {
    (c.re * c.re + c.im * c.im).sqrt()
}

/// NumPy's `linspace(a, b, n)` (both ends included).
fn linspace(a: f64, b: f64, n: usize) -> impl Iterator<Item = f64> {
    let step = if n > 1 { (b - a) / (n - 1) as f64 } else { 0.0 };
    (0..n).map(move |i| a + step * i as f64)
}

/// NoisePy's `moving_ave(a, n)`: the mean over `a[i - n/2 ..= i + (n-1)/2]`, the ends extended
/// with the first and last values.
pub fn moving_ave(a: &[f64], n: usize, out: &mut Vec<f64>) {
    out.clear();
    let len = a.len();
    if len == 0 {
        return;
    }
    let at = |i: isize| a[i.clamp(0, len as isize - 1) as usize];
    let (lo, hi) = ((n / 2) as isize, ((n - 1) / 2) as isize);
    let mut sum: f64 = (-lo..=hi).map(at).sum();
    for i in 0..len as isize {
        out.push(sum / n as f64);
        sum += at(i + hi + 1) - at(i - lo);
    }
}

impl<T: Real> Plan<T> {
    pub fn new(cfg: &XcorrConfig, rate: f64) -> Result<Plan<T>, ConfigError> {
        cfg.validate()?;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(ConfigError::invalid("rate", format!("{rate} Hz")));
        }
        let npts = (cfg.cc_len_s * rate).round() as usize;
        let max_lag = (cfg.maxlag_s * rate + 1e-9).floor() as usize;
        if npts < 4 || max_lag == 0 {
            return Err(ConfigError::invalid(
                "cc_len_s",
                format!("{npts} samples per window at {rate} Hz: too short"),
            ));
        }
        if cfg.freqmax >= rate / 2.0 && cfg.bandpass {
            return Err(ConfigError::invalid(
                "freqmax",
                format!(
                    "{} Hz is not below the Nyquist frequency {} Hz of the input",
                    cfg.freqmax,
                    rate / 2.0
                ),
            ));
        }
        let nfft = match cfg.fft_length {
            FftLength::Padded => next_fast_len(npts + max_lag),
            FftLength::Window => next_fast_len(npts),
        };
        let nfreq = nfft / 2 + 1;
        let mut planner = RealFftPlanner::<T>::new();
        let fwd = planner.plan_fft_forward(nfft);
        let inv = planner.plan_fft_inverse(nfft);
        let wlen = ((npts as f64 * cfg.taper_fraction) as usize).min(cfg.taper_max_samples);
        // scipy.signal.hann(2·wlen + 1), symmetric: its rising half.
        let taper = (0..wlen)
            .map(|n| 0.5 - 0.5 * (std::f64::consts::PI * n as f64 / wlen as f64).cos())
            .collect();
        let gain = if cfg.bandpass {
            let zpk = butter(cfg.corners, Band::Bandpass(cfg.freqmin, cfg.freqmax), rate)
                .map_err(|e| ConfigError::invalid("freqmin", e))?;
            Some(
                (0..nfreq)
                    .map(|k| {
                        let w = 2.0 * std::f64::consts::PI * k as f64 / nfft as f64;
                        let z = num_complex::Complex64::from_polar(1.0, w);
                        let num: f64 = zpk.z.iter().map(|&q| (z - q).norm_sqr()).product();
                        let den: f64 = zpk.p.iter().map(|&p| (z - p).norm_sqr()).product();
                        T::of(zpk.k * zpk.k * num / den)
                    })
                    .collect(),
            )
        } else {
            None
        };
        // NoisePy's whitening band: the bins nearest freqmin and freqmax, widened by the taper.
        let bin = |f: f64| ((f * nfft as f64 / rate).round() as usize).min(nfreq - 1);
        let (ix0, ix1) = (bin(cfg.freqmin), bin(cfg.freqmax));
        let band = if cfg.whiten_band {
            [
                ix0.saturating_sub(cfg.whiten_taper_bins),
                ix0,
                ix1,
                (ix1 + cfg.whiten_taper_bins).min(nfreq),
            ]
        } else {
            [0, 0, nfreq, nfreq]
        };
        let support = if cfg.whiten != Whiten::None && cfg.whiten_band {
            band[0]..band[3]
        } else {
            0..nfreq
        };
        Ok(Plan {
            rate,
            npts,
            nfft,
            nfreq,
            max_lag,
            support,
            fwd,
            inv,
            taper,
            gain,
            band,
            cfg: cfg.clone(),
        })
    }

    pub fn scratch(&self) -> Scratch<T> {
        Scratch {
            work: vec![0.0; self.npts],
            time: self.fwd.make_input_vec(),
            spec: self.fwd.make_output_vec(),
            fft: self.fwd.make_scratch_vec(),
            mags: Vec::new(),
            smooth: Vec::new(),
        }
    }

    pub fn n_lags(&self) -> usize {
        2 * self.max_lag + 1
    }

    /// The spectrum of one window: `x` holds `npts` samples (zeros where `missing` of them
    /// were not recorded), the first at `offset_ns` after the window's start.
    pub fn spectrum(
        &self,
        x: &[f32],
        missing: usize,
        offset_ns: f64,
        s: &mut Scratch<T>,
    ) -> Result<ChannelSpectrum<T>, Reject> {
        let cfg = &self.cfg;
        let n = self.npts;
        let missing = missing + n.saturating_sub(x.len());
        let gaps = missing as f64 / n as f64;
        if gaps > cfg.max_gap_fraction {
            return Err(Reject::Gaps(gaps));
        }
        // Demean and detrend in one pass of sums and one of residuals (written straight into
        // the transform's input), with the variance and peak of the residuals on the way.
        let (a, b) = line_fit(&x[..n]);
        let (sq, peak) = residuals(&x[..n], a, b, &mut s.time[..n]);
        let var = sq / n as f64;
        if var <= 0.0 || !var.is_finite() {
            return Err(Reject::Flat);
        }
        let ratio = peak / var.sqrt();
        if ratio > cfg.max_over_std {
            return Err(Reject::Amplitude(ratio));
        }
        for (i, &w) in self.taper.iter().enumerate() {
            let w = T::of(w);
            s.time[i] = s.time[i] * w;
            s.time[n - 1 - i] = s.time[n - 1 - i] * w;
        }
        s.time[n..].fill(T::zero());
        self.fwd
            .process_with_scratch(&mut s.time, &mut s.spec, &mut s.fft)
            .expect("buffer lengths come from the plan");
        if let Some(g) = &self.gain {
            for (c, &g) in s.spec.iter_mut().zip(g) {
                *c = *c * g;
            }
        }
        if cfg.time_norm != TimeNorm::None {
            self.time_normalise(s);
        }
        self.whiten(s);
        let sup = self.support.clone();
        if offset_ns != 0.0 {
            // x[0] was taken `offset` after the window's start: delaying the window by that
            // much puts every channel's samples on the window's own time grid.
            let k0 = -2.0 * std::f64::consts::PI * offset_ns * 1e-9 * self.rate / self.nfft as f64;
            for (k, c) in s.spec.iter_mut().enumerate().take(sup.end).skip(sup.start) {
                let ph = num_complex::Complex64::from_polar(1.0, k0 * k as f64);
                let z = Complex::new(T::of(ph.re), T::of(ph.im));
                *c = *c * z;
            }
        }
        let scale = match cfg.cc_method {
            CcMethod::Xcorr => None,
            CcMethod::Coherency | CcMethod::Deconv => {
                s.mags.clear();
                s.mags.extend(s.spec.iter().map(|c| magnitude(*c).f64()));
                moving_ave(&s.mags, cfg.smoothspect_n, &mut s.smooth);
                let sq = cfg.cc_method == CcMethod::Deconv;
                Some(
                    s.smooth[sup.clone()]
                        .iter()
                        .map(|&m| {
                            let d = if sq { m * m } else { m };
                            // Bins the whitening zeroed: nothing to divide (NoisePy gives NaN).
                            T::of(if d > 0.0 { 1.0 / d } else { 0.0 })
                        })
                        .collect(),
                )
            }
        };
        Ok(ChannelSpectrum {
            spec: s.spec[sup].to_vec(),
            scale,
        })
    }

    /// work (npts f64) → spec (nfreq), zero-padded to nfft.
    fn forward(&self, s: &mut Scratch<T>) {
        for (t, &v) in s.time.iter_mut().zip(s.work.iter()) {
            *t = T::of(v);
        }
        for t in &mut s.time[self.npts..] {
            *t = T::zero();
        }
        self.fwd
            .process_with_scratch(&mut s.time, &mut s.spec, &mut s.fft)
            .expect("buffer lengths come from the plan");
    }

    /// Back to time, normalise the window's samples, forward again.
    fn time_normalise(&self, s: &mut Scratch<T>) {
        let cfg = &self.cfg;
        let n = self.npts;
        s.spec[0].im = T::zero();
        if self.nfft % 2 == 0 {
            s.spec[self.nfreq - 1].im = T::zero();
        }
        let mut buf = self.inv.make_scratch_vec();
        self.inv
            .process_with_scratch(&mut s.spec, &mut s.time, &mut buf)
            .expect("buffer lengths come from the plan");
        let norm = 1.0 / self.nfft as f64;
        for (w, &t) in s.work.iter_mut().zip(s.time.iter()) {
            *w = t.f64() * norm;
        }
        let w = &mut s.work;
        match cfg.time_norm {
            TimeNorm::None => {}
            TimeNorm::OneBit => {
                for v in w.iter_mut() {
                    *v = if *v > 0.0 {
                        1.0
                    } else if *v < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                }
            }
            TimeNorm::Rma => {
                s.mags.clear();
                s.mags.extend(w.iter().map(|v| v.abs()));
                moving_ave(&s.mags, cfg.smooth_n, &mut s.smooth);
                for (v, &m) in w.iter_mut().zip(&s.smooth) {
                    *v = if m > 0.0 { *v / m } else { 0.0 };
                }
            }
            TimeNorm::Clip => {
                let rms = (w.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
                let c = cfg.clip_rms * rms;
                for v in w.iter_mut() {
                    *v = v.clamp(-c, c);
                }
            }
        }
        self.forward(s);
    }

    fn whiten(&self, s: &mut Scratch<T>) {
        let cfg = &self.cfg;
        if cfg.whiten == Whiten::None {
            return;
        }
        let [lo0, lo1, hi0, hi1] = self.band;
        let spec = &mut s.spec;
        spec[..lo0].fill(Complex::default());
        spec[hi1..].fill(Complex::default());
        let inner = &mut spec[lo0..hi1];
        match cfg.whiten {
            Whiten::None => {}
            Whiten::PhaseOnly => {
                for c in inner.iter_mut() {
                    let m = magnitude(*c);
                    *c = if m > T::zero() {
                        *c / m
                    } else {
                        Complex::default()
                    };
                }
            }
            Whiten::Rma => {
                s.mags.clear();
                s.mags.extend(inner.iter().map(|c| magnitude(*c).f64()));
                moving_ave(&s.mags, cfg.smoothspect_n, &mut s.smooth);
                for (c, &m) in inner.iter_mut().zip(&s.smooth) {
                    *c = if m > 0.0 {
                        *c * T::of(1.0 / m)
                    } else {
                        Complex::default()
                    };
                }
            }
        }
        if cfg.whiten_band {
            let cos2 = |x: f64| T::of(x.cos().powi(2));
            let pi = std::f64::consts::PI;
            for (c, x) in spec[lo0..lo1]
                .iter_mut()
                .zip(linspace(pi / 2.0, pi, lo1 - lo0))
            {
                *c = *c * cos2(x);
            }
            for (c, x) in spec[hi0..hi1]
                .iter_mut()
                .zip(linspace(0.0, pi / 2.0, hi1 - hi0))
            {
                *c = *c * cos2(x);
            }
        }
    }

    /// The pair's summed cross-spectrum over the support (`acc`) of `count` windows to its
    /// mean correlation at lags −K..=K (`same` = a channel with itself). `buf` and `time` are
    /// the caller's.
    pub fn to_lags(
        &self,
        acc: &[Complex<T>],
        count: u32,
        same: bool,
        buf: &mut Vec<Complex<T>>,
        time: &mut Vec<T>,
        out: &mut [f32],
    ) {
        buf.clear();
        buf.resize(self.nfreq, Complex::default());
        buf[self.support.clone()].copy_from_slice(acc);
        let last = self.nfreq - 1;
        if self.cfg.spectral_demean {
            let m = buf[..last].iter().fold(Complex::<f64>::default(), |s, c| {
                s + Complex::new(c.re.f64(), c.im.f64())
            }) / last as f64;
            let m = Complex::new(T::of(m.re), T::of(m.im));
            for c in &mut buf[..last] {
                *c = *c - m;
            }
            buf[last] = Complex::default();
            if !same {
                buf[0] = Complex::default();
            }
        }
        buf[0].im = T::zero();
        if self.nfft % 2 == 0 {
            buf[last].im = T::zero();
        }
        time.resize(self.nfft, T::zero());
        let mut scratch = self.inv.make_scratch_vec();
        self.inv
            .process_with_scratch(buf, time, &mut scratch)
            .expect("buffer lengths come from the plan");
        let norm = 1.0 / (self.nfft as f64 * count.max(1) as f64);
        let k = self.max_lag as isize;
        let n = self.nfft as isize;
        for (j, o) in out.iter_mut().enumerate() {
            let lag = j as isize - k;
            *o = (time[lag.rem_euclid(n) as usize].f64() * norm) as f32;
        }
    }
}

/// acc[f - first] += conj(S[f])·scale[f]·R[f] for f in `bins`, where `acc`, the spectra and
/// the scale all start at bin `first` (the plan's support).
pub fn cross_into<T: Real>(
    src: &ChannelSpectrum<T>,
    rcv: &ChannelSpectrum<T>,
    acc: &mut [Complex<T>],
    first: usize,
    bins: std::ops::Range<usize>,
) {
    let rel = bins.start - first..bins.end - first;
    let (s, r, a) = (
        &src.spec[rel.clone()],
        &rcv.spec[rel.clone()],
        &mut acc[rel.clone()],
    );
    match &src.scale {
        None => {
            for ((a, s), r) in a.iter_mut().zip(s).zip(r) {
                // conj(s)·r, written out so it vectorises.
                a.re = a.re + (s.re * r.re + s.im * r.im);
                a.im = a.im + (s.re * r.im - s.im * r.re);
            }
        }
        Some(scale) => {
            for (((a, s), r), &g) in a.iter_mut().zip(s).zip(r).zip(&scale[rel]) {
                a.re = a.re + (s.re * r.re + s.im * r.im) * g;
                a.im = a.im + (s.re * r.im - s.im * r.re) * g;
            }
        }
    }
}

/// The least-squares line through `x`: its mean `a` and slope `b` against `i - (n-1)/2`
/// (centred, so the two are independent). Removing it is NoisePy's `demean` then `detrend`.
pub fn line_fit(x: &[f32]) -> (f64, f64) {
    let n = x.len() as f64;
    let c = (n - 1.0) / 2.0;
    // Eight independent partial sums (lanes of one SIMD register pair), summed at the end:
    // a fixed order, so the same window always gives the same bits.
    let (mut sum, mut sxy) = ([0.0f64; 8], [0.0f64; 8]);
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for (k, ch) in chunks.enumerate() {
        let base = (k * 8) as f64 - c;
        for l in 0..8 {
            let v = ch[l] as f64;
            sum[l] += v;
            sxy[l] += (base + l as f64) * v;
        }
    }
    let at = (x.len() - tail.len()) as f64 - c;
    for (l, &v) in tail.iter().enumerate() {
        sum[l] += v as f64;
        sxy[l] += (at + l as f64) * v as f64;
    }
    let (sum, sxy): (f64, f64) = (sum.iter().sum(), sxy.iter().sum());
    // Σ (i - c)² for i = 0..n: n(n² - 1)/12.
    let sxx = n * (n * n - 1.0) / 12.0;
    (sum / n, if sxx > 0.0 { sxy / sxx } else { 0.0 })
}

/// Writes `x - a - b (i - c)` into `out` and returns the sum of squares and the largest
/// magnitude of the residuals (eight lanes, as [`line_fit`]).
fn residuals<T: Real>(x: &[f32], a: f64, b: f64, out: &mut [T]) -> (f64, f64) {
    let c = (x.len() as f64 - 1.0) / 2.0;
    let (mut sq, mut peak) = ([0.0f64; 8], [0.0f64; 8]);
    for (k, (ch, o)) in x.chunks(8).zip(out.chunks_mut(8)).enumerate() {
        let base = (k * 8) as f64 - c;
        for (l, (&v, o)) in ch.iter().zip(o.iter_mut()).enumerate() {
            let y = v as f64 - a - b * (base + l as f64);
            sq[l] += y * y;
            peak[l] = peak[l].max(y.abs());
            *o = T::of(y);
        }
    }
    (
        sq.iter().sum(),
        peak.iter().fold(0.0, |m: f64, &p| m.max(p)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_lengths() {
        assert_eq!(next_fast_len(36000), 36000);
        assert_eq!(next_fast_len(7), 8);
        assert_eq!(next_fast_len(181), 192);
    }

    #[test]
    fn moving_average_matches_noisepy() {
        // np.convolve(pad, ones(4)/4, 'same')[4:-4] for a = [1, 2, 3, 4, 5, 6]
        let mut out = Vec::new();
        moving_ave(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 4, &mut out);
        let want = [1.25, 1.75, 2.5, 3.5, 4.5, 5.25];
        for (o, w) in out.iter().zip(want) {
            assert!((o - w).abs() < 1e-12, "{out:?}");
        }
    }

    #[test]
    fn the_line_fit_finds_a_line() {
        let x: Vec<f32> = (0..100).map(|i| 3.0 + 0.5 * i as f32).collect();
        let (a, b) = line_fit(&x);
        assert!((a - (3.0 + 0.5 * 49.5)).abs() < 1e-9 && (b - 0.5).abs() < 1e-12);
    }
}
