//! The common time grid of a (channel, time) array: index `i` is at
//! `sample_time(origin, i, rate)`, computed exactly in integers, never accumulated.

use crate::model::{parse_iso, sample_time, Nanos};

const MINUTE: Nanos = 60_000_000_000;
const HOUR: Nanos = 60 * MINUTE;
const DAY: Nanos = 24 * HOUR;

/// Where the time axis starts, decided when the array is created and kept in its metadata (so
/// that a restart addresses the same chunks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Origin {
    /// The first sample received.
    First,
    /// The first sample's time rounded down to a multiple of this (an hour, a day): streams
    /// that start a little before the first one received still fit.
    Floor(Nanos),
    At(Nanos),
}

impl Origin {
    pub fn parse(s: &str) -> Result<Origin, String> {
        match s {
            "first" => Ok(Origin::First),
            "minute" => Ok(Origin::Floor(MINUTE)),
            "hour" => Ok(Origin::Floor(HOUR)),
            "day" => Ok(Origin::Floor(DAY)),
            iso => parse_iso(iso).map(Origin::At).ok_or_else(|| {
                format!("{iso:?}: use \"first\", \"minute\", \"hour\", \"day\" or a UTC time like 2024-01-01T00:00:00")
            }),
        }
    }

    /// The origin for an array whose first sample is at `first`, sampled at `rate`: on the
    /// grid of `first`, so that its samples land exactly on indices.
    pub fn resolve(self, first: Nanos, rate: f64) -> Nanos {
        let target = match self {
            Origin::First => return first,
            Origin::Floor(unit) => first - first.rem_euclid(unit),
            Origin::At(t) => t,
        };
        // Step back from `first` by whole samples to the last grid point at or before target.
        let grid = TimeGrid {
            origin: first,
            rate,
        };
        let (i, _) = grid.index_of(target);
        let i = if grid.time(i) > target { i - 1 } else { i };
        grid.time(i)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeGrid {
    pub origin: Nanos,
    pub rate: f64,
}

impl TimeGrid {
    pub fn time(&self, index: i64) -> Nanos {
        sample_time(self.origin, index, self.rate)
    }

    /// The index nearest to `t`, and how far `t` is from it (ns, positive: later).
    pub fn index_of(&self, t: Nanos) -> (i64, i64) {
        let est = ((t - self.origin) as f64 * self.rate / 1e9).round() as i64;
        let mut best = (est, t - self.time(est));
        for c in [est - 1, est + 1] {
            let off = t - self.time(c);
            if off.abs() < best.1.abs() {
                best = (c, off);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_exact_for_awkward_rates() {
        let g = TimeGrid {
            origin: 1_700_000_000_123_456_789,
            rate: 3.0,
        };
        for i in [0i64, 1, 2, 3, 1_000_000_007] {
            assert_eq!(g.index_of(g.time(i)), (i, 0));
        }
        assert_eq!(g.index_of(g.time(10) + 1000), (10, 1000));
    }

    #[test]
    fn floor_origins_stay_on_the_first_samples_grid() {
        let first = 3 * HOUR + 1_234_567_890; // 03:00:01.23456789
        let o = Origin::Floor(HOUR).resolve(first, 100.0);
        assert!(o <= 3 * HOUR && 3 * HOUR - o < 10_000_000);
        assert_eq!((first - o) % 10_000_000, 0);
        assert_eq!(Origin::First.resolve(first, 100.0), first);
        assert!(Origin::parse("2024-01-01T00:00:00").is_ok());
        assert!(Origin::parse("sometime").is_err());
    }
}
