//! A day's PPSD as ObsPy's `calculate_histogram` stacks it: for each period bin, how many of
//! the day's segments had their smoothed value in each dB bin. dB bins are ObsPy's
//! `db_bins = (min, max, width)`: `int((max - min) / width)` bins between evenly spaced edges,
//! each closed on the right (`(e_k, e_k+1]`, numpy's `searchsorted(side="left") - 1`), values
//! below the first edge counted in the first bin and above the last in the last. The
//! probability density ObsPy plots is a column divided by the number of segments.

use crate::model::Nanos;

/// ObsPy's dB binning.
#[derive(Debug, Clone, PartialEq)]
pub struct DbBins {
    pub edges: Vec<f64>,
}

impl DbBins {
    /// `(min, max, width)`, as ObsPy's `db_bins` (default `(-200, -50, 1)`).
    pub fn new(min: f64, max: f64, width: f64) -> Result<DbBins, String> {
        if !(width > 0.0 && max > min) {
            return Err(format!(
                "db_bins [{min}, {max}, {width}]: need min < max and width > 0"
            ));
        }
        let n = ((max - min) / width) as usize;
        if n == 0 {
            return Err(format!("db_bins [{min}, {max}, {width}]: no bin"));
        }
        let edges = (0..=n)
            .map(|i| min + (max - min) * i as f64 / n as f64)
            .collect();
        Ok(DbBins { edges })
    }

    pub fn len(&self) -> usize {
        self.edges.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn centers(&self) -> Vec<f64> {
        self.edges.windows(2).map(|e| (e[0] + e[1]) / 2.0).collect()
    }

    /// The bin a value falls in (NaN sorts last, as numpy's).
    pub fn index(&self, v: f32) -> usize {
        let v = v as f64;
        let i = if v.is_nan() {
            self.edges.len()
        } else {
            self.edges.partition_point(|&e| e < v)
        };
        i.saturating_sub(1).min(self.len() - 1)
    }
}

/// One channel's segments of one UTC day, stacked.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// The day's midnight.
    pub day: Nanos,
    pub periods: usize,
    /// `counts[period * db_bins + db]`.
    pub counts: Vec<u32>,
    pub segments: u32,
}

impl Day {
    pub fn new(day: Nanos, periods: usize, bins: &DbBins) -> Day {
        Day {
            day,
            periods,
            counts: vec![0; periods * bins.len()],
            segments: 0,
        }
    }

    /// Adds one segment's smoothed PSD (one value per period bin).
    pub fn add(&mut self, psd_db: &[f32], bins: &DbBins) {
        count(
            &mut self.counts,
            &psd_db[..psd_db.len().min(self.periods)],
            bins,
        );
        self.segments += 1;
    }
}

/// Adds one segment's values to `counts[period * bins + db]` (the Zarr sink's days too).
pub fn count(counts: &mut [u32], psd_db: &[f32], bins: &DbBins) {
    let w = bins.len();
    for (p, &v) in psd_db.iter().enumerate() {
        counts[p * w + bins.index(v)] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_searchsorted_left_with_the_ends_clamped() {
        let b = DbBins::new(-200.0, -50.0, 1.0).unwrap();
        assert_eq!(b.len(), 150);
        assert_eq!(b.index(-250.0), 0);
        assert_eq!(b.index(-200.0), 0); // an edge belongs to the bin below it
        assert_eq!(b.index(-199.0), 0);
        assert_eq!(b.index(-198.5), 1);
        assert_eq!(b.index(-50.0), 149);
        assert_eq!(b.index(0.0), 149);
        assert_eq!(b.index(f32::NAN), 149);
        let mut d = Day::new(0, 2, &b);
        d.add(&[-120.2, -300.0], &b);
        assert_eq!(d.counts[79], 1);
        assert_eq!(d.counts[150], 1);
        assert_eq!(d.segments, 1);
    }
}
