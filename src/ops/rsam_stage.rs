//! The RSAM stages as they run: `rsam` (a one-sample-per-window stream) and `rsam_table`
//! (a row per channel per window), both over the same [`Rsam`] windows, and both keeping a
//! Prometheus gauge per station channel with its last value, which is what an observatory's
//! night-shift dashboard watches. DAS blocks (many channels in one stream) get no gauges: one
//! series per fibre channel is what Prometheus must never be given; their RSAM goes to Zarr.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::table::utc_ns;
use arrow_array::builder::{Float64Builder, StringBuilder, TimestampNanosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use serde::Deserialize;

use super::rsam::{default_coverage, default_window, Counted, Rsam, RsamConfig};
use super::Output;
use crate::bus::{DataKind, Message, Payload};
use crate::model::{Chunk, Table};
use crate::pipeline::component::{
    BuildContext, Component, KeyError, Role, StageType, Transform, Work,
};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};

/// The table's name (the Parquet sink's folder for it).
pub const TABLE: &str = "rsam";

/// `rsam_table`: the `rsam` windows as table rows (Parquet, Kafka product topics), with how
/// many samples each value rests on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RsamTableConfig {
    #[serde(default = "default_window")]
    pub window_s: u64,
    #[serde(default = "default_coverage")]
    pub min_coverage: f64,
}

impl StageType for RsamTableConfig {
    const NAME: &'static str = "rsam_table";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "RSAM as table rows: a row per channel per window (value, samples, coverage, units), for Parquet and Kafka";
    const EMITS: Option<DataKind> = Some(DataKind::Table);
}

impl RsamTableConfig {
    /// The `rsam` stage of the same windows: one set of checks and bounds for both.
    fn windows(&self) -> RsamConfig {
        RsamConfig {
            window_s: self.window_s,
            min_coverage: self.min_coverage,
        }
    }
}

impl Component for RsamTableConfig {
    fn check(&self, stage: &str) -> Result<(), KeyError> {
        self.windows().check(stage)
    }

    fn memory(&self, input: &Flow) -> Need {
        self.windows().memory(input)
    }

    fn build(&self, _: &BuildContext<'_>) -> Result<Work, StageError> {
        self.windows().stage(true)
    }
}

/// An [`Rsam`] in a pipeline: its windows out as blocks or as rows, and the gauges.
pub struct RsamStage {
    rsam: Rsam,
    out: Output,
    table: bool,
    gauges: HashMap<String, prometheus::Gauge>,
}

impl RsamStage {
    pub fn new(rsam: Rsam, table: bool) -> RsamStage {
        let rsam = if table { rsam.counting() } else { rsam };
        RsamStage {
            rsam,
            out: Output::default(),
            table,
            gauges: HashMap::new(),
        }
    }

    fn pass_on(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let counted = self.rsam.take_counted();
        let chunks = std::mem::take(&mut self.out.chunks);
        for c in &chunks {
            // Station channels only: a DAS block is one stream of thousands of channels.
            if c.n_channels() == 1 && c.das.is_none() {
                let g = self
                    .gauges
                    .entry(c.stream.clone())
                    .or_insert_with(|| em.metrics.rsam(&c.stream));
                g.set(c.data[[0, 0]] as f64);
            }
        }
        if self.table {
            for (c, n) in chunks.iter().zip(&counted) {
                let t = rows(c, n, self.rsam.window_ns())
                    .map_err(|e| StageError::Other(format!("{}: {e}", c.stream)))?;
                em.metrics.events("rsam row", t.rows() as u64);
                em.emit(&c.stream, Payload::Table(Arc::new(t)))?;
            }
        } else {
            for c in chunks {
                em.emit_chunk(c)?;
            }
        }
        em.events(&self.out.events);
        self.out.clear();
        Ok(())
    }
}

impl Transform for RsamStage {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        match m.payload {
            Payload::Block(c) => {
                use super::Operator;
                self.rsam.process(Arc::unwrap_or_clone(c), &mut self.out);
                self.pass_on(em)
            }
            other => {
                em.wrong_kind(&m.key, &other);
                Ok(())
            }
        }
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        use super::Operator;
        self.rsam.flush(&mut self.out);
        self.pass_on(em)
    }
}

/// The `rsam` table's columns: the channel (SEED codes as in the `quality` table), the
/// window, the value (null where too little data), what it rests on, and its units.
pub fn schema() -> Schema {
    let text = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Schema::new(vec![
        text("stream", false),
        text("source_id", false),
        text("network", false),
        text("station", false),
        text("location", false),
        text("channel", false),
        Field::new("window_start", utc_ns(), false),
        Field::new("window_end", utc_ns(), false),
        Field::new("rsam", DataType::Float64, true),
        Field::new("num_samples", DataType::UInt64, false),
        Field::new("coverage", DataType::Float64, false),
        text("units", true),
    ])
}

/// One window of one stream (a one-sample block) as rows, a row per channel.
pub fn rows(c: &Chunk, n: &Counted, window: i64) -> Result<Table, arrow_schema::ArrowError> {
    let rows = c.n_channels();
    let mut text: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    for m in &c.channels {
        let seed = m.source_id.to_seed().ok();
        let code = |f: fn(&crate::model::SeedId) -> &str| seed.as_ref().map_or("", f).to_string();
        text[0].append_value(&c.stream);
        text[1].append_value(m.source_id.to_string());
        text[2].append_value(code(|s| &s.network));
        text[3].append_value(code(|s| &s.station));
        text[4].append_value(code(|s| &s.location));
        text[5].append_value(code(|s| &s.channel));
    }
    let time = |t: i64| -> ArrayRef {
        let mut b = TimestampNanosecondBuilder::with_capacity(rows);
        (0..rows).for_each(|_| b.append_value(t));
        Arc::new(b.finish().with_timezone("UTC"))
    };
    let mut value = Float64Builder::with_capacity(rows);
    let mut coverage = Float64Builder::with_capacity(rows);
    let mut units = StringBuilder::new();
    for (r, &k) in n.samples.iter().enumerate().take(rows) {
        let v = c.data[[r, 0]] as f64;
        value.append_option(v.is_finite().then_some(v));
        coverage.append_value((k as f64 / n.expected).min(1.0));
        units.append_option(c.units.as_deref());
    }
    let mut arrays: Vec<ArrayRef> = text
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    arrays.push(time(c.start));
    arrays.push(time(c.start + window));
    arrays.push(Arc::new(value.finish()));
    arrays.push(Arc::new(UInt64Array::from(
        n.samples.iter().take(rows).copied().collect::<Vec<u64>>(),
    )));
    arrays.push(Arc::new(coverage.finish()));
    arrays.push(Arc::new(units.finish()));
    Ok(Table {
        name: TABLE.to_string(),
        stream: c.stream.clone(),
        batch: RecordBatch::try_new(Arc::new(schema()), arrays)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelMeta, SampleRate, SourceId};
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use ndarray::Array2;

    #[test]
    fn a_window_becomes_a_row_per_channel() {
        let c = Chunk {
            stream: "FR.OGCB.00.HHZ".into(),
            start: 1_735_689_600_000_000_000,
            rate: SampleRate(1.0 / 600.0),
            channels: vec![ChannelMeta {
                source_id: SourceId::from_codes("FR", "OGCB", "00", "HHZ"),
                distance_m: None,
            }],
            data: Array2::from_elem((1, 1), 2.5),
            das: None,
            units: Some("m/s".into()),
        };
        let n = Counted {
            samples: vec![45_000],
            expected: 60_000.0,
        };
        let t = rows(&c, &n, 600_000_000_000).unwrap();
        assert_eq!(t.rows(), 1);
        let b = &t.batch;
        assert_eq!(
            b.column_by_name("station")
                .unwrap()
                .as_string::<i32>()
                .value(0),
            "OGCB"
        );
        let cov = b
            .column_by_name("coverage")
            .unwrap()
            .as_primitive::<Float64Type>();
        assert_eq!(cov.value(0), 0.75);
        let v = b
            .column_by_name("rsam")
            .unwrap()
            .as_primitive::<Float64Type>();
        assert_eq!(v.value(0), 2.5);
        // A NaN window is a null value, not a number.
        let mut nan = c.clone();
        nan.data[[0, 0]] = f32::NAN;
        let t = rows(&nan, &n, 600_000_000_000).unwrap();
        assert!(t.batch.column_by_name("rsam").unwrap().is_null(0));
    }
}
