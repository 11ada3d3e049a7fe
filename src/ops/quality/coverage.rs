//! Availability, gaps and overlaps of one window, as MUSTANG defines them and ObsPy's
//! `MSEEDMetadata` computes them.
//!
//! Records are first merged into traces as libmseed merges them when ObsPy reads a file (a
//! record continues a trace of the same rate when it starts within half a sample of the
//! trace's end, or ends within half a sample of its start). The traces are then sorted by
//! start and end and swept once: a trace starting more than half a sample after the covered
//! end is a gap (measured from the covered end to the trace's start, clipped to the window);
//! one starting more than half a sample before the covered end is an overlap (the covered part
//! of the trace, clipped to the window). The window's edges count: data starting after the
//! window's start, or ending before its end, are a gap at that edge. Availability is the
//! window less its gaps, in percent.
//!
//! MUSTANG's documentation speaks of a 1/fs tolerance; ObsPy (and therefore this) uses half a
//! sample period, libmseed's default when it joins records. All times are integer
//! nanoseconds until the durations are reported in seconds.

use crate::model::Nanos;

/// A trace: records joined end to start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trace {
    pub start: Nanos,
    /// Time after the last sample (start + samples × period).
    pub end: Nanos,
    pub rate: f64,
}

impl Trace {
    fn half_period(&self) -> Nanos {
        (5e8 / self.rate) as Nanos
    }
}

/// The traces of one window, built from its records in any order.
#[derive(Debug, Clone, Default)]
pub struct Traces {
    traces: Vec<Trace>,
}

impl Traces {
    /// Adds a record spanning `start..end` at `rate` Hz.
    pub fn add(&mut self, start: Nanos, end: Nanos, rate: f64) {
        let r = Trace { start, end, rate };
        let tol = r.half_period();
        // The latest trace first: records usually arrive in order.
        for t in self.traces.iter_mut().rev() {
            if t.rate != rate {
                continue;
            }
            if (start - t.end).abs() <= tol {
                t.end += end - start;
                return;
            }
            if (end - t.start).abs() <= tol {
                t.start -= end - start;
                return;
            }
        }
        self.traces.push(r);
    }

    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// Gaps and overlaps in `t0..t1`.
    pub fn coverage(&self, t0: Nanos, t1: Nanos) -> Coverage {
        let mut traces = self.traces.clone();
        traces.sort_by_key(|t| (t.start, t.end));
        let secs = |ns: Nanos| ns as f64 / 1e9;
        let mut gaps = Vec::new();
        let mut overlaps = Vec::new();
        let mut covered: Option<(Nanos, Nanos)> = None; // (start, end)
        let mut tol = 0;
        for t in traces.iter().filter(|t| t.end > t0 && t.start <= t1) {
            let cut_start = t.start.max(t0);
            let cut_end = t.end.min(t1);
            let Some((_, end)) = covered.as_mut() else {
                covered = Some((t.start, t.end));
                tol = t.half_period();
                continue;
            };
            if t.start > *end + tol {
                gaps.push(secs(cut_start - *end));
            }
            if t.start <= *end - tol {
                overlaps.push(secs(cut_end.min(*end) - cut_start));
            }
            if t.end > *end {
                *end = t.end;
                tol = t.half_period();
            }
        }
        let (mut start_gap, mut end_gap) = (None, None);
        match covered {
            Some((s, e)) => {
                if s > t0 {
                    start_gap = Some(secs(s - t0));
                    gaps.push(secs(s - t0));
                }
                if e < t1 {
                    end_gap = Some(secs(t1 - e));
                    gaps.push(secs(t1 - e));
                }
            }
            // No data in the window: it is one gap.
            None => gaps.push(secs(t1 - t0)),
        }
        let total = secs(t1 - t0);
        let sum_gaps: f64 = gaps.iter().sum();
        Coverage {
            percent_availability: 100.0 * ((total - sum_gaps) / total),
            num_gaps: gaps.len() as u64,
            sum_gaps,
            max_gap: gaps.iter().copied().reduce(f64::max),
            num_overlaps: overlaps.len() as u64,
            sum_overlaps: overlaps.iter().sum(),
            max_overlap: overlaps.iter().copied().reduce(f64::max),
            start_gap,
            end_gap,
        }
    }
}

/// What [`Traces::coverage`] finds, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub percent_availability: f64,
    pub num_gaps: u64,
    pub sum_gaps: f64,
    pub max_gap: Option<f64>,
    pub num_overlaps: u64,
    pub sum_overlaps: f64,
    pub max_overlap: Option<f64>,
    /// Data start after the window's start by this much.
    pub start_gap: Option<f64>,
    /// Data end before the window's end by this much.
    pub end_gap: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    #[test]
    fn gaps_overlaps_and_edges() {
        let mut t = Traces::default();
        // 1 Hz: records of 10 s; out of order; one gap of 5 s, one overlap of 3 s.
        t.add(10 * S, 20 * S, 1.0);
        t.add(0, 10 * S, 1.0);
        t.add(25 * S, 35 * S, 1.0);
        t.add(32 * S, 50 * S, 1.0);
        let c = t.coverage(0, 60 * S);
        assert_eq!(c.num_gaps, 2, "{c:?}");
        assert_eq!(c.max_gap, Some(10.0));
        assert_eq!(c.end_gap, Some(10.0));
        assert_eq!(c.start_gap, None);
        assert_eq!(c.sum_gaps, 15.0);
        assert_eq!((c.num_overlaps, c.max_overlap), (1, Some(3.0)));
        assert_eq!(c.percent_availability, 75.0);
        // Within half a sample is no gap.
        let mut t = Traces::default();
        t.add(0, 10 * S, 1.0);
        t.add(10 * S + S / 2, 20 * S + S / 2, 1.0);
        assert_eq!(t.coverage(0, 20 * S).num_gaps, 0);
        // An empty window is one gap.
        let c = Traces::default().coverage(0, 60 * S);
        assert_eq!((c.num_gaps, c.percent_availability), (1, 0.0));
    }
}
