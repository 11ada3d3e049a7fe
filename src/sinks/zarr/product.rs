//! One product in a Zarr group: the (channel, time) data array on a common time grid, its
//! coordinates, and the open time columns being filled.
//!
//! Data are buffered per *column*: all channels over the time span of one stored object (a
//! shard, or a chunk without sharding). A column is written when every channel has passed its
//! end, when too many are open (a stream far behind), and at each sync (partially filled, NaN
//! elsewhere); a retired column is encoded and stored on a writer thread while the next blocks
//! come in ([`Column`] holds and encodes it). Columns are addressed by time index, so writing
//! one again after a restart, with the same data re-delivered, writes the same bytes. A column
//! that is not in memory is read back from the store before more data go into it (late data,
//! or the column a restart resumes).
//!
//! Channels are added at the end of the channel axis as they first appear; their coordinates
//! are stored before any chunk holding their data, so a restart maps every channel to the same
//! row. Gaps between a channel's blocks stay NaN and are listed in the `gaps` attribute.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::{json, Value};
use zarrs::storage::{ReadableWritableListableStorage, StoreKey};

use super::column::{Buffers, ChunkCodec, Column, Shape};
use super::grid::TimeGrid;
use super::layout::{consolidated_group, coordinate_array, Layout};
use super::node::{err, meta_key, Node};
use super::stac::{nominal, Axis, Cube};
use super::store::{Objects, Stored};
use crate::metadata::live::Live;
use crate::metadata::Catalogue;
use crate::model::ids::SourceId;
use crate::model::time::Nanos;
use crate::model::{Chunk, Iso};
use crate::pipeline::emit::StageError;
use crate::telemetry::metrics::StageMetrics;

/// Columns kept in memory at once; the oldest is written and dropped beyond this.
const MAX_OPEN_COLUMNS: usize = 2;
/// Elements per chunk of the channel coordinate arrays.
const CHANNEL_CHUNK: u64 = 4096;

#[derive(Debug, Clone)]
struct Channel {
    id: String,
    distance: f64,
    /// Latitude, longitude (degrees) and elevation (m) from the station metadata; NaN without.
    place: [f64; 3],
    /// Where this channel's samples are relative to the grid (ns): sub-sample timing offsets
    /// between stations are kept, not rounded away silently.
    offset_ns: i64,
    /// One past the last index written.
    end: u64,
}

/// The writer thread's answer: the column's buffer, and what it stored.
type Writing = JoinHandle<(Buffers, Result<Stored, String>)>;

/// What a product records besides the data: fixed when it is created.
#[derive(Debug, Clone)]
pub struct Description {
    pub name: String,
    pub units: String,
    /// Attributes of the group (provenance).
    pub group_attributes: Value,
}

pub struct Product {
    /// The store: its storage for metadata and coordinates, and the data array's objects.
    objects: Objects,
    base: String,
    desc: Description,
    layout: Layout,
    pub grid: TimeGrid,
    data: Node,
    time: Node,
    channel: Node,
    distance: Node,
    offset: Node,
    /// `latitude`, `longitude`, `elevation` per channel.
    places: [Node; 3],
    /// The pipeline's station metadata, where channels' coordinates come from.
    catalogue: Option<Arc<Live>>,
    channels: Vec<Channel>,
    index: HashMap<String, usize>,
    /// Channels whose coordinates are in the store.
    stored_channels: usize,
    /// Time length: one past the last index written.
    len: u64,
    /// `len` when the newest channel appeared: the channel set has been stable since.
    len_at_new_channel: u64,
    /// The smallest channel end, and how many channels end there (None: to be counted again).
    /// Kept as channels advance instead of taken over every channel at each record: records
    /// of a network in time order come one channel at a time, thousands of channels.
    passed: Option<(u64, usize)>,
    /// Chunks `0..time_chunks` of the time coordinate are stored (all of them, so that times
    /// before a late-starting column are real times, not the fill value).
    time_chunks: u64,
    columns: BTreeMap<u64, Column>,
    /// The buffers of the last column dropped, for the next one.
    spare: Option<Buffers>,
    codec: Arc<ChunkCodec>,
    /// The retired column being stored on the writer thread: its buffer back, and what it stored.
    writing: Option<Writing>,
    gaps: Vec<Value>,
    /// Encoded size of every stored data object, for the compression ratio.
    object_sizes: HashMap<StoreKey, u64>,
    warned_before_origin: bool,
    metrics: StageMetrics,
}

fn join(base: &str, name: &str) -> String {
    if base == "/" {
        format!("/{name}")
    } else {
        format!("{base}/{name}")
    }
}

/// The codec of the data array's chunks, which the sink runs itself (see [`Column::encode`]).
fn chunk_codec(layout: &Layout, data: &Node) -> Result<Arc<ChunkCodec>, StageError> {
    ChunkCodec::new(layout, data.array.data_type(), data.array.fill_value())
        .map(Arc::new)
        .map_err(|e| StageError::Other(format!("{}: {e}", data.array.path())))
}

impl Product {
    /// Creates the arrays for a product whose first samples are at `origin` on `rate`.
    pub fn create(
        objects: Objects,
        base: &str,
        desc: Description,
        layout: Layout,
        grid: TimeGrid,
        catalogue: Option<Arc<Live>>,
        metrics: StageMetrics,
    ) -> Result<Product, StageError> {
        let store = objects.storage.clone();
        let [_, width] = layout.block();
        let data_attrs = json!({
            "units": desc.units,
            "long_name": desc.name,
            "sampling_rate_hz": grid.rate,
            "time_origin_ns": grid.origin,
            "coordinates": "distance time_offset latitude longitude elevation",
            "gaps": [],
            "channel_end": [],
        });
        let data = Node::create(
            &store,
            &join(base, &desc.name),
            layout.data_array([0, 0], data_attrs),
        )?;
        let codec = chunk_codec(&layout, &data)?;
        let time = Node::create(
            &store,
            &join(base, "time"),
            coordinate_array(
                0,
                width,
                "int64",
                "time",
                json!({
                    "units": "nanoseconds since 1970-01-01T00:00:00",
                    "calendar": "proleptic_gregorian",
                    "standard_name": "time",
                    "long_name": "time of the sample (UTC)",
                    "axis": "T",
                }),
            ),
        )?;
        let channel = Node::create(
            &store,
            &join(base, "channel"),
            coordinate_array(
                0,
                CHANNEL_CHUNK,
                "string",
                "channel",
                json!({
                    "long_name": "FDSN source identifier",
                    "cf_role": "timeseries_id",
                }),
            ),
        )?;
        let distance = Node::create(
            &store,
            &join(base, "distance"),
            coordinate_array(
                0,
                CHANNEL_CHUNK,
                "float64",
                "channel",
                json!({
                    "units": "m",
                    "long_name": "distance along the fibre (DAS); NaN for stations",
                }),
            ),
        )?;
        let offset = Node::create(
            &store,
            &join(base, "time_offset"),
            coordinate_array(
                0,
                CHANNEL_CHUNK,
                "int64",
                "channel",
                json!({
                    "units": "nanoseconds",
                    "long_name": "time of the channel's samples minus the grid time",
                }),
            ),
        )?;
        let places = place_arrays(&store, base, false)?;
        let mut p = Product {
            objects,
            base: base.to_string(),
            desc,
            layout,
            grid,
            data,
            time,
            channel,
            distance,
            offset,
            places,
            catalogue,
            channels: Vec::new(),
            index: HashMap::new(),
            stored_channels: 0,
            len: 0,
            len_at_new_channel: 0,
            passed: None,
            time_chunks: 0,
            columns: BTreeMap::new(),
            spare: None,
            codec,
            writing: None,
            gaps: Vec::new(),
            object_sizes: HashMap::new(),
            warned_before_origin: false,
            metrics,
        };
        p.store_metadata()?;
        Ok(p)
    }

    /// Opens what an earlier run stored, or None if the store holds no such product.
    pub fn open(
        objects: Objects,
        base: &str,
        desc: Description,
        layout: Layout,
        catalogue: Option<Arc<Live>>,
        metrics: StageMetrics,
    ) -> Result<Option<Product>, StageError> {
        let store = objects.storage.clone();
        let path = join(base, &desc.name);
        let Some(data) = Node::open(&store, &path)? else {
            return Ok(None);
        };
        let codec = chunk_codec(&layout, &data)?;
        let open = |name: &str| {
            Node::open(&store, &join(base, name))?
                .ok_or_else(|| StageError::Other(format!("{path}: coordinate `{name}` missing")))
        };
        let (time, channel, distance, offset) = (
            open("time")?,
            open("channel")?,
            open("distance")?,
            open("time_offset")?,
        );
        let empty = serde_json::Map::new();
        let attrs = data.attributes().unwrap_or(&empty);
        let num = |k: &str| attrs.get(k).and_then(Value::as_f64);
        let (Some(rate), Some(origin)) = (
            num("sampling_rate_hz"),
            attrs.get("time_origin_ns").and_then(Value::as_i64),
        ) else {
            return Err(StageError::Other(format!("{path}: not written by seisreduce (no sampling_rate_hz / time_origin_ns attributes)")));
        };
        let ends: Vec<u64> = attrs
            .get("channel_end")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let gaps = attrs
            .get("gaps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let len = data.array.shape()[1];
        let width = layout.block()[1];
        let ids: Vec<String> = channel.read_all()?;
        let dist: Vec<f64> = distance.read_all()?;
        let offs: Vec<i64> = offset.read_all()?;
        let channels: Vec<Channel> = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| Channel {
                id,
                distance: dist.get(i).copied().unwrap_or(f64::NAN),
                place: [f64::NAN; 3],
                offset_ns: offs.get(i).copied().unwrap_or(0),
                end: ends.get(i).copied().unwrap_or(len),
            })
            .collect();
        let index = channels
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        // Stores written before coordinates were kept get the arrays now, and every
        // channel's coordinates are stored again from the metadata.
        let had_places = Node::open(&store, &join(base, "latitude"))?.is_some();
        let places = place_arrays(&store, base, had_places)?;
        let mut channels = channels;
        if had_places {
            let read = |n: &Node| n.read_all::<f64>();
            let (lat, lon, elev) = (read(&places[0])?, read(&places[1])?, read(&places[2])?);
            for (i, c) in channels.iter_mut().enumerate() {
                c.place =
                    [lat.get(i), lon.get(i), elev.get(i)].map(|v| v.copied().unwrap_or(f64::NAN));
            }
        } else if let Some(cat) = &catalogue {
            for c in channels.iter_mut() {
                c.place = locate(&cat.current(), &c.id, origin).unwrap_or([f64::NAN; 3]);
            }
        }
        let stored_channels = if had_places { channels.len() } else { 0 };
        Ok(Some(Product {
            objects,
            base: base.to_string(),
            desc,
            layout,
            grid: TimeGrid { origin, rate },
            data,
            time,
            channel,
            distance,
            offset,
            places,
            catalogue,
            stored_channels,
            channels,
            index,
            time_chunks: len.div_ceil(width),
            len,
            len_at_new_channel: len,
            passed: None,
            columns: BTreeMap::new(),
            spare: None,
            codec,
            writing: None,
            gaps,
            object_sizes: HashMap::new(),
            warned_before_origin: false,
            metrics,
        }))
    }

    fn rows_padded(&self) -> usize {
        let bc = self.layout.block()[0] as usize;
        self.channels.len().div_ceil(bc) * bc
    }

    fn width(&self) -> u64 {
        self.layout.block()[1]
    }

    /// Puts a block's samples at their grid positions.
    pub fn write(&mut self, c: &Chunk) -> Result<(), StageError> {
        let (i0, off) = self.grid.index_of(c.start);
        let n = c.n_samples() as i64;
        let skip = if i0 < 0 { (-i0).min(n) } else { 0 };
        if skip > 0 {
            self.metrics.dropped("before_array_start", 1);
            if !self.warned_before_origin {
                self.warned_before_origin = true;
                tracing::warn!(stream = %c.stream, start = %Iso(c.start), origin = %Iso(self.grid.origin),
                    "samples before the start of the array's time axis are dropped; set the sink's `origin` earlier");
            }
        }
        if skip == n {
            return Ok(());
        }
        let first = (i0 + skip) as u64;
        let end = (i0 + n) as u64;
        // Every channel of the block first, so that a new column is made for all of them at
        // once instead of growing channel by channel (a DAS block brings thousands).
        let rows: Vec<usize> = c
            .channels
            .iter()
            .map(|meta| self.channel_row(meta.source_id.as_str(), meta.distance_m, off, c.start))
            .collect();
        for (row, ch) in c.data.rows().into_iter().zip(rows) {
            let chan = &mut self.channels[ch];
            if chan.offset_ns != off && (chan.offset_ns - off).abs() > 1000 {
                self.metrics.event("time_shift");
                tracing::warn!(channel = %chan.id, was = chan.offset_ns, now = off, "the channel's sub-sample timing changed; its samples are kept on the nearest grid index");
            }
            if chan.end > 0 && first > chan.end {
                self.metrics.event("gap");
                self.gaps.push(json!({
                    "channel": chan.id,
                    "start": Iso(self.grid.time(chan.end as i64)).to_string(),
                    "end": Iso(self.grid.time(first as i64)).to_string(),
                    "start_ns": self.grid.time(chan.end as i64),
                    "end_ns": self.grid.time(first as i64),
                    "missing_samples": first - chan.end,
                }));
            } else if first < chan.end {
                self.metrics.event("rewrite");
            }
            if end > chan.end {
                if let Some((min, n)) = self.passed {
                    if chan.end == min {
                        // the last channel at the minimum moving on moves the minimum
                        self.passed = (n > 1).then_some((min, n - 1));
                    }
                }
                chan.end = end;
            }
            let values = row.as_slice().map(|s| &s[skip as usize..]);
            let owned;
            let values = match values {
                Some(v) => v,
                None => {
                    owned = row
                        .iter()
                        .skip(skip as usize)
                        .copied()
                        .collect::<Vec<f32>>();
                    &owned
                }
            };
            self.put(ch, first, values)?;
        }
        self.len = self.len.max(end);
        // Encoding ahead for blocks that carry every channel (a DAS array), and for channels
        // that come one record at a time once no new channel has appeared for a chunk of
        // time (a network in real time). While channels still appear, often station after
        // station, "every channel known so far has passed" says nothing about the channels
        // still to come, and parts would be encoded again for each of them.
        let whole = c.channels.len() >= self.channels.len();
        let settled = self.len >= self.len_at_new_channel + self.layout.chunk[1];
        self.retire_columns(whole || settled)
    }

    /// The sample every channel has passed.
    fn passed(&mut self) -> u64 {
        let (min, _) = *self.passed.get_or_insert_with(|| {
            let min = self.channels.iter().map(|c| c.end).min().unwrap_or(0);
            let n = self.channels.iter().filter(|c| c.end == min).count();
            (min, n)
        });
        min
    }

    fn channel_row(&mut self, id: &str, distance: Option<f64>, off: i64, at: Nanos) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.channels.len();
        let place = match &self.catalogue {
            Some(cat) => locate(&cat.current(), id, at).unwrap_or_else(|| {
                self.metrics.event("no_metadata");
                [f64::NAN; 3]
            }),
            None => [f64::NAN; 3],
        };
        self.channels.push(Channel {
            id: id.to_string(),
            distance: distance.unwrap_or(f64::NAN),
            place,
            offset_ns: off,
            end: 0,
        });
        self.index.insert(id.to_string(), i);
        self.len_at_new_channel = self.len;
        self.passed = None;
        let rows = self.rows_padded();
        for col in self.columns.values_mut() {
            col.grow(rows);
        }
        i
    }

    fn put(&mut self, ch: usize, first: u64, values: &[f32]) -> Result<(), StageError> {
        let width = self.width();
        let mut at = first;
        let mut rest = values;
        while !rest.is_empty() {
            let ci = at / width;
            let within = (at % width) as usize;
            let take = rest.len().min(width as usize - within);
            self.column(ci)?.put(ch, within, &rest[..take]);
            rest = &rest[take..];
            at += take as u64;
        }
        Ok(())
    }

    /// The column `ci`, read back from the store if it is not in memory.
    fn column(&mut self, ci: u64) -> Result<&mut Column, StageError> {
        if !self.columns.contains_key(&ci) {
            let shape = Shape::of(&self.layout);
            let mut col = Column::new(shape, self.rows_padded(), self.spare.take());
            let stored_rows = self.data.array.shape()[0] as usize;
            if ci * self.width() < self.data.array.shape()[1] {
                // It may be the column the writer thread is storing.
                self.finish_writing()?;
                for cs in 0..stored_rows.div_ceil(shape.block[0]) {
                    let got: Option<Vec<f32>> = self
                        .data
                        .array
                        .retrieve_chunk_if_exists(&[cs as u64, ci])
                        .map_err(err(&self.desc.name))?;
                    if let Some(v) = got {
                        col.load_block(cs, &v);
                    }
                }
                col.dirty = false;
            }
            self.columns.insert(ci, col);
        }
        Ok(self.columns.get_mut(&ci).expect("inserted above"))
    }

    /// Writes and drops columns that every channel has passed, and the oldest beyond the limit.
    fn retire_columns(&mut self, encode_ahead: bool) -> Result<(), StageError> {
        let width = self.width();
        let passed = self.passed();
        let done_below = passed / width;
        let retire: Vec<u64> = self
            .columns
            .keys()
            .copied()
            .filter(|&ci| ci < done_below)
            .collect();
        for ci in retire {
            self.retire(ci)?;
        }
        while self.columns.len() > MAX_OPEN_COLUMNS {
            let Some(&ci) = self.columns.keys().next() else {
                break;
            };
            self.retire(ci)?;
        }
        // What every channel has passed in the open columns is encoded while blocks come in.
        if !encode_ahead {
            return Ok(());
        }
        for (&ci, col) in &mut self.columns {
            let upto = passed.saturating_sub(ci * width).min(width);
            col.encode_ahead(upto as usize, &self.codec);
        }
        Ok(())
    }

    /// Sets the shapes the metadata will record: the time axis only as far as the time
    /// coordinate is stored, so that a reader of a store whose writer died never sees fill
    /// values for times.
    fn set_shapes(&mut self) -> Result<(), StageError> {
        let n = self.channels.len() as u64;
        let len = self.len.min(self.time_chunks * self.width());
        self.data.set_shape(vec![n, len])?;
        self.time.set_shape(vec![len])?;
        Ok(())
    }

    /// Stores the coordinates of channels added since the last time.
    fn store_new_channels(&mut self) -> Result<(), StageError> {
        let n = self.channels.len();
        if n == self.stored_channels {
            return Ok(());
        }
        let chunk = CHANNEL_CHUNK as usize;
        for a in [&mut self.channel, &mut self.distance, &mut self.offset]
            .into_iter()
            .chain(self.places.iter_mut())
        {
            a.set_shape(vec![n as u64])?;
        }
        for ck in self.stored_channels / chunk..n.div_ceil(chunk) {
            let span = ck * chunk..((ck + 1) * chunk).min(n);
            let pad = chunk - span.len();
            let chans = &self.channels[span];
            let ids: Vec<String> = chans
                .iter()
                .map(|c| c.id.clone())
                .chain(std::iter::repeat_n(String::new(), pad))
                .collect();
            let dist: Vec<f64> = chans
                .iter()
                .map(|c| c.distance)
                .chain(std::iter::repeat_n(f64::NAN, pad))
                .collect();
            let offs: Vec<i64> = chans
                .iter()
                .map(|c| c.offset_ns)
                .chain(std::iter::repeat_n(0, pad))
                .collect();
            let ck = [ck as u64];
            self.channel
                .array
                .store_chunk(&ck, ids)
                .map_err(err("channel"))?;
            self.distance
                .array
                .store_chunk(&ck, dist)
                .map_err(err("distance"))?;
            self.offset
                .array
                .store_chunk(&ck, offs)
                .map_err(err("time_offset"))?;
            for (k, (node, name)) in self.places.iter().zip(PLACE_NAMES).enumerate() {
                let v: Vec<f64> = chans
                    .iter()
                    .map(|c| c.place[k])
                    .chain(std::iter::repeat_n(f64::NAN, pad))
                    .collect();
                node.array.store_chunk(&ck, v).map_err(err(name))?;
            }
        }
        self.stored_channels = n;
        // The channel axis grows in the metadata before any chunk with the new rows is stored.
        self.set_shapes()?;
        self.store_metadata()
    }

    /// Stores what a column's objects need first (channel coordinates, the time coordinate up
    /// to its end, the shapes); the keys of its objects.
    fn prepare_column(&mut self, ci: u64) -> Result<Vec<StoreKey>, StageError> {
        self.store_new_channels()?;
        let width = self.width() as usize;
        if ci >= self.time_chunks {
            self.time.set_shape(vec![(ci + 1) * width as u64])?;
        }
        for k in self.time_chunks..=ci {
            let t0 = k as i64 * width as i64;
            let times: Vec<i64> = (t0..t0 + width as i64).map(|i| self.grid.time(i)).collect();
            self.time
                .array
                .store_chunk(&[k], times)
                .map_err(err("time"))?;
        }
        self.time_chunks = self.time_chunks.max(ci + 1);
        self.set_shapes()?;
        let blocks = self
            .channels
            .len()
            .div_ceil(self.layout.block()[0] as usize);
        Ok((0..blocks as u64)
            .map(|cs| self.data.array.chunk_key(&[cs, ci]))
            .collect())
    }

    fn record(&mut self, stored: Stored) {
        for (key, size) in stored {
            match size {
                Some(size) => self.object_sizes.insert(key, size),
                None => self.object_sizes.remove(&key),
            };
        }
    }

    /// Writes an open column as it stands; it stays open.
    fn flush_column(&mut self, ci: u64) -> Result<(), StageError> {
        if !self.columns.get(&ci).is_some_and(|c| c.dirty) {
            return Ok(());
        }
        let keys = self.prepare_column(ci)?;
        let col = self.columns.get_mut(&ci).expect("checked above");
        let stored = col
            .store(&self.codec, &keys, &self.objects)
            .map_err(err(&self.desc.name))?;
        self.record(stored);
        if let Some(c) = self.columns.get_mut(&ci) {
            c.dirty = false;
        }
        Ok(())
    }

    /// Drops column `ci`, writing it on another thread while the sink takes the next blocks
    /// (one column at a time; its errors come out of the next write or sync).
    fn retire(&mut self, ci: u64) -> Result<(), StageError> {
        let Some(mut col) = self.columns.remove(&ci) else {
            return Ok(());
        };
        if !col.dirty {
            self.spare = Some(col.into_buffers());
            return Ok(());
        }
        let keys = match self.prepare_column(ci) {
            Ok(k) => k,
            Err(e) => {
                self.columns.insert(ci, col);
                return Err(e);
            }
        };
        // Its parts not yet encoded go to the pool now, ahead of the next column's: the writer
        // then finds them done in turn, and the pool keeps the next column's parts to work on
        // while the writer waits for the disk (encoded by the writer, they queued behind them,
        // and the pool ran dry while the sink waited for that writer).
        col.encode_ahead(self.width() as usize, &self.codec);
        self.finish_writing()?;
        let (codec, objects) = (self.codec.clone(), self.objects.clone());
        let job = std::thread::Builder::new()
            .name("zarr-writer".into())
            .spawn(move || {
                let mut col = col;
                let stored = col.store(&codec, &keys, &objects);
                (col.into_buffers(), stored)
            })
            .map_err(|e| StageError::Other(format!("cannot start a zarr writer thread: {e}")))?;
        self.writing = Some(job);
        Ok(())
    }

    /// Waits for the column being written on the writer thread.
    fn finish_writing(&mut self) -> Result<(), StageError> {
        let Some(job) = self.writing.take() else {
            return Ok(());
        };
        let (buffer, stored) = job.join().map_err(|_| {
            StageError::Other(format!("{}: the writer thread panicked", self.desc.name))
        })?;
        self.spare = Some(buffer);
        self.record(stored.map_err(err(&self.desc.name))?);
        Ok(())
    }

    /// Channels, time length and rate, and stored over raw size, for the run's summary.
    pub fn extent(&self) -> (usize, u64, f64, Option<f64>) {
        let stored: u64 = self.object_sizes.values().sum();
        let raw = self.object_sizes.len() as u64 * self.layout.block().iter().product::<u64>() * 4;
        let ratio = (stored > 0).then(|| raw as f64 / stored as f64);
        (self.channels.len(), self.len, self.grid.rate, ratio)
    }

    /// Writes every open column as it stands and the metadata that describes them.
    pub fn flush(&mut self) -> Result<(), StageError> {
        self.finish_writing()?;
        self.store_new_channels()?;
        let open: Vec<u64> = self.columns.keys().copied().collect();
        for ci in open {
            self.flush_column(ci)?;
        }
        self.set_shapes()?;
        self.store_metadata()?;
        let stored: u64 = self.object_sizes.values().sum();
        let raw = self.object_sizes.len() as u64 * self.layout.block().iter().product::<u64>() * 4;
        self.metrics.stored_bytes(stored, raw);
        Ok(())
    }

    fn store_metadata(&mut self) -> Result<(), StageError> {
        let ends = json!(self.channels.iter().map(|c| c.end).collect::<Vec<_>>());
        self.data
            .set_attribute("gaps", Value::Array(self.gaps.clone()));
        self.data.set_attribute("channel_end", ends);
        for (_, a) in self.arrays() {
            a.store(&self.objects.storage)?;
        }
        let group = consolidated_group(self.desc.group_attributes.clone(), &self.members());
        let key = meta_key(&self.base)?;
        let body = serde_json::to_vec_pretty(&group).map_err(err("zarr.json"))?;
        self.objects
            .storage
            .set(&key, body.into())
            .map_err(err("zarr.json"))
    }
}

impl Product {
    fn arrays(&self) -> [(&str, &Node); 8] {
        [
            (&self.desc.name, &self.data),
            ("time", &self.time),
            ("channel", &self.channel),
            ("distance", &self.distance),
            ("time_offset", &self.offset),
            (PLACE_NAMES[0], &self.places[0]),
            (PLACE_NAMES[1], &self.places[1]),
            (PLACE_NAMES[2], &self.places[2]),
        ]
    }

    /// Every array's document, as the group consolidates them.
    fn members(&self) -> Vec<(String, Value)> {
        self.arrays()
            .into_iter()
            .map(|(n, a)| (n.to_string(), a.document().clone()))
            .collect()
    }

    /// What the stored dataset is, for its catalogue item (as of the last flush).
    pub fn cube(&self) -> Cube {
        let len = self.data.document()["shape"][1].as_u64().unwrap_or(0);
        let time = (len > 0).then(|| Axis {
            name: "time".into(),
            first: self.grid.time(0),
            last: self.grid.time(len as i64 - 1),
            step_ns: Some(1e9 / self.grid.rate),
        });
        let ids: Vec<String> = self.channels[..self.stored_channels]
            .iter()
            .map(|c| c.id.clone())
            .collect();
        let fibre = self.channels.iter().all(|c| c.distance.is_finite()) && ids.len() > 1;
        let what = if fibre {
            "fibre channels"
        } else {
            "channels (FDSN source ids)"
        };
        Cube {
            name: self.desc.name.clone(),
            group: None,
            description: format!(
                "`{}` in {} on a {} Hz grid, (channel, time)",
                self.desc.name, self.desc.units, self.grid.rate
            ),
            time,
            dims: vec![("channel".into(), nominal("channel", ids, what))],
            members: self.members(),
            places: self.channels[..self.stored_channels]
                .iter()
                .map(|c| [c.place[1], c.place[0]])
                .collect(),
            stations: Vec::new(),
        }
    }
}

const PLACE_NAMES: [&str; 3] = ["latitude", "longitude", "elevation"];

/// The `latitude`, `longitude` and `elevation` coordinate arrays (CF names and units):
/// opened when `exist`, else created empty.
fn place_arrays(
    store: &ReadableWritableListableStorage,
    base: &str,
    exist: bool,
) -> Result<[Node; 3], StageError> {
    let attrs = [
        json!({"units": "degrees_north", "standard_name": "latitude", "long_name": "station latitude (station metadata); NaN without"}),
        json!({"units": "degrees_east", "standard_name": "longitude", "long_name": "station longitude (station metadata); NaN without"}),
        json!({"units": "m", "long_name": "elevation above sea level (station metadata); NaN without", "positive": "up"}),
    ];
    let [a0, a1, a2] = attrs;
    let make = |name: &str, a: Value| -> Result<Node, StageError> {
        let path = join(base, name);
        if exist {
            Node::open(store, &path)?
                .ok_or_else(|| StageError::Other(format!("{path}: coordinate `{name}` missing")))
        } else {
            Node::create(
                store,
                &path,
                coordinate_array(0, CHANNEL_CHUNK, "float64", "channel", a),
            )
        }
    };
    Ok([
        make(PLACE_NAMES[0], a0)?,
        make(PLACE_NAMES[1], a1)?,
        make(PLACE_NAMES[2], a2)?,
    ])
}

/// A channel's latitude, longitude and elevation at `at` from the catalogue (NaN for what the
/// epoch omits); None, with a warning naming the channel and time, where it has no epoch.
fn locate(cat: &Catalogue, id: &str, at: Nanos) -> Option<[f64; 3]> {
    let seed = match SourceId::parse(id).and_then(|s| s.to_seed()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(channel = id, "no station metadata: {e}");
            return None;
        }
    };
    match cat.at(&seed, at) {
        Ok(e) => Some([e.latitude, e.longitude, e.elevation].map(|v| v.unwrap_or(f64::NAN))),
        Err(missing) => {
            tracing::warn!(channel = id, "{missing}; its coordinates are NaN");
            None
        }
    }
}

impl Drop for Product {
    /// A product dropped (the run ends, or a rollback reopens the store) lets the writer
    /// thread finish first, so that nothing is written behind a reader's back.
    fn drop(&mut self) {
        if let Err(e) = self.finish_writing() {
            tracing::error!(array = %self.desc.name, "{e}");
        }
    }
}

impl std::fmt::Debug for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Product")
            .field("name", &self.desc.name)
            .field("channels", &self.channels.len())
            .field("len", &self.len)
            .finish()
    }
}
