//! Timing quality and stated time corrections of a window, counted the way ObsPy's
//! `get_flags` (behind `MSEEDMetadata`) counts them: only over the records that add coverage.
//!
//! Records are cut to the window and swept from the latest end back; one that starts at or
//! after the coverage already swept (a repeated record, or one inside another) adds nothing
//! and is left out, so a record sent twice does not weigh twice (of records ending together,
//! the last to arrive is the one kept). Timing quality statistics
//! exist only when every record kept states a quality: a window where some records have
//! blockette 1001 and some do not would give a figure of only part of the window.

use super::flags::RecordFlags;
use super::values::{Summary, ValueCounts};
use crate::model::Nanos;

#[derive(Debug, Clone, Copy)]
struct Span {
    start: Nanos,
    end: Nanos,
    quality: Option<f64>,
    corrected: bool,
}

/// The records of a window, as far as timing goes.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    spans: Vec<Span>,
}

/// What the records that add coverage say about timing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimingSummary {
    /// Records that add coverage (ObsPy's `number_of_records_used`).
    pub records_used: u64,
    /// Of those, the ones stating a non-zero time correction (applied or not).
    pub corrections: u64,
    /// Timing quality statistics, percent; `None` unless every record used states one.
    pub quality: Option<Summary>,
}

impl Timing {
    /// A record spanning `[start, end)` (already cut to the window).
    pub fn add(&mut self, start: Nanos, end: Nanos, flags: &RecordFlags) {
        self.spans.push(Span {
            start,
            end,
            quality: flags.timing_quality,
            corrected: flags.time_correction,
        });
    }

    /// The window's figures; the records are forgotten.
    pub fn summary(&mut self) -> TimingSummary {
        // Latest end first; records ending together in reverse arrival order (ObsPy reverses
        // its list, then sorts it stably).
        self.spans.reverse();
        self.spans.sort_by_key(|s| std::cmp::Reverse(s.end));
        let mut covered_from: Option<Nanos> = None;
        let mut out = TimingSummary::default();
        let mut qualities = ValueCounts::with_capacity(8);
        let mut stated = 0;
        for s in self.spans.drain(..) {
            let end = match covered_from {
                None => s.end,
                Some(c) if s.start >= c => continue,
                Some(c) => s.end.min(c),
            };
            covered_from = Some(covered_from.map_or(s.start, |c| c.min(s.start)));
            if end <= s.start {
                continue;
            }
            out.records_used += 1;
            out.corrections += s.corrected as u64;
            if let Some(q) = s.quality {
                qualities.push_f64(&[q]);
                stated += 1;
            }
        }
        if stated == out.records_used && stated > 0 {
            out.quality = qualities.summary();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(q: Option<f64>, corrected: bool) -> RecordFlags {
        RecordFlags {
            bits: 0,
            time_correction: corrected,
            timing_quality: q,
        }
    }

    #[test]
    fn repeated_and_contained_records_are_left_out() {
        let mut t = Timing::default();
        t.add(0, 10, &flags(Some(90.0), false));
        t.add(10, 20, &flags(Some(100.0), true));
        // The second record again (the later copy is the one kept, as in ObsPy), and one
        // inside the first.
        t.add(10, 20, &flags(Some(50.0), true));
        t.add(2, 8, &flags(Some(0.0), false));
        let s = t.summary();
        assert_eq!((s.records_used, s.corrections), (2, 1));
        let q = s.quality.unwrap();
        assert_eq!((q.mean, q.min, q.max, q.median), (70.0, 50.0, 90.0, 70.0));
    }

    #[test]
    fn quality_needs_every_record_used_to_state_one() {
        let mut t = Timing::default();
        t.add(0, 10, &flags(Some(90.0), false));
        t.add(10, 20, &flags(None, false));
        let s = t.summary();
        assert_eq!(s.records_used, 2);
        assert!(s.quality.is_none());
        assert_eq!(t.summary(), TimingSummary::default());
    }
}
