//! Butterworth filters designed as zeros, poles and gain, the way SciPy's `butter` does, so that
//! [`super::zpk2sos`] turns them into the same second-order sections (`output='sos'`).
//!
//! Steps: the analog prototype (poles evenly on the left half of the unit circle), the band
//! transformation at pre-warped edges, then the bilinear transform with `fs = 2`.
//!
//! Complex division and square root are done the way NumPy does them (Smith's division, the
//! C99 `csqrt` formula), not the textbook way: a band-pass centred on a quarter of the rate has
//! poles exactly as far from +1 as from -1, and only the same rounding pairs them with the same
//! zeros as SciPy.

use num_complex::Complex64 as C;
use std::f64::consts::PI;

/// Which band a Butterworth filter passes; edges in Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Band {
    Lowpass(f64),
    Highpass(f64),
    Bandpass(f64, f64),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DesignError {
    #[error("filter order must be between 1 and 64, got {0}")]
    Order(usize),
    #[error(
        "corner frequency {freq} Hz must be above 0 and below the Nyquist frequency {nyquist} Hz"
    )]
    Corner { freq: f64, nyquist: f64 },
    #[error("band-pass corners must be increasing, got {0} and {1} Hz")]
    BandOrder(f64, f64),
}

/// Zeros, poles and gain of a digital filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Zpk {
    pub z: Vec<C>,
    pub p: Vec<C>,
    pub k: f64,
}

/// A digital Butterworth filter of `order` for `band` at sampling rate `fs` Hz.
pub fn butter(order: usize, band: Band, fs: f64) -> Result<Zpk, DesignError> {
    if !(1..=64).contains(&order) {
        return Err(DesignError::Order(order));
    }
    let nyquist = fs / 2.0;
    let check = |f: f64| {
        if f > 0.0 && f < nyquist {
            Ok(f / nyquist)
        } else {
            Err(DesignError::Corner { freq: f, nyquist })
        }
    };
    // Pre-warp the normalised edges for the bilinear transform at fs = 2.
    let warp = |wn: f64| 4.0 * (PI * wn / 2.0).tan();
    let (z, p, k) = prototype(order);
    let (z, p, k) = match band {
        Band::Lowpass(f) => lp2lp(z, p, k, warp(check(f)?)),
        Band::Highpass(f) => lp2hp(z, p, k, warp(check(f)?)),
        Band::Bandpass(lo, hi) => {
            let (w0, w1) = (warp(check(lo)?), warp(check(hi)?));
            if w1 <= w0 {
                return Err(DesignError::BandOrder(lo, hi));
            }
            lp2bp(z, p, k, (w0 * w1).sqrt(), w1 - w0)
        }
    };
    Ok(bilinear(z, p, k, 2.0))
}

/// The analog prototype: no zeros, poles `-exp(i pi m / 2N)` for `m = -N+1, -N+3, ..., N-1`
/// (the middle one exactly real for odd orders), unit gain.
fn prototype(n: usize) -> (Vec<C>, Vec<C>, f64) {
    let p = (0..n)
        .map(|i| {
            let m = -(n as f64) + 1.0 + 2.0 * i as f64;
            // NumPy divides a complex by a real through its reciprocal.
            -C::new(0.0, (PI * m) * (1.0 / (2.0 * n as f64))).exp()
        })
        .collect();
    (Vec::new(), p, 1.0)
}

fn lp2lp(z: Vec<C>, p: Vec<C>, k: f64, wo: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() as i32 - z.len() as i32;
    let z = z.iter().map(|&v| v * wo).collect();
    let p = p.iter().map(|&v| v * wo).collect();
    (z, p, k * wo.powi(degree))
}

fn lp2hp(z: Vec<C>, p: Vec<C>, k: f64, wo: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() - z.len();
    let prod_z: C = z.iter().map(|&v| -v).product();
    let prod_p: C = p.iter().map(|&v| -v).product();
    let w = C::new(wo, 0.0);
    let mut zh: Vec<C> = z.iter().map(|&v| div(w, v)).collect();
    let ph = p.iter().map(|&v| div(w, v)).collect();
    zh.extend(std::iter::repeat_n(C::new(0.0, 0.0), degree));
    (zh, ph, k * div(prod_z, prod_p).re)
}

fn lp2bp(z: Vec<C>, p: Vec<C>, k: f64, wo: f64, bw: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() - z.len();
    let split = |v: &[C]| -> Vec<C> {
        let lp: Vec<C> = v.iter().map(|&x| x * (bw / 2.0)).collect();
        let root: Vec<C> = lp.iter().map(|&x| sqrt(x * x - wo * wo)).collect();
        let mut out: Vec<C> = lp.iter().zip(&root).map(|(&a, &r)| a + r).collect();
        out.extend(lp.iter().zip(&root).map(|(&a, &r)| a - r));
        out
    };
    let mut zb = split(&z);
    zb.extend(std::iter::repeat_n(C::new(0.0, 0.0), degree));
    (zb, split(&p), k * bw.powi(degree as i32))
}

fn bilinear(z: Vec<C>, p: Vec<C>, k: f64, fs: f64) -> Zpk {
    let degree = p.len() - z.len();
    let fs2 = C::new(2.0 * fs, 0.0);
    let prod_z: C = z.iter().map(|&v| fs2 - v).product();
    let prod_p: C = p.iter().map(|&v| fs2 - v).product();
    let mut zz: Vec<C> = z.iter().map(|&v| div(fs2 + v, fs2 - v)).collect();
    zz.extend(std::iter::repeat_n(C::new(-1.0, 0.0), degree));
    Zpk {
        z: zz,
        p: p.iter().map(|&v| div(fs2 + v, fs2 - v)).collect(),
        k: k * div(prod_z, prod_p).re,
    }
}

/// Complex division by Smith's method (scaled by the larger part of the divisor), as NumPy.
fn div(a: C, b: C) -> C {
    if b.re.abs() >= b.im.abs() {
        let rat = b.im / b.re;
        let scl = 1.0 / (b.re + b.im * rat);
        C::new((a.re + a.im * rat) * scl, (a.im - a.re * rat) * scl)
    } else {
        let rat = b.re / b.im;
        let scl = 1.0 / (b.im + b.re * rat);
        C::new((a.re * rat + a.im) * scl, (a.im * rat - a.re) * scl)
    }
}

/// Principal square root by the C99 `csqrt` formula (no overflow scaling: filter poles are
/// nowhere near the limits of f64).
fn sqrt(z: C) -> C {
    if z.re == 0.0 && z.im == 0.0 {
        return C::new(0.0, z.im);
    }
    let d = z.re.hypot(z.im);
    if z.re > 0.0 {
        let r = (0.5 * (d + z.re)).sqrt();
        C::new(r, 0.5 * (z.im / r))
    } else {
        let s = (0.5 * (d - z.re)).sqrt();
        C::new((0.5 * (z.im / s)).abs(), s.copysign(z.im))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_are_checked() {
        assert!(butter(4, Band::Lowpass(60.0), 100.0).is_err());
        assert!(butter(4, Band::Highpass(0.0), 100.0).is_err());
        assert!(butter(4, Band::Bandpass(5.0, 1.0), 100.0).is_err());
        assert!(butter(0, Band::Lowpass(1.0), 100.0).is_err());
    }

    #[test]
    fn poles_are_inside_the_unit_circle() {
        let f = butter(8, Band::Bandpass(0.1, 10.0), 100.0).unwrap();
        assert_eq!(f.p.len(), 16);
        assert!(f.p.iter().all(|p| p.norm() < 1.0));
    }
}
