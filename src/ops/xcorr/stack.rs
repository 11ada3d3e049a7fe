//! Non-linear stacks of a period's window correlations (time domain, rows of 2K+1 lags).
//! Linear stacks never come here: they are sums of cross-spectra, transformed once.

use num_complex::Complex64;
use rustfft::FftPlanner;

use super::spectrum::next_fast_len;

/// Phase-weighted stack (Schimmel and Paulssen 1997) as NoisePy's `pws`: the linear mean
/// weighted by |mean of the rows' instantaneous phasors|^power; the analytic signal from an
/// FFT of `next_fast_len(M)` points, as `scipy.signal.hilbert(x, N)`.
pub fn pws(rows: &[&[f32]], power: f64) -> Vec<f32> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let m = first.len();
    let l = next_fast_len(m);
    let mut planner = FftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(l);
    let inv = planner.plan_fft_inverse(l);
    let mut phasor = vec![Complex64::default(); m];
    let mut mean = vec![0.0f64; m];
    let mut buf = vec![Complex64::default(); l];
    for row in rows {
        buf.iter_mut().for_each(|c| *c = Complex64::default());
        for (b, &v) in buf.iter_mut().zip(row.iter()) {
            b.re = v as f64;
        }
        fwd.process(&mut buf);
        // h: 1 at DC (and Nyquist), 2 on positive frequencies, 0 on negative ones.
        for (k, b) in buf.iter_mut().enumerate() {
            let h = if k == 0 || (l % 2 == 0 && k == l / 2) {
                1.0
            } else if k < l.div_ceil(2) {
                2.0
            } else {
                0.0
            };
            *b *= h / l as f64;
        }
        inv.process(&mut buf);
        for ((p, b), (mu, &v)) in phasor
            .iter_mut()
            .zip(&buf)
            .zip(mean.iter_mut().zip(row.iter()))
        {
            let n = b.norm();
            if n > 0.0 {
                *p += b / n;
            } else {
                // np.angle(0) = 0: a unit phasor along the real axis.
                *p += Complex64::new(1.0, 0.0);
            }
            *mu += v as f64;
        }
    }
    let n = rows.len() as f64;
    phasor
        .iter()
        .zip(&mean)
        .map(|(p, mu)| ((p / n).norm().powf(power) * mu / n) as f32)
        .collect()
}

/// Robust stack (Pavlis and Vernon 2010) as NoisePy's `robust_stack`: from the median, rows
/// weighted by |⟨stack, d⟩| / (‖d‖ ‖d − ⟨stack, d⟩ stack‖), until the L1 change per row falls
/// below `epsilon` or after 11 iterations.
pub fn robust(rows: &[&[f32]], epsilon: f64) -> Vec<f32> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let m = first.len();
    let n = rows.len();
    let mut col = Vec::with_capacity(n);
    let mut stack: Vec<f64> = (0..m)
        .map(|j| {
            col.clear();
            col.extend(rows.iter().map(|r| r[j] as f64));
            median(&mut col)
        })
        .collect();
    let mut w = vec![1.0; n];
    let mut next = vec![0.0; m];
    for _step in 0..11 {
        for (wi, d) in w.iter_mut().zip(rows) {
            let dot: f64 = stack.iter().zip(d.iter()).map(|(s, &x)| s * x as f64).sum();
            let dn = d.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
            let rn = stack
                .iter()
                .zip(d.iter())
                .map(|(s, &x)| (x as f64 - dot * s).powi(2))
                .sum::<f64>()
                .sqrt();
            *wi = dot.abs() / dn / rn;
            if !wi.is_finite() {
                *wi = 0.0;
            }
        }
        let total: f64 = w.iter().sum();
        next.iter_mut().for_each(|v| *v = 0.0);
        if total > 0.0 {
            for (wi, d) in w.iter().zip(rows) {
                for (v, &x) in next.iter_mut().zip(d.iter()) {
                    *v += wi / total * x as f64;
                }
            }
        }
        let change: f64 = next.iter().zip(&stack).map(|(a, b)| (a - b).abs()).sum();
        let norm = next.iter().map(|v| v * v).sum::<f64>().sqrt();
        std::mem::swap(&mut stack, &mut next);
        // NaN (an all-zero stack) ends the iteration too.
        let res = change / norm / n as f64;
        if res.is_nan() || res <= epsilon {
            break;
        }
    }
    stack.into_iter().map(|v| v as f32).collect()
}

/// NumPy's median (mean of the two middle values for an even count).
fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    v.sort_by(|a, b| a.total_cmp(b));
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_rows_stack_to_themselves() {
        let r: Vec<f32> = (0..101).map(|i| ((i as f32) * 0.3).sin()).collect();
        let rows = [&r[..], &r[..], &r[..]];
        for (a, b) in pws(&rows, 2.0).iter().zip(&r) {
            assert!((a - b).abs() < 1e-5);
        }
        for (a, b) in robust(&rows, 1e-3).iter().zip(&r) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn pws_damps_incoherent_parts() {
        let a: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.5).sin()).collect();
        let b: Vec<f32> = a.iter().map(|v| -v).collect();
        let s = pws(&[&a[..], &b[..]], 2.0);
        assert!(s.iter().all(|v| v.abs() < 1e-4));
    }
}
