//! The sample values of one window, counted by value: what the sample statistics are computed
//! from when the window closes.
//!
//! MUSTANG's `sample_median` and `sample_unique` need every value of the window, not a running
//! sum: a streaming median cannot be approximated if it must equal ObsPy's and MUSTANG's. A
//! station's counts repeat a great deal (a quiet channel spans a few thousand distinct values a
//! day), so a count per distinct value is exact and small, and everything else (minimum,
//! maximum, mean, quartiles, demeaned RMS) follows from the sorted values at the close, with
//! the accuracy of a two-pass computation. Per sample the work is one hashed increment, and a
//! run of equal values is one.

/// Slots are keyed by the order-preserving bits of the value as f64 (every int32 is exact);
/// 0 is the empty slot, which no value maps to.
const EMPTY: u64 = 0;

/// A value's key: the f64's bits turned so that unsigned order is numeric order (negative
/// numbers flipped whole, positive ones with the sign bit set). All NaNs become one key.
#[inline]
fn key(v: f64) -> u64 {
    let b = if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        (v + 0.0).to_bits() // -0.0 counts as 0.0, as numpy's unique does
    };
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

#[inline]
fn value(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Counts per distinct sample value (open addressing, linear probing).
#[derive(Debug, Clone)]
pub struct ValueCounts {
    keys: Vec<u64>,
    counts: Vec<u64>,
    len: usize,
    /// The value being repeated and how often (added to the table when another value comes).
    run_key: u64,
    run: u64,
}

impl Default for ValueCounts {
    fn default() -> Self {
        Self::with_capacity(1024)
    }
}

impl ValueCounts {
    pub fn with_capacity(distinct: usize) -> Self {
        let slots = (distinct * 2).next_power_of_two().max(64);
        ValueCounts {
            keys: vec![EMPTY; slots],
            counts: vec![0; slots],
            len: 0,
            run_key: EMPTY,
            run: 0,
        }
    }

    /// Number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.run
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.run == 0
    }

    pub fn push_i32(&mut self, v: &[i32]) {
        for &x in v {
            self.push(key(x as f64));
        }
    }

    pub fn push_f32(&mut self, v: &[f32]) {
        for &x in v {
            self.push(key(x as f64));
        }
    }

    pub fn push_f64(&mut self, v: &[f64]) {
        for &x in v {
            self.push(key(x));
        }
    }

    #[inline]
    fn push(&mut self, k: u64) {
        if k == self.run_key {
            self.run += 1;
        } else {
            self.settle();
            self.run_key = k;
            self.run = 1;
        }
    }

    /// Adds the pending run to the table.
    fn settle(&mut self) {
        if self.run > 0 {
            let (k, n) = (self.run_key, self.run);
            self.add(k, n);
            self.run = 0;
            self.run_key = EMPTY;
        }
    }

    fn slot(&self, k: u64) -> usize {
        let bits = self.keys.len().trailing_zeros();
        (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    fn add(&mut self, k: u64, n: u64) {
        if (self.len + 1) * 2 > self.keys.len() {
            self.grow();
        }
        let mask = self.keys.len() - 1;
        let mut i = self.slot(k);
        loop {
            let s = self.keys[i];
            if s == k {
                self.counts[i] += n;
                return;
            }
            if s == EMPTY {
                self.keys[i] = k;
                self.counts[i] = n;
                self.len += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let doubled = vec![EMPTY; self.keys.len() * 2];
        let keys = std::mem::replace(&mut self.keys, doubled);
        let counts = std::mem::replace(&mut self.counts, vec![0; keys.len() * 2]);
        self.len = 0;
        for (k, n) in keys.into_iter().zip(counts) {
            if k != EMPTY {
                self.add(k, n);
            }
        }
    }

    /// Empties the table, keeping its memory for the next window.
    pub fn clear(&mut self) {
        self.keys.fill(EMPTY);
        self.counts.fill(0);
        self.len = 0;
        self.run = 0;
        self.run_key = EMPTY;
    }

    /// Bytes held (what the stage's memory estimate counts).
    pub fn bytes(&self) -> usize {
        self.keys.len() * 16
    }

    /// The statistics of everything counted; `None` when nothing was.
    pub fn summary(&mut self) -> Option<Summary> {
        self.settle();
        let mut v: Vec<(u64, u64)> = self
            .keys
            .iter()
            .zip(&self.counts)
            .filter(|(k, _)| **k != EMPTY)
            .map(|(k, n)| (*k, *n))
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable_by_key(|e| e.0);
        Some(Summary::of_sorted(&v))
    }
}

/// MUSTANG's sample statistics of one window (and ObsPy's `MSEEDMetadata` names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    pub lower_quartile: f64,
    pub upper_quartile: f64,
    /// Root mean square of the demeaned samples (MUSTANG's `sample_rms`; ObsPy calls this
    /// `sample_stdev`, its `sample_rms` is not demeaned).
    pub rms: f64,
    /// Root mean square of the samples as they are (ObsPy's `sample_rms`).
    pub rms_raw: f64,
    /// Number of distinct values (MUSTANG's `sample_unique`).
    pub unique: u64,
}

impl Summary {
    /// From `(key, count)` pairs in ascending key order.
    fn of_sorted(v: &[(u64, u64)]) -> Summary {
        let n: u64 = v.iter().map(|e| e.1).sum();
        let vals = || v.iter().map(|&(k, c)| (value(k), c));
        let mean = neumaier(vals().map(|(x, c)| x * c as f64)) / n as f64;
        let var = neumaier(vals().map(|(x, c)| (x - mean) * (x - mean) * c as f64)) / n as f64;
        let sq = neumaier(vals().map(|(x, c)| x * x * c as f64)) / n as f64;
        Summary {
            count: n,
            min: value(v[0].0),
            max: value(v[v.len() - 1].0),
            mean,
            median: percentile(v, n, 0.5),
            lower_quartile: percentile(v, n, 0.25),
            upper_quartile: percentile(v, n, 0.75),
            rms: var.sqrt(),
            rms_raw: sq.sqrt(),
            unique: v.len() as u64,
        }
    }
}

/// Compensated sum (Neumaier): the mean of a day of samples to the last bits.
fn neumaier(it: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in it {
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    s + c
}

/// The `i`-th smallest sample (0-based) of the counted values.
fn nth(v: &[(u64, u64)], i: u64) -> f64 {
    let mut seen = 0;
    for &(k, c) in v {
        seen += c;
        if i < seen {
            return value(k);
        }
    }
    value(v[v.len() - 1].0)
}

/// `numpy.percentile(x, 100 q)` with its default linear method, numpy's own interpolation
/// formula included (from the upper neighbour when the fraction is at least one half).
fn percentile(v: &[(u64, u64)], n: u64, q: f64) -> f64 {
    let pos = q * (n - 1) as f64;
    let lo = pos.floor();
    let t = pos - lo;
    let a = nth(v, lo as u64);
    let b = nth(v, (lo as u64 + 1).min(n - 1));
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(x: &[f64]) -> Summary {
        let mut s = x.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let mean = s.iter().sum::<f64>() / n as f64;
        let pct = |q: f64| {
            let p = q * (n - 1) as f64;
            let lo = p.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            s[lo] + (s[hi] - s[lo]) * (p - lo as f64)
        };
        let mut u = s.clone();
        u.dedup();
        Summary {
            count: n as u64,
            min: s[0],
            max: s[n - 1],
            mean,
            median: pct(0.5),
            lower_quartile: pct(0.25),
            upper_quartile: pct(0.75),
            rms: (s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt(),
            rms_raw: (s.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt(),
            unique: u.len() as u64,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn counted_statistics_equal_the_sorted_samples() {
        let mut r = crate::synthetic::signal::Rng::new(5);
        for n in [1usize, 2, 3, 4, 7, 100, 1001, 50_000] {
            let x: Vec<i32> = (0..n)
                .map(|i| (r.normal() * 300.0) as i32 + if i % 13 == 0 { 7 } else { 0 })
                .collect();
            let mut c = ValueCounts::with_capacity(4);
            c.push_i32(&x[..n / 2]);
            c.push_i32(&x[n / 2..]);
            let got = c.summary().unwrap();
            let want = batch(&x.iter().map(|&v| v as f64).collect::<Vec<_>>());
            assert_eq!(got.count, want.count);
            assert_eq!(
                (got.min, got.max, got.unique),
                (want.min, want.max, want.unique)
            );
            for (g, w) in [
                (got.mean, want.mean),
                (got.median, want.median),
                (got.lower_quartile, want.lower_quartile),
                (got.upper_quartile, want.upper_quartile),
                (got.rms, want.rms),
                (got.rms_raw, want.rms_raw),
            ] {
                assert!(close(g, w), "n {n}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn floats_negative_zero_and_runs() {
        let mut c = ValueCounts::default();
        c.push_f64(&[-1.5, -1.5, -1.5, 0.0, -0.0, 2.25, -1e300, 1e300]);
        let s = c.summary().unwrap();
        assert_eq!((s.count, s.unique), (8, 5));
        assert_eq!((s.min, s.max), (-1e300, 1e300));
        assert_eq!(s.median, -0.75);
        assert!(ValueCounts::default().summary().is_none());
    }
}
