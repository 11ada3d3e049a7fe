//! The `parquet` sink: per-channel availability and gap lists as Parquet tables that pandas and
//! pyarrow read directly (`pd.read_parquet("out/avail/gaps.parquet")`).
//!
//! `availability.parquet`: one row per contiguous segment (`channel`, `start`, `end` — the time
//! after its last sample — `samples`, `sample_rate_hz`). `gaps.parquet`: one row per gap or
//! overlap between consecutive blocks of a channel (`channel`, `kind`, `start`, `end`,
//! `duration_s`, `samples`). Continuity follows libmseed's rule: a block starting within half a
//! sample of where the previous one ended continues it.
//!
//! The tables are small (rows per segment, not per sample), so each sync rewrites both files
//! whole (temporary file, fsync, rename): a reader always sees a complete table. The Kafka
//! positions the tables account for are kept in the availability file's key-value metadata; on
//! restart the tables are read back and messages below those positions are skipped, so a crash
//! neither loses nor double-counts a block.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use super::{replace_file, Positions, Sink, SinkReport};
use crate::bus::{DataKind, Message, Payload};
use crate::formats::mseed::RecordReader;
use crate::model::{sample_time, Nanos, SampleRate};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Flow, Need};
use crate::pipeline::summary::plural;
use crate::telemetry::metrics::StageMetrics;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetConfig {
    /// Directory of the tables; relative paths are under the storage root.
    pub path: PathBuf,
    /// Seconds between rewrites of the tables (then Kafka offsets are committed).
    #[serde(default = "ten")]
    pub commit_interval_s: f64,
}

pub(crate) fn ten() -> f64 {
    10.0
}

impl StageType for ParquetConfig {
    const NAME: &'static str = "parquet";
    const ROLE: Role = Role::Sink;
    const ABOUT: &'static str = "availability and gap tables per stream, as Parquet for pandas";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Records, DataKind::Samples];
    const EMITS: Option<DataKind> = None;
}

impl Component for ParquetConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        if !self.commit_interval_s.is_finite() || self.commit_interval_s <= 0.0 {
            return Err((Some("commit_interval_s".into()), "must be positive".into()));
        }
        Ok(())
    }

    fn memory(&self, input: &Flow) -> Need {
        // A segment list per channel; a segment and a gap row are tens of bytes, and a stream
        // without gaps keeps one segment. 64 segments per channel allow for a damaged day.
        let n = input.all_channels();
        Need::new(
            n * 64 * 96 + (1 << 20),
            format!("{n} ch x 64 segments, table buffers"),
            Flow::default(),
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let sink = ParquetSink::open(
            ctx.settings.storage.resolve(&self.path),
            ctx.metrics.clone(),
        )?;
        Ok(Work::sink(sink, self.commit_interval_s))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Segment {
    start: Nanos,
    end: Nanos,
    samples: u64,
    rate: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct Gap {
    channel: String,
    kind: &'static str,
    start: Nanos,
    end: Nanos,
    samples: i64,
}

pub struct ParquetSink {
    dir: PathBuf,
    /// Channel → its segments, the last one open.
    segments: BTreeMap<String, Vec<Segment>>,
    gaps: Vec<Gap>,
    positions: Positions,
    metrics: StageMetrics,
}

const POSITIONS_KEY: &str = "seisreduce.positions";

fn other<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> StageError + '_ {
    move |e| StageError::Other(format!("{}: {e}", path.display()))
}

impl ParquetSink {
    pub fn open(dir: PathBuf, metrics: StageMetrics) -> Result<ParquetSink, StageError> {
        std::fs::create_dir_all(&dir).map_err(|e| StageError::io(dir.display(), e))?;
        let mut s = ParquetSink {
            dir,
            segments: BTreeMap::new(),
            gaps: Vec::new(),
            positions: Positions::default(),
            metrics,
        };
        s.recover()?;
        Ok(s)
    }

    fn availability_path(&self) -> PathBuf {
        self.dir.join("availability.parquet")
    }
    fn gaps_path(&self) -> PathBuf {
        self.dir.join("gaps.parquet")
    }

    /// Reads the tables back (a restart, or a rollback after a rebalance).
    fn recover(&mut self) -> Result<(), StageError> {
        self.segments.clear();
        self.gaps.clear();
        self.positions = Positions::default();
        let path = self.availability_path();
        let Some((batches, kv)) = read_table(&path)? else {
            return Ok(());
        };
        if let Some(p) = kv.iter().find(|k| k.key == POSITIONS_KEY) {
            self.positions =
                serde_json::from_str(p.value.as_deref().unwrap_or("{}")).map_err(other(&path))?;
        }
        for b in &batches {
            let ch = column::<StringArray>(b, "channel", &path)?;
            let st = column::<TimestampNanosecondArray>(b, "start", &path)?;
            let en = column::<TimestampNanosecondArray>(b, "end", &path)?;
            let n = column::<UInt64Array>(b, "samples", &path)?;
            let r = column::<Float64Array>(b, "sample_rate_hz", &path)?;
            for i in 0..b.num_rows() {
                self.segments
                    .entry(ch.value(i).to_string())
                    .or_default()
                    .push(Segment {
                        start: st.value(i),
                        end: en.value(i),
                        samples: n.value(i),
                        rate: r.value(i),
                    });
            }
        }
        let path = self.gaps_path();
        if let Some((batches, _)) = read_table(&path)? {
            for b in &batches {
                let ch = column::<StringArray>(b, "channel", &path)?;
                let kind = column::<StringArray>(b, "kind", &path)?;
                let st = column::<TimestampNanosecondArray>(b, "start", &path)?;
                let en = column::<TimestampNanosecondArray>(b, "end", &path)?;
                let n = column::<Int64Array>(b, "samples", &path)?;
                for i in 0..b.num_rows() {
                    self.gaps.push(Gap {
                        channel: ch.value(i).to_string(),
                        kind: if kind.value(i) == "overlap" {
                            "overlap"
                        } else {
                            "gap"
                        },
                        start: st.value(i),
                        end: en.value(i),
                        samples: n.value(i),
                    });
                }
            }
        }
        Ok(())
    }

    /// Accounts for `samples` samples of `channel` from `start` at `rate`.
    fn observe(&mut self, channel: &str, start: Nanos, samples: u64, rate: SampleRate) {
        if samples == 0 {
            return;
        }
        let hz = rate.hz();
        let end = sample_time(start, samples as i64, hz);
        let segs = self.segments.entry(channel.to_string()).or_default();
        let Some(last) = segs.last_mut() else {
            segs.push(Segment {
                start,
                end,
                samples,
                rate: hz,
            });
            return;
        };
        let half = rate.period_ns().map_or(0.0, |p| p / 2.0);
        let delta = (start - last.end) as f64;
        if delta.abs() <= half && SampleRate(last.rate).tolerably_equal(rate) {
            last.end = end.max(last.end);
            last.samples += samples;
            return;
        }
        let expected = last.end;
        let missing = (delta * hz / 1e9).round() as i64;
        if delta > 0.0 {
            self.gaps.push(Gap {
                channel: channel.to_string(),
                kind: "gap",
                start: expected,
                end: start,
                samples: missing,
            });
            self.metrics.event("gap");
            segs.push(Segment {
                start,
                end,
                samples,
                rate: hz,
            });
        } else {
            self.gaps.push(Gap {
                channel: channel.to_string(),
                kind: "overlap",
                start,
                end: expected.min(end),
                samples: missing,
            });
            self.metrics.event("overlap");
            last.end = last.end.max(end);
            last.samples += samples;
        }
    }

    fn availability_batch(&self) -> Result<RecordBatch, StageError> {
        let rows: Vec<(&String, &Segment)> = self
            .segments
            .iter()
            .flat_map(|(c, s)| s.iter().map(move |s| (c, s)))
            .collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            timestamps(rows.iter().map(|r| r.1.start)),
            timestamps(rows.iter().map(|r| r.1.end)),
            Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|r| r.1.samples),
            )),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.1.rate),
            )),
        ];
        let schema = Schema::new(vec![
            Field::new("channel", DataType::Utf8, false),
            ts_field("start"),
            ts_field("end"),
            Field::new("samples", DataType::UInt64, false),
            Field::new("sample_rate_hz", DataType::Float64, false),
        ]);
        RecordBatch::try_new(Arc::new(schema), cols).map_err(other(&self.availability_path()))
    }

    fn gaps_batch(&self) -> Result<RecordBatch, StageError> {
        let g = &self.gaps;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(g.iter().map(|g| &g.channel))),
            Arc::new(StringArray::from_iter_values(g.iter().map(|g| g.kind))),
            timestamps(g.iter().map(|g| g.start)),
            timestamps(g.iter().map(|g| g.end)),
            Arc::new(Float64Array::from_iter_values(
                g.iter().map(|g| (g.end - g.start) as f64 / 1e9),
            )),
            Arc::new(Int64Array::from_iter_values(g.iter().map(|g| g.samples))),
        ];
        let schema = Schema::new(vec![
            Field::new("channel", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            ts_field("start"),
            ts_field("end"),
            Field::new("duration_s", DataType::Float64, false),
            Field::new("samples", DataType::Int64, false),
        ]);
        RecordBatch::try_new(Arc::new(schema), cols).map_err(other(&self.gaps_path()))
    }
}

fn ts_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        false,
    )
}

fn timestamps(v: impl Iterator<Item = Nanos>) -> ArrayRef {
    Arc::new(TimestampNanosecondArray::from_iter_values(v).with_timezone("UTC"))
}

fn column<'a, T: Array + 'static>(
    b: &'a RecordBatch,
    name: &str,
    path: &Path,
) -> Result<&'a T, StageError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| {
            StageError::Other(format!(
                "{}: column `{name}` missing or of another type",
                path.display()
            ))
        })
}

pub(crate) type TableParts = (Vec<RecordBatch>, Vec<KeyValue>);

pub(crate) fn read_table(path: &Path) -> Result<Option<TableParts>, StageError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StageError::io(path.display(), e)),
    };
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(other(path))?;
    let kv = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    let batches = b
        .build()
        .map_err(other(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other(path))?;
    Ok(Some((batches, kv)))
}

/// Writes `batches` (one schema) to `path` whole, zstd-compressed (see [`replace_file`]).
pub(crate) fn write_table(
    path: &Path,
    batches: &[RecordBatch],
    kv: Vec<KeyValue>,
) -> Result<(), StageError> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .set_key_value_metadata(Some(kv))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, first.schema(), Some(props)).map_err(other(path))?;
    for b in batches {
        w.write(b).map_err(other(path))?;
    }
    w.close().map_err(other(path))?;
    replace_file(path, &buf)
}

impl Sink for ParquetSink {
    fn write(&mut self, m: &Message) -> Result<(), StageError> {
        if self.positions.already_stored(m) {
            self.metrics.dropped("already_stored", 1);
            return Ok(());
        }
        match &m.payload {
            Payload::Record(bytes) => match RecordReader::new(bytes).next() {
                Some(Ok(rec)) => {
                    let h = &rec.header;
                    self.observe(h.sid.as_str(), h.start, h.sample_count as u64, h.rate);
                }
                _ => {
                    self.metrics.dropped("corrupt_record", 1);
                    tracing::warn!(stream = %m.key, "record not accounted{}: unreadable", m.origin());
                }
            },
            // The graph check keeps other kinds away; counted should one arrive.
            Payload::Correlations(_) | Payload::Spectra(_) | Payload::Table(_) => {
                self.metrics.dropped("wrong_kind", 1)
            }
            Payload::Block(c) => {
                for meta in &c.channels {
                    self.observe(
                        meta.source_id.as_str(),
                        c.start,
                        c.n_samples() as u64,
                        c.rate,
                    );
                }
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StageError> {
        let positions = serde_json::to_string(&self.positions).map_err(other(&self.dir))?;
        write_table(&self.gaps_path(), &[self.gaps_batch()?], Vec::new())?;
        // The availability file carries the positions, so it is replaced last.
        write_table(
            &self.availability_path(),
            &[self.availability_batch()?],
            vec![KeyValue::new(POSITIONS_KEY.to_string(), positions)],
        )
    }

    fn rollback(&mut self) -> Result<(), StageError> {
        self.recover()
    }

    fn report(&self) -> Option<SinkReport> {
        let gaps = self.gaps.iter().filter(|g| g.kind == "gap").count();
        let overlaps = self.gaps.len() - gaps;
        let dir = self.dir.display();
        Some(SinkReport {
            wrote: format!(
                "{dir}: availability of {} stream{} ({gaps} gap{}, {overlaps} overlap{}) in availability.parquet, gaps.parquet",
                self.segments.len(),
                plural(self.segments.len() as u64),
                plural(gaps as u64),
                plural(overlaps as u64),
            ),
            open_with: Some(format!("pandas.read_parquet(\"{dir}/availability.parquet\")")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::metrics::Metrics;

    #[test]
    fn segments_gaps_and_overlaps_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let m = Metrics::new("t").stage("p");
        let mut s = ParquetSink::open(dir.path().into(), m.clone()).unwrap();
        let r = SampleRate(100.0);
        let t0 = 1_700_000_000_000_000_000;
        s.observe("XX.A..HHZ", t0, 100, r);
        s.observe("XX.A..HHZ", t0 + 1_000_000_000 + 2_000_000, 100, r); // within half a sample
        s.observe("XX.A..HHZ", t0 + 3_000_000_000, 100, r); // 1 s gap
        s.observe("XX.A..HHZ", t0 + 3_500_000_000, 100, r); // 0.5 s overlap
        s.sync().unwrap();
        let again = ParquetSink::open(dir.path().into(), m).unwrap();
        assert_eq!(again.segments, s.segments);
        assert_eq!(again.gaps, s.gaps);
        let segs = &again.segments["XX.A..HHZ"];
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].samples, 200);
        assert_eq!(again.gaps[0].kind, "gap");
        assert_eq!(again.gaps[0].samples, 100);
        assert_eq!(again.gaps[1].kind, "overlap");
        assert_eq!(again.gaps[1].samples, -50);
    }
}
