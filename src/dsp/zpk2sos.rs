//! Zeros/poles/gain to second-order sections, pairing them as SciPy's `zpk2sos` does with
//! `pairing='nearest'` (its default for digital filters).
//!
//! The order matters to users who compare coefficients with SciPy, and to numerical quality: the
//! poles closest to the unit circle (the "worst", highest-Q ones) go into the last sections, each
//! paired with its nearest zeros, and the overall gain goes into the first section.

use super::butter::Zpk;
use num_complex::Complex64 as C;

/// One section `[b0, b1, b2, a0, a1, a2]` with `a0 = 1`.
pub type Section = [f64; 6];

const TOL: f64 = 100.0 * f64::EPSILON;

fn is_real(c: C) -> bool {
    c.im == 0.0
}

/// Splits values into one of each complex-conjugate pair (positive imaginary part, averaged with
/// its partner) followed by the real values; both sorted by real part, then by the size of the
/// imaginary part.
fn conjugate_pairs_then_reals(v: &[C]) -> Vec<C> {
    let mut z = v.to_vec();
    // Stable sort by (real, |imag|), like NumPy's lexsort.
    z.sort_by(|a, b| {
        a.re.total_cmp(&b.re)
            .then(a.im.abs().total_cmp(&b.im.abs()))
    });
    let (reals, cplx): (Vec<C>, Vec<C>) = z.into_iter().partition(|c| c.im.abs() <= TOL * c.norm());
    let mut pos: Vec<C> = cplx.iter().copied().filter(|c| c.im > 0.0).collect();
    let mut neg: Vec<C> = cplx.iter().copied().filter(|c| c.im < 0.0).collect();
    // Within runs of (nearly) equal real parts, order by the size of the imaginary part.
    let mut start = 0;
    while start < pos.len() {
        let mut stop = start + 1;
        while stop < pos.len() && pos[stop].re - pos[stop - 1].re <= TOL * pos[stop - 1].norm() {
            stop += 1;
        }
        pos[start..stop].sort_by(|a, b| a.im.abs().total_cmp(&b.im.abs()));
        if stop <= neg.len() {
            neg[start..stop].sort_by(|a, b| a.im.abs().total_cmp(&b.im.abs()));
        }
        start = stop;
    }
    let mut out: Vec<C> = pos
        .iter()
        .zip(&neg)
        .map(|(&p, &n)| (p + n.conj()) / 2.0)
        .collect();
    out.extend(reals.iter().map(|c| C::new(c.re, 0.0)));
    out
}

/// Index of the value closest to the unit circle (first on ties).
fn worst(p: &[C]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if (1.0 - v.norm()).abs() < (1.0 - p[best].norm()).abs() {
            best = i;
        }
    }
    best
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Real,
    Complex,
    Any,
}

/// Index of the value of `kind` nearest to `to`.
fn nearest(from: &[C], to: C, kind: Kind) -> usize {
    from.iter()
        .enumerate()
        .filter(|(_, &v)| match kind {
            Kind::Real => is_real(v),
            Kind::Complex => !is_real(v),
            Kind::Any => true,
        })
        .min_by(|a, b| (a.1 - to).norm().total_cmp(&(b.1 - to).norm()))
        .map(|(i, _)| i)
        .expect("zpk2sos pairing always has a candidate")
}

/// Polynomial with the given roots, highest power first, real part (roots come in conjugate
/// pairs or are real).
fn poly(roots: &[C]) -> Vec<f64> {
    let mut c = vec![C::new(1.0, 0.0)];
    for &r in roots {
        let mut next = vec![C::new(0.0, 0.0); c.len() + 1];
        for (i, &v) in c.iter().enumerate() {
            next[i] += v;
            next[i + 1] -= v * r;
        }
        c = next;
    }
    c.iter().map(|v| v.re).collect()
}

fn section(z: &[C], p: &[C]) -> Section {
    let (b, a) = (poly(z), poly(p));
    let mut s = [0.0; 6];
    s[3 - b.len()..3].copy_from_slice(&b);
    s[6 - a.len()..6].copy_from_slice(&a);
    s
}

/// Second-order sections of a digital filter, SciPy's `zpk2sos(z, p, k)`.
pub fn zpk2sos(f: &Zpk) -> Vec<Section> {
    let (mut z, mut p) = (f.z.clone(), f.p.clone());
    if z.is_empty() && p.is_empty() {
        return vec![[f.k, 0.0, 0.0, 1.0, 0.0, 0.0]];
    }
    let zero = C::new(0.0, 0.0);
    let n = z.len().max(p.len());
    p.resize(n, zero);
    z.resize(n, zero);
    let n_sections = n.div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(zero);
        z.push(zero);
    }
    let mut z = conjugate_pairs_then_reals(&z);
    let mut p = conjugate_pairs_then_reals(&p);
    let mut sos = vec![[0.0; 6]; n_sections];
    for si in (0..n_sections).rev() {
        let p1 = p.remove(worst(&p));
        let reals_left = p.iter().filter(|v| is_real(**v)).count();
        if is_real(p1) && reals_left == 0 {
            // The last real pole: pair it with the nearest real zero, one section of order 1.
            let z1 = z.remove(nearest(&z, p1, Kind::Real));
            sos[si] = section(&[z1, zero], &[p1, zero]);
        } else if p.len() + 1 == z.len()
            && !is_real(p1)
            && reals_left == 1
            && z.iter().filter(|v| is_real(**v)).count() == 1
        {
            // One real pole and one real zero remain, to be paired later: this complex pole
            // must take a complex zero.
            let z1 = z.remove(nearest(&z, p1, Kind::Complex));
            sos[si] = section(&[z1, z1.conj()], &[p1, p1.conj()]);
        } else {
            let p2 = if is_real(p1) {
                let reals: Vec<usize> = (0..p.len()).filter(|&i| is_real(p[i])).collect();
                let candidates: Vec<C> = reals.iter().map(|&i| p[i]).collect();
                p.remove(reals[worst(&candidates)])
            } else {
                p1.conj()
            };
            if z.is_empty() {
                sos[si] = section(&[], &[p1, p2]);
            } else {
                let z1 = z.remove(nearest(&z, p1, Kind::Any));
                if !is_real(z1) {
                    sos[si] = section(&[z1, z1.conj()], &[p1, p2]);
                } else if !z.is_empty() {
                    let z2 = z.remove(nearest(&z, p1, Kind::Real));
                    sos[si] = section(&[z1, z2], &[p1, p2]);
                } else {
                    sos[si] = section(&[z1], &[p1, p2]);
                }
            }
        }
    }
    for v in &mut sos[0][..3] {
        *v *= f.k;
    }
    sos
}
