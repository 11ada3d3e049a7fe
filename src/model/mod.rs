//! The data model shared by sources, operators and sinks.
//!
//! - [`Nanos`]: time as integer nanoseconds since the epoch; see [`time`].
//! - [`SeedId`] / [`SourceId`]: stream identifiers; see [`ids`].
//! - [`SampleRate`]: samples per second, read from miniSEED 3's signed rate/period field.
//! - [`Chunk`]: a block of samples, channels × time, the unit every operator consumes.
//! - [`CorrBlock`]: correlation functions of channel pairs over lag; see [`ccf`].

pub mod ccf;
pub mod das;
pub mod hash;
pub mod ids;
pub mod table;
pub mod time;

pub use ccf::{CorrBlock, Pair, SpectraBlock};
pub use das::DasMeta;
pub use ids::{IdError, SeedId, SourceId};
pub use table::Table;
pub use time::{
    first_at_or_after, now, now_coarse, parse_iso, sample_time, Iso, Nanos, YearDayTime,
};

use ndarray::Array2;

/// Samples per second. miniSEED 3 stores a signed value: positive is a rate in Hz, negative is
/// a period in seconds (`-10.0` = one sample every 10 s). Internally we always hold Hz.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct SampleRate(pub f64);

impl SampleRate {
    /// From miniSEED 3's rate-or-period field.
    pub fn from_rate_or_period(v: f64) -> Self {
        if v < 0.0 {
            SampleRate(-1.0 / v)
        } else {
            SampleRate(v)
        }
    }

    /// To miniSEED 3's field: rates below 1 Hz that are whole-second periods are written as
    /// a negative period, which is exact where the rate would not be.
    pub fn to_rate_or_period(self) -> f64 {
        let r = self.0;
        if r > 0.0 && r < 1.0 {
            let p = 1.0 / r;
            if (p - p.round()).abs() < 1e-9 {
                return -p.round();
            }
        }
        r
    }

    pub fn hz(self) -> f64 {
        self.0
    }

    /// Sample period in nanoseconds (float); `None` for a zero rate (text or log channels).
    pub fn period_ns(self) -> Option<f64> {
        (self.0 > 0.0 && self.0.is_finite()).then(|| 1e9 / self.0)
    }

    /// libmseed's rate tolerance: two rates are the same stream rate when they agree to 1e-4.
    pub fn tolerably_equal(self, other: SampleRate) -> bool {
        if self.0 == other.0 {
            return true;
        }
        if other.0 == 0.0 {
            return false;
        }
        (1.0 - self.0 / other.0).abs() < 1e-4
    }
}

/// Per-channel metadata carried with a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelMeta {
    pub source_id: SourceId,
    /// Distance along the fibre in metres (DAS only).
    pub distance_m: Option<f64>,
}

/// A block of samples, channels × time. A single station channel is a one-row chunk.
///
/// Sample `j` of every row is at `sample_time(start, j, rate)`; times are never accumulated.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The stream this block belongs to (Kafka key, Zarr group).
    pub stream: String,
    pub start: Nanos,
    pub rate: SampleRate,
    pub channels: Vec<ChannelMeta>,
    pub data: Array2<f32>,
    /// Fibre metadata when the block comes from a DAS interrogator.
    pub das: Option<std::sync::Arc<DasMeta>>,
    /// What the values are when a stage made them physical (`m/s`, `m/s**2`, `Pa`, as the
    /// station metadata spells them); `None` for raw counts or values of unknown units.
    pub units: Option<String>,
}

impl Chunk {
    pub fn n_channels(&self) -> usize {
        self.data.nrows()
    }

    pub fn n_samples(&self) -> usize {
        self.data.ncols()
    }

    pub fn time_of(&self, index: i64) -> Nanos {
        sample_time(self.start, index, self.rate.hz())
    }

    /// Time one sample after the last one: where the next chunk of a contiguous stream starts.
    pub fn end_exclusive(&self) -> Nanos {
        self.time_of(self.n_samples() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_rate_is_a_period() {
        assert_eq!(SampleRate::from_rate_or_period(-10.0).hz(), 0.1);
        assert_eq!(SampleRate(0.1).to_rate_or_period(), -10.0);
        assert_eq!(SampleRate(40.0).to_rate_or_period(), 40.0);
    }

    #[test]
    fn rate_tolerance_matches_libmseed() {
        assert!(SampleRate(20.0).tolerably_equal(SampleRate(20.0002)));
        assert!(!SampleRate(20.0).tolerably_equal(SampleRate(20.01)));
    }

    #[test]
    fn chunk_times() {
        let c = Chunk {
            stream: "XX.TEST".into(),
            start: 1_000,
            rate: SampleRate(100.0),
            channels: vec![ChannelMeta {
                source_id: SeedId::new("XX", "TEST", "", "HHZ").to_source_id(),
                distance_m: None,
            }],
            data: Array2::zeros((1, 250)),
            das: None,
            units: None,
        };
        assert_eq!(c.time_of(100), 1_000 + 1_000_000_000);
        assert_eq!(c.end_exclusive(), 1_000 + 2_500_000_000);
    }
}
