//! The `parquet_table` sink: table rows (station quality, ...) as Parquet files partitioned by
//! table and UTC day, the layout pandas, pyarrow, DuckDB and Spark read as one dataset:
//! `<path>/<table>/date=YYYY-MM-DD/part-<n>.parquet` (`pd.read_parquet("<path>/quality")`).
//!
//! Rows are appended, never rewritten: each sync writes the rows taken since the last one as
//! new part files (one per table and day), each whole (temporary file, fsync, rename), then
//! `_state.json` with the Kafka positions those parts account for and the number of the next
//! part. On restart, parts numbered at or past that (a sync cut short) are removed and the
//! messages they held are delivered again; messages below the positions are skipped. So a
//! crash neither loses nor duplicates a row. A row is also known by its stream and window
//! (the `stream` column, with `source_id` where a table has one, and the partition column):
//! one already stored is not stored again,
//! so replaying the same files into the same directory adds nothing
//! (`dropped{reason="row_already_stored"}`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

use super::parquet::{read_table, ten, write_table};
use super::{replace_file, Positions, Sink, SinkReport};
use crate::bus::{DataKind, Message, Payload};
use crate::model::Iso;
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Flow, Need};
use crate::pipeline::summary::{plural, Count};
use crate::telemetry::metrics::StageMetrics;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetTableConfig {
    /// Directory of the tables; relative paths are under the storage root.
    pub path: PathBuf,
    /// Seconds between syncs (new part files, then Kafka offsets are committed).
    #[serde(default = "ten")]
    pub commit_interval_s: f64,
    /// The column whose UTC day partitions the rows.
    #[serde(default = "window_start")]
    pub partition_by: String,
}

fn window_start() -> String {
    "window_start".into()
}

impl StageType for ParquetTableConfig {
    const NAME: &'static str = "parquet_table";
    const ROLE: Role = Role::Sink;
    const ABOUT: &'static str =
        "table rows (quality, ...) appended as Parquet parts partitioned by table and UTC day";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Table];
    const EMITS: Option<DataKind> = None;
}

impl Component for ParquetTableConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        if !self.commit_interval_s.is_finite() || self.commit_interval_s <= 0.0 {
            return Err((Some("commit_interval_s".into()), "must be positive".into()));
        }
        Ok(())
    }

    fn memory(&self, input: &Flow) -> Need {
        // The rows of one commit interval: a message's worth per stream at most.
        Need::new(
            input.streams.max(1) * input.message_bytes,
            "the rows of one commit interval",
            Flow::default(),
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let sink = ParquetTableSink::open(
            ctx.settings.storage.resolve(&self.path),
            &self.partition_by,
            ctx.metrics.clone(),
        )?;
        Ok(Work::sink(sink, self.commit_interval_s))
    }
}

/// What `_state.json` holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    positions: Positions,
    next_part: u64,
    /// Rows stored per table, for the summary.
    rows: BTreeMap<String, u64>,
}

pub struct ParquetTableSink {
    dir: PathBuf,
    partition_by: String,
    state: State,
    /// Rows taken since the last sync, by table and day.
    held: BTreeMap<(String, String), Vec<RecordBatch>>,
    /// Positions of what `held` holds too.
    positions: Positions,
    /// (table, stream, partition column) of every row stored, and of those held.
    keys: HashSet<(String, String, i64)>,
    held_keys: HashSet<(String, String, i64)>,
    metrics: StageMetrics,
}

const STATE: &str = "_state.json";

fn other<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> StageError + '_ {
    move |e| StageError::Other(format!("{}: {e}", path.display()))
}

/// The part number of a file named `part-<n>.parquet`.
fn part_number(name: &str) -> Option<u64> {
    name.strip_prefix("part-")?
        .strip_suffix(".parquet")?
        .parse()
        .ok()
}

impl ParquetTableSink {
    pub fn open(
        dir: PathBuf,
        partition_by: &str,
        metrics: StageMetrics,
    ) -> Result<ParquetTableSink, StageError> {
        std::fs::create_dir_all(&dir).map_err(|e| StageError::io(dir.display(), e))?;
        let mut s = ParquetTableSink {
            dir,
            partition_by: partition_by.to_string(),
            state: State::default(),
            held: BTreeMap::new(),
            positions: Positions::default(),
            keys: HashSet::new(),
            held_keys: HashSet::new(),
            metrics,
        };
        s.recover()?;
        s.load_keys()?;
        Ok(s)
    }

    /// Reads the state back, forgets what was held and removes the parts of a sync that did
    /// not complete.
    fn recover(&mut self) -> Result<(), StageError> {
        let path = self.dir.join(STATE);
        self.state = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(other(&path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(StageError::io(path.display(), e)),
        };
        self.positions = self.state.positions.clone();
        self.held.clear();
        self.held_keys.clear();
        let mut removed = 0;
        for part in self.parts()? {
            let n = part
                .file_name()
                .and_then(|n| part_number(&n.to_string_lossy()));
            if n.is_some_and(|n| n >= self.state.next_part) {
                std::fs::remove_file(&part).map_err(|e| StageError::io(part.display(), e))?;
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::warn!(
                "{}: {removed} part file{} of an unfinished sync removed; their rows come again",
                self.dir.display(),
                plural(removed)
            );
        }
        Ok(())
    }

    /// The keys of every row stored, read once at open (syncs add theirs as they go).
    fn load_keys(&mut self) -> Result<(), StageError> {
        self.keys.clear();
        for part in self.parts()? {
            let table = part
                .parent()
                .and_then(|d| d.parent())
                .and_then(|t| t.file_name())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some((batches, _)) = read_table(&part)? else {
                continue;
            };
            for b in &batches {
                let keys = row_keys(b, &self.partition_by)
                    .map_err(|e| StageError::Other(format!("{}: {e}", part.display())))?;
                self.keys
                    .extend(keys.into_iter().map(|(s, t)| (table.clone(), s, t)));
            }
        }
        Ok(())
    }

    /// Every part file under the directory (two levels: table, day).
    fn parts(&self) -> Result<Vec<PathBuf>, StageError> {
        let list = |d: &Path| -> Result<Vec<PathBuf>, StageError> {
            match std::fs::read_dir(d) {
                Ok(it) => it
                    .map(|e| e.map(|e| e.path()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| StageError::io(d.display(), e)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(StageError::io(d.display(), e)),
            }
        };
        let mut out = Vec::new();
        for table in list(&self.dir)?.into_iter().filter(|p| p.is_dir()) {
            for day in list(&table)?.into_iter().filter(|p| p.is_dir()) {
                out.extend(list(&day)?.into_iter().filter(|p| {
                    p.file_name()
                        .is_some_and(|n| part_number(&n.to_string_lossy()).is_some())
                }));
            }
        }
        Ok(out)
    }

    /// Splits a table's rows by the UTC day of the partition column (rows in time order
    /// give one slice per day).
    /// Returns the number of rows left out as already stored.
    fn hold(&mut self, name: &str, batch: &RecordBatch) -> Result<u64, String> {
        let keys = row_keys(batch, &self.partition_by).map_err(|e| format!("table {name}: {e}"))?;
        let new: Vec<bool> = keys
            .into_iter()
            .map(|(s, t)| {
                let k = (name.to_string(), s, t);
                !self.keys.contains(&k) && self.held_keys.insert(k)
            })
            .collect();
        let stored = new.iter().filter(|n| !**n).count() as u64;
        let batch = if stored > 0 {
            let mask = arrow_array::BooleanArray::from(new);
            arrow_select::filter::filter_record_batch(batch, &mask).map_err(|e| e.to_string())?
        } else {
            batch.clone()
        };
        let col = batch
            .column_by_name(&self.partition_by)
            .and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>())
            .ok_or_else(|| format!("no timestamp column `{}`", self.partition_by))?;
        let day = |i: usize| Iso(col.value(i)).to_string()[..10].to_string();
        let mut from = 0;
        while from < batch.num_rows() {
            let d = day(from);
            let mut to = from + 1;
            while to < batch.num_rows() && day(to) == d {
                to += 1;
            }
            self.held
                .entry((name.to_string(), d))
                .or_default()
                .push(batch.slice(from, to - from));
            from = to;
        }
        Ok(stored)
    }
}

/// The (stream, partition time) of each row: what makes a row the same row. Tables with a
/// row per channel of a stream (RSAM of a DAS block) name the channel in `source_id`, which
/// then joins the stream in the key.
fn row_keys(batch: &RecordBatch, partition_by: &str) -> Result<Vec<(String, i64)>, String> {
    let time = batch
        .column_by_name(partition_by)
        .and_then(|c| c.as_primitive_opt::<TimestampNanosecondType>())
        .ok_or_else(|| format!("no timestamp column `{partition_by}` to partition by"))?;
    let stream = batch
        .column_by_name("stream")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| "no text column `stream`".to_string())?;
    let channel = batch
        .column_by_name("source_id")
        .and_then(|c| c.as_string_opt::<i32>());
    Ok((0..batch.num_rows())
        .map(|i| {
            let key = match channel {
                Some(c) if c.value(i) != stream.value(i) => {
                    format!("{} {}", stream.value(i), c.value(i))
                }
                _ => stream.value(i).to_string(),
            };
            (key, time.value(i))
        })
        .collect())
}

impl Sink for ParquetTableSink {
    fn write(&mut self, m: &Message) -> Result<(), StageError> {
        if self.positions.already_stored(m) {
            self.metrics.dropped("already_stored", 1);
            return Ok(());
        }
        let Payload::Table(t) = &m.payload else {
            // The graph check keeps other kinds away; counted should one arrive.
            self.metrics.dropped("wrong_kind", 1);
            return Ok(());
        };
        match self.hold(&t.name, &t.batch) {
            Ok(0) => {}
            Ok(n) => self.metrics.dropped("row_already_stored", n),
            Err(e) => {
                self.metrics.dropped("bad_table", t.rows() as u64);
                tracing::warn!(stream = %m.key, "rows not stored{}: {e}", m.origin());
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StageError> {
        let mut state = self.state.clone();
        for ((name, day), batches) in std::mem::take(&mut self.held) {
            let dir = self.dir.join(&name).join(format!("date={day}"));
            std::fs::create_dir_all(&dir).map_err(|e| StageError::io(dir.display(), e))?;
            let path = dir.join(format!("part-{:08}.parquet", state.next_part));
            write_table(&path, &batches, Vec::new())?;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            *state.rows.entry(name).or_default() += rows as u64;
            state.next_part += 1;
        }
        state.positions = self.positions.clone();
        let path = self.dir.join(STATE);
        let json = serde_json::to_vec_pretty(&state).map_err(other(&path))?;
        replace_file(&path, &json)?;
        self.state = state;
        self.keys.extend(self.held_keys.drain());
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StageError> {
        self.recover()
    }

    fn report(&self) -> Option<SinkReport> {
        let dir = self.dir.display();
        let tables: Vec<String> = self
            .state
            .rows
            .iter()
            .map(|(t, n)| format!("{t} ({} row{})", Count(*n), plural(*n)))
            .collect();
        let first = self.state.rows.keys().next()?;
        Some(SinkReport {
            wrote: format!("{dir}: {} by UTC day", tables.join(", ")),
            open_with: Some(format!("pandas.read_parquet(\"{dir}/{first}\")")),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, StringArray, TimestampNanosecondArray};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    use super::*;
    use crate::bus::Position;
    use crate::model::Table;
    use crate::telemetry::metrics::Metrics;

    const DAY: i64 = 86_400_000_000_000;
    /// 2026-12-01T00:00:00Z.
    const T0: i64 = 20_788 * DAY;

    fn message(offset: i64, starts: &[i64]) -> Message {
        let schema = Schema::new(vec![
            Field::new(
                "window_start",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                false,
            ),
            Field::new("stream", DataType::Utf8, false),
            Field::new("percent_availability", DataType::Float64, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(TimestampNanosecondArray::from(starts.to_vec()).with_timezone("UTC")),
                Arc::new(StringArray::from(vec!["FR.A.00.HHZ"; starts.len()])),
                Arc::new(Float64Array::from(vec![100.0; starts.len()])),
            ],
        )
        .unwrap();
        let t = Table {
            name: "quality".into(),
            stream: "FR.A.00.HHZ".into(),
            batch,
        };
        Message {
            key: "FR.A.00.HHZ".into(),
            payload: Payload::Table(Arc::new(t)),
            position: Some(Position {
                topic: "q".into(),
                partition: 0,
                offset,
            }),
        }
    }

    fn rows_in(dir: &Path) -> usize {
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let (batches, _) = read_table(&e.unwrap().path()).unwrap().unwrap();
            n += batches.iter().map(|b| b.num_rows()).sum::<usize>();
        }
        n
    }

    #[test]
    fn rows_are_split_by_day_and_an_unfinished_sync_is_undone() {
        let tmp = tempfile::tempdir().unwrap();
        let m = Metrics::new("t").stage("tables");
        let mut s = ParquetTableSink::open(tmp.path().into(), "window_start", m.clone()).unwrap();
        // Three rows: two on the 1st, one on the 2nd.
        s.write(&message(0, &[T0, T0 + DAY / 2, T0 + DAY])).unwrap();
        s.sync().unwrap();
        let q = tmp.path().join("quality");
        assert_eq!(rows_in(&q.join("date=2026-12-01")), 2);
        assert_eq!(rows_in(&q.join("date=2026-12-02")), 1);
        assert_eq!(s.state.rows["quality"], 3);
        assert!(s.report().unwrap().wrote.contains("quality (3 rows)"));

        // A sync cut short leaves a part the state does not count: reopening removes it.
        s.write(&message(1, &[T0 + DAY + 60])).unwrap();
        let stray = q
            .join("date=2026-12-02")
            .join(format!("part-{:08}.parquet", s.state.next_part));
        std::fs::copy(
            q.join("date=2026-12-01").join("part-00000000.parquet"),
            &stray,
        )
        .unwrap();
        drop(s);
        let mut s = ParquetTableSink::open(tmp.path().into(), "window_start", m).unwrap();
        assert!(!stray.exists());
        // The stored message, delivered again, is skipped; the unstored one is written.
        s.write(&message(0, &[T0])).unwrap();
        s.write(&message(1, &[T0 + DAY + 60])).unwrap();
        s.sync().unwrap();
        assert_eq!(rows_in(&q.join("date=2026-12-01")), 2);
        assert_eq!(rows_in(&q.join("date=2026-12-02")), 2);
        assert_eq!(s.state.rows["quality"], 4);

        // The same rows again from a replay (no Kafka positions): nothing added.
        let mut again = message(9, &[T0, T0 + DAY + 60, T0 + 2 * DAY]);
        again.position = None;
        s.write(&again).unwrap();
        s.sync().unwrap();
        assert_eq!(s.state.rows["quality"], 5);
        assert_eq!(rows_in(&q.join("date=2026-12-03")), 1);
        assert_eq!(rows_in(&q.join("date=2026-12-01")), 2);
    }

    #[test]
    fn a_table_without_the_partition_column_is_refused_and_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let m = Metrics::new("t").stage("tables");
        let mut s = ParquetTableSink::open(tmp.path().into(), "day", m).unwrap();
        s.write(&message(0, &[T0])).unwrap();
        s.sync().unwrap();
        assert!(s.state.rows.is_empty());
        assert!(s.report().is_none());
    }
}
