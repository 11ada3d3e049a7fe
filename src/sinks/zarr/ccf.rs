//! Correlation products in Zarr: one group per product (`linear_1d`, `pws_1h`, `window`) under
//! the sink's path, each an xarray Dataset:
//!
//! - `ccf` (pair, time, lag) float32, NaN where a pair has no stack for a period;
//! - `windows` (pair, time) int32: windows stacked;
//! - `source`, `receiver` (pair): FDSN source ids; `distance_m` (pair) where known;
//! - `time` (time): start of each stack period, int64 ns with CF units (`datetime64[ns]`);
//! - `lag` (lag): seconds, exactly `k / rate` for k = −K..=K (zero lag at index K; positive
//!   lag: the receiver's signal arrives later than the source's);
//! - every processing parameter in the group's attributes.
//!
//! Pairs are appended along `pair` as they first appear, periods along `time`. A block is
//! written as it arrives, rows in runs of consecutive pairs; a period delivered again (after a
//! restart) lands on its own time index and rewrites the same bytes.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use zarrs::array::ArraySubset;
use zarrs::storage::ReadableWritableListableStorage;

use super::layout::coordinate_array;
use super::node::{err, join, member, meta_key, store_group, Node};
use super::stac::{axis, nominal, Cube};
use crate::model::{CorrBlock, Iso, Nanos, Pair, SourceId};
use crate::pipeline::emit::StageError;

/// Pairs per chunk along `pair`.
const PAIR_CHUNK: u64 = 64;

struct Group {
    path: String,
    pairs: Vec<Pair>,
    index: HashMap<(String, String), usize>,
    stored_pairs: usize,
    times: Vec<Nanos>,
    n_lags: u64,
    ccf: Node,
    windows: Node,
    source: Node,
    receiver: Node,
    distance: Node,
    time: Node,
    lag: Node,
    attributes: Value,
}

/// Every correlation product of one sink.
pub struct CcfProducts {
    store: ReadableWritableListableStorage,
    base: String,
    attributes: Value,
    groups: BTreeMap<String, Group>,
    pub blocks: u64,
}

impl CcfProducts {
    pub fn new(store: ReadableWritableListableStorage, base: &str, attributes: Value) -> Self {
        CcfProducts {
            store,
            base: base.to_string(),
            attributes,
            groups: BTreeMap::new(),
            blocks: 0,
        }
    }

    pub fn write(&mut self, b: &CorrBlock) -> Result<(), StageError> {
        let name = b.product();
        if !self.groups.contains_key(&name) {
            let g = match Group::open(&self.store, &join(&self.base, &name))? {
                Some(g) => g,
                None => Group::create(&self.store, &join(&self.base, &name), b, &self.attributes)?,
            };
            self.groups.insert(name.clone(), g);
        }
        let g = self.groups.get_mut(&name).expect("inserted above");
        if g.n_lags != b.n_lags() as u64 {
            return Err(StageError::Other(format!(
                "{}: blocks of {} lags into a product of {} (one maxlag and rate per product)",
                g.path,
                b.n_lags(),
                g.n_lags
            )));
        }
        g.write(&self.store, b)?;
        self.blocks += 1;
        self.store_root()
    }

    /// The root group lists the products.
    fn store_root(&self) -> Result<(), StageError> {
        let mut attrs = self.attributes.clone();
        if let Some(o) = attrs.as_object_mut() {
            o.insert(
                "products".into(),
                json!(self.groups.keys().collect::<Vec<_>>()),
            );
        }
        let doc = json!({"zarr_format": 3, "node_type": "group", "attributes": attrs});
        let key = meta_key(&self.base)?;
        let body = serde_json::to_vec_pretty(&doc).map_err(err("zarr.json"))?;
        self.store.set(&key, body.into()).map_err(err("zarr.json"))
    }

    /// One catalogue description per product (group).
    pub fn cubes(&self) -> Vec<Cube> {
        self.groups.iter().map(|(name, g)| g.cube(name)).collect()
    }

    /// One line per product: pairs × periods, and the time span.
    pub fn describe(&self) -> Vec<String> {
        self.groups
            .iter()
            .map(|(name, g)| {
                let span = match (g.times.first(), g.times.last()) {
                    (Some(a), Some(b)) => format!(" from {} to {}", Iso(*a), Iso(*b)),
                    _ => String::new(),
                };
                format!(
                    "`{name}` {} pairs x {} periods{span}",
                    g.pairs.len(),
                    g.times.len()
                )
            })
            .collect()
    }
}

impl Group {
    fn create(
        store: &ReadableWritableListableStorage,
        path: &str,
        b: &CorrBlock,
        sink_attributes: &Value,
    ) -> Result<Group, StageError> {
        let n_lags = b.n_lags() as u64;
        let params: Value = serde_json::from_str(&b.parameters).unwrap_or(Value::Null);
        let mut attributes = sink_attributes.clone();
        if let Some(o) = attributes.as_object_mut() {
            o.insert("xcorr".into(), params);
            o.insert("method".into(), json!(b.method));
            o.insert("period".into(), json!(b.period));
            o.insert("period_ns".into(), json!(b.length_ns));
            o.insert("lag_rate_hz".into(), json!(b.rate));
            o.insert("max_lag".into(), json!(b.max_lag));
            o.insert(
                "lag_convention".into(),
                json!("positive lag: the receiver's signal arrives later than the source's"),
            );
        }
        let ccf_doc = json!({
            "zarr_format": 3,
            "node_type": "array",
            "shape": [0, 0, n_lags],
            "data_type": "float32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [PAIR_CHUNK, 1, n_lags]}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": "NaN",
            "codecs": [
                {"name": "bytes", "configuration": {"endian": "little"}},
                {"name": "zstd", "configuration": {"level": 3, "checksum": false}}
            ],
            "attributes": {
                "long_name": format!("cross-correlation ({} stack)", b.method),
                "coordinates": "source receiver distance_m",
            },
            "dimension_names": ["pair", "time", "lag"],
        });
        let mut windows_doc = ccf_doc.clone();
        windows_doc["shape"] = json!([0, 0]);
        windows_doc["data_type"] = json!("int32");
        windows_doc["fill_value"] = json!(0);
        windows_doc["chunk_grid"]["configuration"]["chunk_shape"] = json!([PAIR_CHUNK, 64]);
        windows_doc["dimension_names"] = json!(["pair", "time"]);
        windows_doc["attributes"] = json!({
            "long_name": "windows stacked",
            "coordinates": "source receiver distance_m",
        });
        let node = |name: &str, doc: Value| Node::create(store, &join(path, name), doc);
        let g = Group {
            path: path.to_string(),
            pairs: Vec::new(),
            index: HashMap::new(),
            stored_pairs: 0,
            times: Vec::new(),
            n_lags,
            ccf: node("ccf", ccf_doc)?,
            windows: node("windows", windows_doc)?,
            source: node(
                "source",
                coordinate_array(
                    0,
                    PAIR_CHUNK,
                    "string",
                    "pair",
                    json!({"long_name": "source channel (FDSN source id)"}),
                ),
            )?,
            receiver: node(
                "receiver",
                coordinate_array(
                    0,
                    PAIR_CHUNK,
                    "string",
                    "pair",
                    json!({"long_name": "receiver channel (FDSN source id)"}),
                ),
            )?,
            distance: node(
                "distance_m",
                coordinate_array(
                    0,
                    PAIR_CHUNK,
                    "float64",
                    "pair",
                    json!({"units": "m", "long_name": "source-receiver distance; NaN where unknown"}),
                ),
            )?,
            time: node(
                "time",
                coordinate_array(
                    0,
                    1,
                    "int64",
                    "time",
                    json!({
                        "units": "nanoseconds since 1970-01-01T00:00:00",
                        "calendar": "proleptic_gregorian",
                        "standard_name": "time",
                        "long_name": "start of the stack period (UTC)",
                    }),
                ),
            )?,
            lag: node(
                "lag",
                coordinate_array(
                    n_lags,
                    n_lags,
                    "float64",
                    "lag",
                    json!({"units": "s", "long_name": "lag"}),
                ),
            )?,
            attributes,
        };
        let lags: Vec<f64> = (0..b.n_lags()).map(|j| b.lag_s(j)).collect();
        g.lag.array.store_chunk(&[0], lags).map_err(err("lag"))?;
        g.store_metadata(store)?;
        Ok(g)
    }

    fn open(
        store: &ReadableWritableListableStorage,
        path: &str,
    ) -> Result<Option<Group>, StageError> {
        let Some(ccf) = Node::open(store, &join(path, "ccf"))? else {
            return Ok(None);
        };
        let need = |name: &str| member(store, path, "ccf", name);
        let (windows, source, receiver, distance, time, lag) = (
            need("windows")?,
            need("source")?,
            need("receiver")?,
            need("distance_m")?,
            need("time")?,
            need("lag")?,
        );
        let src: Vec<String> = source.read_all()?;
        let rcv: Vec<String> = receiver.read_all()?;
        let dist: Vec<f64> = distance.read_all()?;
        let times: Vec<i64> = time.read_all()?;
        let n_lags = ccf.array.shape()[2];
        let group_doc: Value = store
            .get(&meta_key(path)?)
            .map_err(err(path))?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let mut g = Group {
            path: path.to_string(),
            pairs: Vec::new(),
            index: HashMap::new(),
            stored_pairs: src.len(),
            times,
            n_lags,
            ccf,
            windows,
            source,
            receiver,
            distance,
            time,
            lag,
            attributes: group_doc["attributes"].clone(),
        };
        for ((s, r), d) in src.into_iter().zip(rcv).zip(dist) {
            g.index.insert((s.clone(), r.clone()), g.pairs.len());
            g.pairs.push(Pair {
                source: SourceId::from_raw(s),
                receiver: SourceId::from_raw(r),
                distance_m: d.is_finite().then_some(d),
            });
        }
        Ok(Some(g))
    }

    fn write(
        &mut self,
        store: &ReadableWritableListableStorage,
        b: &CorrBlock,
    ) -> Result<(), StageError> {
        let rows: Vec<usize> = b
            .pairs
            .iter()
            .map(|p| {
                let key = (
                    p.source.as_str().to_string(),
                    p.receiver.as_str().to_string(),
                );
                *self.index.entry(key).or_insert_with(|| {
                    self.pairs.push(p.clone());
                    self.pairs.len() - 1
                })
            })
            .collect();
        let t = match self.times.iter().position(|&t| t == b.start) {
            Some(t) => t,
            None => {
                if self.times.last().is_some_and(|&l| l > b.start) {
                    tracing::warn!(product = %self.path, period = %Iso(b.start),
                        "a period older than the newest stored one is appended out of order");
                }
                self.times.push(b.start);
                self.times.len() - 1
            }
        };
        self.store_coordinates(store)?;
        // Rows in runs of consecutive pairs, each run one subset write.
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| rows[i]);
        let mut i = 0;
        while i < order.len() {
            let mut j = i + 1;
            while j < order.len() && rows[order[j]] == rows[order[j - 1]] + 1 {
                j += 1;
            }
            let first = rows[order[i]] as u64;
            let n = (j - i) as u64;
            let mut data = Vec::with_capacity((n * self.n_lags) as usize);
            let mut wins = Vec::with_capacity(n as usize);
            for &k in &order[i..j] {
                data.extend(b.data.row(k).iter().copied());
                wins.push(b.windows[k] as i32);
            }
            let sub = ArraySubset::new_with_ranges(&[
                first..first + n,
                t as u64..t as u64 + 1,
                0..self.n_lags,
            ]);
            self.ccf
                .array
                .store_array_subset(&sub, data)
                .map_err(err("ccf"))?;
            let sub = ArraySubset::new_with_ranges(&[first..first + n, t as u64..t as u64 + 1]);
            self.windows
                .array
                .store_array_subset(&sub, wins)
                .map_err(err("windows"))?;
            i = j;
        }
        self.store_metadata(store)
    }

    /// Grows the arrays and stores the coordinates of new pairs and the time axis, before
    /// any chunk that needs them.
    fn store_coordinates(
        &mut self,
        store: &ReadableWritableListableStorage,
    ) -> Result<(), StageError> {
        let (np, nt) = (self.pairs.len() as u64, self.times.len() as u64);
        self.ccf.set_shape(vec![np, nt, self.n_lags])?;
        self.windows.set_shape(vec![np, nt])?;
        self.time.set_shape(vec![nt])?;
        self.time
            .array
            .store_array_subset(
                &ArraySubset::new_with_ranges(std::slice::from_ref(&(0..nt))),
                self.times.clone(),
            )
            .map_err(err("time"))?;
        if self.pairs.len() > self.stored_pairs {
            for a in [&mut self.source, &mut self.receiver, &mut self.distance] {
                a.set_shape(vec![np])?;
            }
            let from = self.stored_pairs as u64;
            let new = &self.pairs[self.stored_pairs..];
            let sub = ArraySubset::new_with_ranges(std::slice::from_ref(&(from..np)));
            let src: Vec<String> = new.iter().map(|p| p.source.to_string()).collect();
            let rcv: Vec<String> = new.iter().map(|p| p.receiver.to_string()).collect();
            let dist: Vec<f64> = new
                .iter()
                .map(|p| p.distance_m.unwrap_or(f64::NAN))
                .collect();
            self.source
                .array
                .store_array_subset(&sub, src)
                .map_err(err("source"))?;
            self.receiver
                .array
                .store_array_subset(&sub, rcv)
                .map_err(err("receiver"))?;
            self.distance
                .array
                .store_array_subset(&sub, dist)
                .map_err(err("distance_m"))?;
            self.stored_pairs = self.pairs.len();
        }
        self.store_metadata(store)
    }

    fn cube(&self, name: &str) -> Cube {
        let attrs = &self.attributes;
        let rate = attrs["lag_rate_hz"].as_f64().unwrap_or(f64::NAN);
        let max_lag = attrs["max_lag"].as_f64().unwrap_or(f64::NAN) / rate;
        let pairs = &self.pairs[..self.stored_pairs];
        let names = pairs
            .iter()
            .map(|p| format!("{} {}", p.source, p.receiver))
            .collect();
        let mut stations: Vec<String> = pairs
            .iter()
            .flat_map(|p| [p.source.to_string(), p.receiver.to_string()])
            .collect();
        stations.sort();
        stations.dedup();
        Cube {
            name: name.to_string(),
            group: Some(name.to_string()),
            description: format!(
                "cross-correlations ({} stack over {}), (pair, time, lag)",
                attrs["method"].as_str().unwrap_or("?"),
                attrs["period"].as_str().unwrap_or("?")
            ),
            time: axis("time", &self.times),
            dims: vec![
                (
                    "pair".into(),
                    nominal("pair", names, "channel pairs: source receiver"),
                ),
                (
                    "lag".into(),
                    json!({"type": "lag", "extent": [-max_lag, max_lag], "step": 1.0 / rate, "unit": "s",
                        "description": "positive lag: the receiver's signal arrives later than the source's"}),
                ),
            ],
            members: self
                .arrays()
                .into_iter()
                .map(|(n, a)| (n.to_string(), a.document().clone()))
                .collect(),
            places: Vec::new(),
            stations,
        }
    }

    fn arrays(&self) -> [(&'static str, &Node); 7] {
        [
            ("ccf", &self.ccf),
            ("windows", &self.windows),
            ("source", &self.source),
            ("receiver", &self.receiver),
            ("distance_m", &self.distance),
            ("time", &self.time),
            ("lag", &self.lag),
        ]
    }

    /// Every array's zarr.json, then the group's with its members consolidated.
    fn store_metadata(&self, store: &ReadableWritableListableStorage) -> Result<(), StageError> {
        store_group(store, &self.path, &self.attributes, &self.arrays())
    }
}
