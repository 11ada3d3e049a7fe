//! MUSTANG's `num_spikes`: outliers found by a rolling Hampel filter, adjacent ones counted
//! as one spike.
//!
//! As IRIS's `spikesMetric` (through seismicRoll's `findOutliers` and `roll_hampel`) defines
//! it: over a window's samples in order, for each sample with 20 on either side (a 41-sample
//! window), `h = |x - median| / (1.4826 * MAD)`, MAD the median of the window's absolute
//! deviations from its median. A sample is an outlier when `h > 10`; where MAD is zero (half
//! the window the same value) `h` is not a number and not an outlier. The count is the number
//! of runs of consecutive outliers; it is null when no sample had a defined `h` (fewer than 41
//! samples, or every window flat), where MUSTANG reports no value.
//!
//! Fast without changing the answer: the 41 values are kept sorted (one insertion, one
//! removal per sample), the median is the middle one, and the exact MAD (the smallest
//! 21-value block around the median) is computed only when a cheap lower bound of it cannot
//! already rule the sample out.

/// The filter's window, samples.
pub const WINDOW: usize = 41;
const HALF: usize = WINDOW / 2;
/// seismicRoll's scale from MAD to a standard deviation.
const L: f64 = 1.4826;
const THRESHOLD: f64 = 10.0;

/// One window's spike count, fed samples in order.
#[derive(Debug, Clone)]
pub struct Spikes {
    /// The last `WINDOW` samples, a ring from `head`, and the same values sorted.
    ring: [f64; WINDOW],
    sorted: [f64; WINDOW],
    head: usize,
    /// Samples held (up to `WINDOW`).
    len: usize,
    spikes: u64,
    /// The previous centre was an outlier (a run continues).
    in_run: bool,
    /// Some centre had a defined `h`.
    defined: bool,
}

impl Default for Spikes {
    fn default() -> Self {
        Spikes {
            ring: [0.0; WINDOW],
            sorted: [0.0; WINDOW],
            head: 0,
            len: 0,
            spikes: 0,
            in_run: false,
            defined: false,
        }
    }
}

impl Spikes {
    pub fn push_i32(&mut self, v: &[i32]) {
        v.iter().for_each(|&x| self.push(x as f64));
    }

    pub fn push_f32(&mut self, v: &[f32]) {
        v.iter().for_each(|&x| self.push(x as f64));
    }

    pub fn push_f64(&mut self, v: &[f64]) {
        v.iter().for_each(|&x| self.push(x));
    }

    #[inline]
    fn push(&mut self, x: f64) {
        if x.is_nan() {
            // Not a sample the median can order; it ends the run of what came before.
            self.in_run = false;
            return;
        }
        if self.len < WINDOW {
            let n = self.len;
            let i = self.sorted[..n].partition_point(|&v| v < x);
            self.sorted.copy_within(i..n, i + 1);
            self.sorted[i] = x;
            self.ring[n] = x;
            self.len += 1;
            if self.len == WINDOW {
                self.centre();
            }
            return;
        }
        // The oldest value leaves, the new one comes: one shift of the values between.
        let old = self.ring[self.head];
        self.ring[self.head] = x;
        self.head = if self.head + 1 == WINDOW {
            0
        } else {
            self.head + 1
        };
        let out = self.sorted.partition_point(|&v| v < old);
        if x >= old {
            let to = self.sorted.partition_point(|&v| v <= x) - 1;
            self.sorted.copy_within(out + 1..=to, out);
            self.sorted[to] = x;
        } else {
            let to = self.sorted[..out].partition_point(|&v| v < x);
            self.sorted.copy_within(to..out, to + 1);
            self.sorted[to] = x;
        }
        self.centre();
    }

    /// Tests the sample in the middle of the full window.
    #[inline]
    fn centre(&mut self) {
        let a = &self.sorted;
        let m = a[HALF];
        let c = self.head + HALF;
        let d = (self.ring[if c >= WINDOW { c - WINDOW } else { c }] - m).abs();
        if d == 0.0 && self.defined {
            // h is 0 (or undefined): not an outlier, and nothing new to learn.
            self.in_run = false;
            return;
        }
        // The 21 values nearest the median are a block a[i..=i+20] around it, so MAD is at
        // least the smaller of m - a[10] and a[30] - m.
        let low = (m - a[HALF / 2]).min(a[HALF + HALF / 2] - m);
        let outlier = if low > 0.0 {
            self.defined = true;
            // (Slightly under the bound, so that rounding never rules out a true outlier.)
            d > 0.999_999 * THRESHOLD * L * low && d / (L * mad(a, m)) > THRESHOLD
        } else {
            let mad = mad(a, m);
            self.defined |= mad > 0.0;
            mad > 0.0 && d / (L * mad) > THRESHOLD
        };
        if outlier && !self.in_run {
            self.spikes += 1;
        }
        self.in_run = outlier;
    }

    /// The count, or `None` where MUSTANG reports no value.
    pub fn count(&self) -> Option<u64> {
        self.defined.then_some(self.spikes)
    }
}

/// The median absolute deviation of sorted `a` from its median `m`: the smallest of the
/// 21-value blocks around the median, measured by its farther end.
fn mad(a: &[f64], m: f64) -> f64 {
    (0..=HALF)
        .map(|i| (m - a[i]).max(a[i + HALF] - m))
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::signal::Rng;

    /// seismicRoll's definition, sample by sample, sorting each window.
    fn reference(x: &[f64]) -> Option<u64> {
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[HALF]
        };
        let mut outliers = Vec::new();
        let mut defined = false;
        for c in HALF..x.len().saturating_sub(HALF) {
            let mut w = x[c - HALF..=c + HALF].to_vec();
            let m = med(&mut w);
            let mut dev: Vec<f64> = w.iter().map(|v| (v - m).abs()).collect();
            let h = (x[c] - m).abs() / (L * med(&mut dev));
            if h.is_finite() {
                defined = true;
                if h > THRESHOLD {
                    outliers.push(c);
                }
            }
        }
        defined.then(|| {
            outliers.windows(2).filter(|p| p[1] - p[0] > 1).count() as u64
                + !outliers.is_empty() as u64
        })
    }

    fn count(x: &[f64]) -> Option<u64> {
        let mut s = Spikes::default();
        // In uneven pieces, as records come.
        for part in x.chunks(37) {
            s.push_f64(part);
        }
        s.count()
    }

    #[test]
    fn equals_the_definition_on_noise_with_spikes_and_flat_stretches() {
        let mut r = Rng::new(5);
        for case in 0..40 {
            let n = 200 + case * 37;
            let mut x: Vec<f64> = (0..n).map(|_| (r.normal() * 3.0).round()).collect();
            for k in 0..case % 7 {
                let at = (k * 97 + case * 13) % n;
                x[at] += 500.0 * if k % 2 == 0 { 1.0 } else { -1.0 };
                if k % 3 == 0 && at + 1 < n {
                    x[at + 1] += 400.0; // adjacent outliers: one spike
                }
            }
            if case % 5 == 0 {
                // A flat stretch (MAD zero, h undefined) and a step out of it.
                x[50..150].fill(7.0);
                x[100] = 9.0;
            }
            assert_eq!(count(&x), reference(&x), "case {case}");
        }
    }

    #[test]
    fn short_or_flat_windows_have_no_value() {
        assert_eq!(count(&[1.0; 40]), None);
        assert_eq!(count(&[3.0; 500]), None);
        let quiet: Vec<f64> = (0..500).map(|i| (i % 5) as f64).collect();
        assert_eq!(count(&quiet), Some(0));
        let mut one = quiet.clone();
        one[250] = 1e4;
        assert_eq!(count(&one), Some(1));
    }
}
