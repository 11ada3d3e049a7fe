//! PPSD rows as an Arrow table (`ppsd`): one row per channel per segment, with the bin centre
//! periods and the smoothed PSD as list columns (`period_s`, `psd_db`), so that
//! `pandas.read_parquet(...)` or a Kafka subscriber gets each segment whole, and ObsPy's
//! `PPSD.psd_values` row for row. Times are UTC nanosecond timestamps.

use std::sync::Arc;

use crate::model::table::utc_ns;
use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Float64Builder, ListBuilder, StringBuilder,
    TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use super::Row;
use crate::model::Table;

/// The table's name (the sink's folder).
pub const NAME: &str = "ppsd";

fn list(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

pub fn schema() -> Schema {
    let text = |n: &str| Field::new(n, DataType::Utf8, false);
    Schema::new(vec![
        text("stream"),
        text("network"),
        text("station"),
        text("location"),
        text("channel"),
        Field::new("window_start", utc_ns(), false),
        Field::new("window_end", utc_ns(), false),
        Field::new("sample_rate_hz", DataType::Float64, false),
        Field::new("missing_samples", DataType::UInt64, false),
        Field::new("response_removed", DataType::Boolean, false),
        text("psd_units"),
        Field::new("pct_above_nhnm", DataType::Float64, true),
        Field::new("pct_below_nlnm", DataType::Float64, true),
        Field::new("period_s", list(DataType::Float64), false),
        Field::new("psd_db", list(DataType::Float32), false),
    ])
}

/// The unit of a row's dB values.
pub fn units(r: &Row) -> &'static str {
    if r.response_removed {
        "dB rel. 1 (m/s^2)^2/Hz"
    } else {
        "dB rel. 1 count^2/Hz"
    }
}

/// The rows of one stream as a table.
pub fn table(stream: &str, rows: &[Row]) -> Result<Table, arrow_schema::ArrowError> {
    let mut text: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
    let mut starts = TimestampNanosecondBuilder::new();
    let mut ends = TimestampNanosecondBuilder::new();
    let mut rate = Float64Builder::new();
    let mut missing = UInt64Builder::new();
    let mut removed = BooleanBuilder::new();
    let mut unit = StringBuilder::new();
    let mut above = Float64Builder::new();
    let mut below = Float64Builder::new();
    let mut periods = ListBuilder::new(Float64Builder::new());
    let mut db = ListBuilder::new(Float32Builder::new());
    for r in rows {
        let seed = r.source_id.to_seed();
        let codes = seed
            .map(|s| [s.network, s.station, s.location, s.channel])
            .unwrap_or_default();
        text[0].append_value(&r.channel);
        for (b, c) in text[1..].iter_mut().zip(codes) {
            b.append_value(c);
        }
        starts.append_value(r.start);
        ends.append_value(r.end);
        rate.append_value(r.rate);
        missing.append_value(r.missing);
        removed.append_value(r.response_removed);
        unit.append_value(units(r));
        above.append_option(r.above_nhnm);
        below.append_option(r.below_nlnm);
        periods.values().append_slice(&r.plan.centers());
        periods.append(true);
        db.values().append_slice(&r.psd_db);
        db.append(true);
    }
    let mut arrays: Vec<ArrayRef> = text
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    arrays.extend([
        Arc::new(starts.finish().with_timezone("UTC")) as ArrayRef,
        Arc::new(ends.finish().with_timezone("UTC")),
        Arc::new(rate.finish()),
        Arc::new(missing.finish()),
        Arc::new(removed.finish()),
        Arc::new(unit.finish()),
        Arc::new(above.finish()),
        Arc::new(below.finish()),
        Arc::new(periods.finish()),
        Arc::new(db.finish()),
    ]);
    Ok(Table {
        name: NAME.to_string(),
        stream: stream.to_string(),
        batch: RecordBatch::try_new(Arc::new(schema()), arrays)?,
    })
}
