//! Quality rows as an Arrow table: one row per stream per window, columns named as MUSTANG and
//! ObsPy's `MSEEDMetadata` name the metrics (`percent_availability`, `num_gaps`, `sample_rms`,
//! ...), so that a reader who knows those tools knows the table. Seconds are float64 seconds,
//! times are UTC nanosecond timestamps, and a metric that does not exist for a window (no
//! samples, no blockette 1001) is null, not zero.

use std::sync::Arc;

use crate::model::table::utc_ns;
use arrow_array::builder::{
    Float64Builder, StringBuilder, TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use super::flags::NAMES;
use super::values::Summary;
use super::window::Row;
use crate::model::{SeedId, Table};

/// The table's name (the sink's folder).
pub const NAME: &str = "quality";

/// What a column holds, and how it is read from a row.
enum Col {
    Text(&'static str, fn(&Row) -> String),
    Time(&'static str, fn(&Row) -> i64),
    Count(&'static str, fn(&Row) -> u64),
    /// A count that may not exist for the window (null).
    MaybeCount(&'static str, fn(&Row) -> Option<u64>),
    Real(&'static str, fn(&Row) -> Option<f64>),
}

/// Every column but the flag counts, in order.
const COLUMNS: &[Col] = &[
    Col::Text("stream", |r| r.stream.clone()),
    Col::Text("network", |r| code(r, |s| s.network)),
    Col::Text("station", |r| code(r, |s| s.station)),
    Col::Text("location", |r| code(r, |s| s.location)),
    Col::Text("channel", |r| code(r, |s| s.channel)),
    Col::Time("window_start", |r| r.start),
    Col::Time("window_end", |r| r.end),
    Col::Real("sample_rate_hz", |r| r.rate),
    Col::Count("num_records", |r| r.records),
    Col::Count("num_samples", |r| r.samples),
    Col::Real("percent_availability", |r| {
        Some(r.coverage.percent_availability)
    }),
    Col::Count("num_gaps", |r| r.coverage.num_gaps),
    Col::Real("sum_gaps", |r| Some(r.coverage.sum_gaps)),
    Col::Real("max_gap", |r| r.coverage.max_gap),
    Col::Count("num_overlaps", |r| r.coverage.num_overlaps),
    Col::Real("sum_overlaps", |r| Some(r.coverage.sum_overlaps)),
    Col::Real("max_overlap", |r| r.coverage.max_overlap),
    Col::Real("start_gap", |r| r.coverage.start_gap),
    Col::Real("end_gap", |r| r.coverage.end_gap),
    Col::Real("sample_min", |r| r.summary.map(|s| s.min)),
    Col::Real("sample_max", |r| r.summary.map(|s| s.max)),
    Col::Real("sample_mean", |r| r.summary.map(|s| s.mean)),
    Col::Real("sample_median", |r| r.summary.map(|s| s.median)),
    Col::Real("sample_lower_quartile", |r| {
        r.summary.map(|s| s.lower_quartile)
    }),
    Col::Real("sample_upper_quartile", |r| {
        r.summary.map(|s| s.upper_quartile)
    }),
    Col::Real("sample_rms", |r| r.summary.map(|s| s.rms)),
    Col::Real("sample_rms_raw", |r| r.summary.map(|s| s.rms_raw)),
    Col::MaybeCount("sample_unique", |r| r.summary.map(|s| s.unique)),
    Col::MaybeCount("num_spikes", |r| r.num_spikes),
    Col::Count("timing_correction_count", |r| r.timing.corrections),
    Col::Real("timing_quality_mean", |r| tq(r, |q| q.mean)),
    Col::Real("timing_quality_min", |r| tq(r, |q| q.min)),
    Col::Real("timing_quality_max", |r| tq(r, |q| q.max)),
    Col::Real("timing_quality_median", |r| tq(r, |q| q.median)),
    Col::Real("timing_quality_lower_quartile", |r| {
        tq(r, |q| q.lower_quartile)
    }),
    Col::Real("timing_quality_upper_quartile", |r| {
        tq(r, |q| q.upper_quartile)
    }),
    Col::Count("records_used", |r| r.timing.records_used),
    Col::Real("latency_s", |r| r.latency_s),
    Col::Real("delay_s", |r| r.delay_s),
    Col::Real("max_latency_s", |r| r.max_latency_s),
    Col::Real("max_delay_s", |r| r.max_delay_s),
    Col::Time("produced_at", |r| r.produced),
];

/// One SEED code of the row's stream (empty when its source id is not one of SEED's).
fn code(r: &Row, part: fn(SeedId) -> String) -> String {
    r.sid.to_seed().map(part).unwrap_or_default()
}

/// A timing quality statistic, when the window has them (every record used states one).
fn tq(r: &Row, f: fn(&Summary) -> f64) -> Option<f64> {
    r.timing.quality.as_ref().map(f)
}

/// The table's schema: the columns above, then `flag_<name>` counts (records per window with
/// the flag set) in ObsPy's order.
pub fn schema() -> Schema {
    let mut fields: Vec<Field> = COLUMNS
        .iter()
        .map(|c| match c {
            Col::Text(n, _) => Field::new(*n, DataType::Utf8, false),
            Col::Time(n, _) => Field::new(*n, utc_ns(), false),
            Col::Count(n, _) => Field::new(*n, DataType::UInt64, false),
            Col::MaybeCount(n, _) => Field::new(*n, DataType::UInt64, true),
            Col::Real(n, _) => Field::new(*n, DataType::Float64, true),
        })
        .collect();
    fields.extend(
        NAMES
            .iter()
            .map(|n| Field::new(format!("flag_{n}"), DataType::UInt64, false)),
    );
    Schema::new(fields)
}

/// The rows of one stream as a table.
pub fn table(stream: &str, rows: &[Row]) -> Result<Table, arrow_schema::ArrowError> {
    let mut arrays: Vec<ArrayRef> = COLUMNS
        .iter()
        .map(|c| -> ArrayRef {
            match c {
                Col::Text(_, f) => {
                    let mut b = StringBuilder::new();
                    rows.iter().for_each(|r| b.append_value(f(r)));
                    Arc::new(b.finish())
                }
                Col::Time(_, f) => {
                    let mut b = TimestampNanosecondBuilder::with_capacity(rows.len());
                    rows.iter().for_each(|r| b.append_value(f(r)));
                    Arc::new(b.finish().with_timezone("UTC"))
                }
                Col::Count(_, f) => Arc::new(
                    rows.iter()
                        .map(|r| Some(f(r)))
                        .collect::<arrow_array::UInt64Array>(),
                ),
                Col::MaybeCount(_, f) => {
                    Arc::new(rows.iter().map(f).collect::<arrow_array::UInt64Array>())
                }
                Col::Real(_, f) => {
                    let mut b = Float64Builder::with_capacity(rows.len());
                    rows.iter().for_each(|r| b.append_option(f(r)));
                    Arc::new(b.finish())
                }
            }
        })
        .collect();
    for i in 0..NAMES.len() {
        let mut b = UInt64Builder::with_capacity(rows.len());
        rows.iter().for_each(|r| b.append_value(r.flags.counts[i]));
        arrays.push(Arc::new(b.finish()));
    }
    Ok(Table {
        name: NAME.to_string(),
        stream: stream.to_string(),
        batch: RecordBatch::try_new(Arc::new(schema()), arrays)?,
    })
}
