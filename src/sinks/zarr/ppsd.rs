//! Daily PPSD histograms in Zarr: the `ppsd` stage's rows stacked per channel per UTC day as
//! ObsPy's `calculate_histogram` stacks them ([`crate::ops::ppsd::histogram`]), one group per
//! channel (`NET.STA.LOC.CHA`) under the sink's path, each an xarray Dataset:
//!
//! - `counts` (day, period, db) uint32: segments of the day whose smoothed value at the period
//!   fell in the dB bin; `probability` (day, period, db) float32: the same over `segments`,
//!   the probability density function ObsPy plots (×100 for percent);
//! - `segments` (day) uint32; `segment_start` (day, slot) int64 ns, the segments counted
//!   (−1 in unused slots): a segment delivered again after a restart is not counted twice;
//! - `day` (day): the UTC midnight, `datetime64[ns]`; `period` (period): bin centres, s;
//!   `db` (db): dB bin centres, with the edges in its attributes.
//!
//! Days are appended along `day` as they first come (a backfilled older day lands after the
//! newer ones: `ds.sortby("day")`). A day's chunks are rewritten whole at each sync while it
//! fills, so a killed writer leaves the previous state of the day, never half of it.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, TimestampNanosecondType};
use serde_json::{json, Value};
use zarrs::storage::ReadableWritableListableStorage;

use super::layout::coordinate_array;
use super::node::{err, join, member, meta_key, store_group, Node};
use super::stac::{axis, Cube};
use crate::model::{Iso, Nanos, Table};
use crate::ops::ppsd::histogram::DbBins;
use crate::ops::ppsd::table as ppsd_table;
use crate::pipeline::emit::StageError;
use crate::pipeline::summary::plural;

const DAY: Nanos = 86_400_000_000_000;
/// Segments a day can count (segments at least a minute apart).
const SLOTS: u64 = 1440;

/// One day of one channel, as held between syncs.
struct Day {
    index: u64,
    counts: Vec<u32>,
    starts: Vec<Nanos>,
    dirty: bool,
}

struct Group {
    path: String,
    periods: Vec<f64>,
    units: String,
    days: Vec<Nanos>,
    open: BTreeMap<Nanos, Day>,
    counts: Node,
    probability: Node,
    segments: Node,
    segment_start: Node,
    day: Node,
    period: Node,
    db: Node,
    attributes: Value,
}

/// Every channel's histograms of one sink.
pub struct PpsdProducts {
    store: ReadableWritableListableStorage,
    base: String,
    attributes: Value,
    bins: DbBins,
    groups: BTreeMap<String, Group>,
    pub rows: u64,
    pub repeated: u64,
}

/// One `ppsd` row, as the histograms need it.
struct PsdRow {
    channel: String,
    start: Nanos,
    units: String,
    periods: Vec<f64>,
    db: Vec<f32>,
}

fn rows_of(t: &Table) -> Result<Vec<PsdRow>, String> {
    let b = &t.batch;
    let col = |n: &str| {
        b.column_by_name(n)
            .ok_or_else(|| format!("table `{}` has no `{n}` column", t.name))
    };
    let stream = col("stream")?.as_string::<i32>();
    let start = col("window_start")?.as_primitive::<TimestampNanosecondType>();
    let units = col("psd_units")?.as_string::<i32>();
    let periods = col("period_s")?.as_list::<i32>();
    let db = col("psd_db")?.as_list::<i32>();
    Ok((0..b.num_rows())
        .map(|i| PsdRow {
            channel: stream.value(i).to_string(),
            start: start.value(i),
            units: units.value(i).to_string(),
            periods: periods
                .value(i)
                .as_primitive::<Float64Type>()
                .values()
                .to_vec(),
            db: db.value(i).as_primitive::<Float32Type>().values().to_vec(),
        })
        .collect())
}

impl PpsdProducts {
    pub fn new(
        store: ReadableWritableListableStorage,
        base: &str,
        attributes: Value,
        db_bins: [f64; 3],
    ) -> Result<Self, StageError> {
        let bins = DbBins::new(db_bins[0], db_bins[1], db_bins[2]).map_err(StageError::Other)?;
        Ok(PpsdProducts {
            store,
            base: base.to_string(),
            attributes,
            bins,
            groups: BTreeMap::new(),
            rows: 0,
            repeated: 0,
        })
    }

    /// Stacks a `ppsd` table's rows into their days.
    pub fn write(&mut self, t: &Table) -> Result<(), StageError> {
        if t.name != ppsd_table::NAME {
            return Err(StageError::Other(format!(
                "table `{}` into a zarr sink: only `ppsd` rows make histograms (tables go to parquet_table)",
                t.name
            )));
        }
        let rows = rows_of(t).map_err(StageError::Other)?;
        for r in rows {
            self.add(r)?;
        }
        Ok(())
    }

    fn add(&mut self, r: PsdRow) -> Result<(), StageError> {
        if !self.groups.contains_key(&r.channel) {
            let path = join(&self.base, &r.channel);
            let g = match Group::open(&self.store, &path)? {
                Some(g) => g,
                None => Group::create(&self.store, &path, &r, &self.bins, &self.attributes)?,
            };
            self.groups.insert(r.channel.clone(), g);
            self.store_root()?;
        }
        let g = self.groups.get_mut(&r.channel).expect("inserted above");
        if g.periods.len() != r.periods.len() || g.units != r.units {
            return Err(StageError::Other(format!(
                "{}: rows of {} periods in {} into a histogram of {} periods in {} (one rate and response per channel)",
                g.path,
                r.periods.len(),
                r.units,
                g.periods.len(),
                g.units
            )));
        }
        let day = r.start.div_euclid(DAY) * DAY;
        let d = g.day_state(day, &self.bins)?;
        if d.starts.contains(&r.start) {
            self.repeated += 1;
            return Ok(());
        }
        if d.starts.len() as u64 >= SLOTS {
            return Err(StageError::Other(format!(
                "{}: more than {SLOTS} segments on {}: segments must be at least a minute apart",
                g.path,
                Iso(day)
            )));
        }
        crate::ops::ppsd::histogram::count(&mut d.counts, &r.db, &self.bins);
        d.starts.push(r.start);
        d.dirty = true;
        self.rows += 1;
        Ok(())
    }

    /// Writes every day changed since the last flush, then the metadata; keeps the newest
    /// days of each channel in memory.
    pub fn flush(&mut self) -> Result<(), StageError> {
        let w = self.bins.len() as u64;
        let mut any = false;
        for g in self.groups.values_mut() {
            let mut changed = false;
            for (&day, d) in g.open.iter_mut().filter(|(_, d)| d.dirty) {
                let n = d.starts.len() as u32;
                let prob: Vec<f32> = d
                    .counts
                    .iter()
                    .map(|&c| if n > 0 { c as f32 / n as f32 } else { 0.0 })
                    .collect();
                let mut starts = d.starts.clone();
                starts.sort_unstable();
                starts.resize(SLOTS as usize, -1);
                let i = d.index;
                g.counts
                    .array
                    .store_chunk(&[i, 0, 0], d.counts.clone())
                    .map_err(err("counts"))?;
                g.probability
                    .array
                    .store_chunk(&[i, 0, 0], prob)
                    .map_err(err("probability"))?;
                g.segments
                    .array
                    .store_chunk(&[i], vec![n])
                    .map_err(err("segments"))?;
                g.segment_start
                    .array
                    .store_chunk(&[i, 0], starts)
                    .map_err(err("segment_start"))?;
                g.day
                    .array
                    .store_chunk(&[i], vec![day])
                    .map_err(err("day"))?;
                d.dirty = false;
                changed = true;
            }
            if changed {
                let n = g.days.len() as u64;
                let p = g.periods.len() as u64;
                g.counts.set_shape(vec![n, p, w])?;
                g.probability.set_shape(vec![n, p, w])?;
                g.segments.set_shape(vec![n])?;
                g.segment_start.set_shape(vec![n, SLOTS])?;
                g.day.set_shape(vec![n])?;
                g.store_metadata(&self.store)?;
                any = true;
            }
            while g.open.len() > 2 {
                let first = *g.open.keys().next().expect("not empty");
                g.open.remove(&first);
            }
        }
        if any {
            self.store_root()?;
        }
        Ok(())
    }

    /// The root group, its metadata consolidated over every channel's group and arrays (what
    /// `xarray.open_zarr(PATH, group=CHANNEL)` looks for at the root).
    fn store_root(&self) -> Result<(), StageError> {
        let mut attrs = self.attributes.clone();
        if let Some(o) = attrs.as_object_mut() {
            o.insert(
                "channels".into(),
                json!(self.groups.keys().collect::<Vec<_>>()),
            );
        }
        let mut members = Vec::new();
        for (name, g) in &self.groups {
            members.push((
                name.clone(),
                json!({"zarr_format": 3, "node_type": "group", "attributes": g.attributes}),
            ));
            for (array, node) in g.arrays() {
                members.push((format!("{name}/{array}"), node.document().clone()));
            }
        }
        let doc = super::layout::consolidated_group(attrs, &members);
        let key = meta_key(&self.base)?;
        let body = serde_json::to_vec_pretty(&doc).map_err(err("zarr.json"))?;
        self.store.set(&key, body.into()).map_err(err("zarr.json"))
    }

    /// One line per channel: days and the span.
    pub fn describe(&self) -> Vec<String> {
        self.groups
            .iter()
            .map(|(name, g)| {
                let mut days = g.days.clone();
                days.sort_unstable();
                let day = |t: &Nanos| Iso(*t).to_string()[..10].to_string();
                let span = match (days.first(), days.last()) {
                    (Some(a), Some(b)) if a == b => format!(" on {}", day(a)),
                    (Some(a), Some(b)) => format!(" from {} to {}", day(a), day(b)),
                    _ => String::new(),
                };
                let n = g.days.len() as u64;
                format!("`{name}` {n} day{} of PPSD histograms{span}", plural(n))
            })
            .collect()
    }

    /// One catalogue description per channel (group).
    pub fn cubes(&self) -> Vec<Cube> {
        self.groups
            .iter()
            .map(|(name, g)| Cube {
                name: name.clone(),
                group: Some(name.clone()),
                description: format!(
                    "daily PPSD histograms of {name} (PSD in {}), (day, period, db)",
                    g.units
                ),
                time: axis("day", &g.days),
                dims: vec![
                    (
                        "period".into(),
                        json!({"type": "period", "values": g.periods, "unit": "s",
                            "description": "period bin centre"}),
                    ),
                    (
                        "db".into(),
                        json!({"type": "power", "extent": [self.bins.edges.first(), self.bins.edges.last()],
                            "step": self.bins.edges.get(1).zip(self.bins.edges.first()).map(|(b, a)| b - a),
                            "unit": g.units, "description": "dB bins (edges at the extent)"}),
                    ),
                ],
                members: g
                    .arrays()
                    .into_iter()
                    .map(|(n, a)| (n.to_string(), a.document().clone()))
                    .collect(),
                places: Vec::new(),
                stations: vec![name.clone()],
            })
            .collect()
    }

    pub fn first_channel(&self) -> Option<&str> {
        self.groups.keys().next().map(String::as_str)
    }
}

impl Group {
    fn create(
        store: &ReadableWritableListableStorage,
        path: &str,
        r: &PsdRow,
        bins: &DbBins,
        sink_attributes: &Value,
    ) -> Result<Group, StageError> {
        let (p, w) = (r.periods.len() as u64, bins.len() as u64);
        let mut attributes = sink_attributes.clone();
        if let Some(o) = attributes.as_object_mut() {
            o.insert("channel".into(), json!(r.channel));
            o.insert("psd_units".into(), json!(r.units));
            o.insert(
                "histogram".into(),
                json!("ObsPy PPSD.calculate_histogram per UTC day: dB bins closed on the right, values outside the range in the end bins"),
            );
        }
        let cube = |dtype: &str, fill: Value, long_name: &str| {
            json!({
                "zarr_format": 3,
                "node_type": "array",
                "shape": [0, p, w],
                "data_type": dtype,
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, p, w]}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": fill,
                "codecs": [
                    {"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "zstd", "configuration": {"level": 3, "checksum": false}}
                ],
                "attributes": {"long_name": long_name},
                "dimension_names": ["day", "period", "db"],
            })
        };
        let mut slots = coordinate_array(
            0,
            1,
            "int64",
            "day",
            json!({"long_name": "start of each segment counted, ns since the epoch (-1: none)"}),
        );
        slots["shape"] = json!([0, SLOTS]);
        slots["chunk_grid"]["configuration"]["chunk_shape"] = json!([1, SLOTS]);
        slots["dimension_names"] = json!(["day", "slot"]);
        slots["fill_value"] = json!(-1);
        let node = |name: &str, doc: Value| Node::create(store, &join(path, name), doc);
        let g = Group {
            path: path.to_string(),
            periods: r.periods.clone(),
            units: r.units.clone(),
            days: Vec::new(),
            open: BTreeMap::new(),
            counts: node(
                "counts",
                cube("uint32", json!(0), "segments per period and dB bin"),
            )?,
            probability: node(
                "probability",
                cube(
                    "float32",
                    json!(0.0),
                    "probability density: counts / segments",
                ),
            )?,
            segments: node(
                "segments",
                coordinate_array(
                    0,
                    1,
                    "uint32",
                    "day",
                    json!({"long_name": "segments stacked"}),
                ),
            )?,
            segment_start: node("segment_start", slots)?,
            day: node(
                "day",
                coordinate_array(
                    0,
                    1,
                    "int64",
                    "day",
                    json!({
                        "units": "nanoseconds since 1970-01-01T00:00:00",
                        "calendar": "proleptic_gregorian",
                        "standard_name": "time",
                        "long_name": "UTC day",
                    }),
                ),
            )?,
            period: node(
                "period",
                coordinate_array(
                    p,
                    p,
                    "float64",
                    "period",
                    json!({"units": "s", "long_name": "period bin centre"}),
                ),
            )?,
            db: node(
                "db",
                coordinate_array(
                    w,
                    w,
                    "float64",
                    "db",
                    json!({"units": r.units, "long_name": "dB bin centre", "bin_edges": bins.edges}),
                ),
            )?,
            attributes,
        };
        g.period
            .array
            .store_chunk(&[0], r.periods.clone())
            .map_err(err("period"))?;
        g.db.array
            .store_chunk(&[0], bins.centers())
            .map_err(err("db"))?;
        g.store_metadata(store)?;
        Ok(g)
    }

    fn open(
        store: &ReadableWritableListableStorage,
        path: &str,
    ) -> Result<Option<Group>, StageError> {
        let Some(counts) = Node::open(store, &join(path, "counts"))? else {
            return Ok(None);
        };
        let need = |name: &str| member(store, path, "counts", name);
        let period = need("period")?;
        let day = need("day")?;
        let group: Value = store
            .get(&meta_key(path)?)
            .map_err(err(path))?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let attributes = group.get("attributes").cloned().unwrap_or(json!({}));
        let units = attributes
            .get("psd_units")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(Some(Group {
            path: path.to_string(),
            periods: period.read_all::<f64>()?,
            units,
            days: day.read_all::<i64>()?,
            open: BTreeMap::new(),
            counts,
            probability: need("probability")?,
            segments: need("segments")?,
            segment_start: need("segment_start")?,
            day,
            period,
            db: need("db")?,
            attributes,
        }))
    }

    /// The day's state: held, read back from the store, or new (appended along `day`).
    fn day_state(&mut self, day: Nanos, bins: &DbBins) -> Result<&mut Day, StageError> {
        if !self.open.contains_key(&day) {
            let cells = self.periods.len() * bins.len();
            let d = match self.days.iter().position(|&d| d == day) {
                Some(i) => {
                    let i = i as u64;
                    let counts: Vec<u32> = self
                        .counts
                        .array
                        .retrieve_chunk(&[i, 0, 0])
                        .map_err(err("counts"))?;
                    let starts: Vec<i64> = self
                        .segment_start
                        .array
                        .retrieve_chunk(&[i, 0])
                        .map_err(err("segment_start"))?;
                    if counts.len() != cells {
                        return Err(StageError::Other(format!(
                            "{}: stored histograms have {} cells, this sink makes {cells} (db_bins changed?)",
                            self.path,
                            counts.len()
                        )));
                    }
                    Day {
                        index: i,
                        counts,
                        starts: starts.into_iter().filter(|&s| s >= 0).collect(),
                        dirty: false,
                    }
                }
                None => {
                    self.days.push(day);
                    Day {
                        index: self.days.len() as u64 - 1,
                        counts: vec![0; cells],
                        starts: Vec::new(),
                        dirty: true,
                    }
                }
            };
            self.open.insert(day, d);
        }
        Ok(self.open.get_mut(&day).expect("inserted above"))
    }

    fn arrays(&self) -> [(&'static str, &Node); 7] {
        [
            ("counts", &self.counts),
            ("probability", &self.probability),
            ("segments", &self.segments),
            ("segment_start", &self.segment_start),
            ("day", &self.day),
            ("period", &self.period),
            ("db", &self.db),
        ]
    }

    fn store_metadata(&self, store: &ReadableWritableListableStorage) -> Result<(), StageError> {
        store_group(store, &self.path, &self.attributes, &self.arrays())
    }
}
