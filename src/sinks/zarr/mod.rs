//! The `zarr` sink: sample blocks into an analysis-ready Zarr v3 group that
//! `xarray.open_zarr` opens as one Dataset: a (channel, time) float32 array named after the
//! product, with `time` (int64 ns, CF units, decoded by xarray to exact `datetime64[ns]`),
//! `channel` (FDSN source ids), `distance` and `time_offset` coordinates, provenance in the
//! group attributes, and consolidated metadata in the root `zarr.json` as zarr-python 3 writes
//! it.
//!
//! Durability follows the runtime's contract: a sync writes every open column and the metadata,
//! fsyncs (local) and only then are the input positions committed. Everything re-delivered
//! after a crash lands on the same time indices and rewrites the same bytes, so the store ends
//! with no gap and no duplicate; a store killed at any moment still opens, because every object
//! is replaced whole (see [`store`]).

pub mod ccf;
pub mod column;
pub mod grid;
pub mod layout;
pub mod node;
pub mod ppsd;
pub mod product;
pub mod stac;
pub mod store;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::grid::{Origin, TimeGrid};
use self::layout::Layout;
use self::product::{Description, Product};
use self::store::ZarrStore;
use super::{Sink, SinkReport};
use crate::bus::{DataKind, Message, Payload};
use crate::model::{Chunk, Iso, SampleRate};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Flow, Need};
use crate::pipeline::summary::plural;
use crate::settings::StorageSettings;
use crate::telemetry::metrics::StageMetrics;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZarrConfig {
    /// The group: a directory (relative ones under the storage root) or `s3://BUCKET/PREFIX`.
    pub path: String,
    /// Name of the data array (the product); default: the name of the input stage.
    #[serde(default)]
    pub array: Option<String>,
    /// Chunk: [channels, samples]. What a reader decodes at once.
    #[serde(default = "default_chunk")]
    pub chunk: Vec<u64>,
    /// Shard: [channels, samples] (whole chunks), one stored object; `[]` for none.
    #[serde(default = "default_shard")]
    pub shard: Vec<u64>,
    /// `zstd`, `blosc` (zstd inside, byte shuffle), `pcodec` or `none`.
    #[serde(default = "zstd")]
    pub codec: String,
    #[serde(default)]
    pub level: Option<i32>,
    /// Keep this many mantissa bits (1–23) before compressing: bounded relative error
    /// (2^-(keepbits+1)) for much smaller stores. Off: lossless.
    #[serde(default)]
    pub bitround_keepbits: Option<u32>,
    /// Start of the time axis: `minute` (the first sample's minute, on its sample grid, so
    /// that streams starting a little earlier still fit), `hour`, `day`, `first`, or a UTC
    /// time. Samples before it are dropped (counted).
    #[serde(default = "minute")]
    pub origin: String,
    /// Physical units of the samples (CF `units`); default: what DAS blocks say, else counts.
    #[serde(default)]
    pub units: Option<String>,
    /// Seconds between syncs (each rewrites the open shards; then Kafka offsets are committed).
    #[serde(default = "ten")]
    pub commit_interval_s: f64,
    /// PPSD histograms (`ppsd` rows in): the dB bins `[min, max, width]`, ObsPy's `db_bins`.
    /// The default suits acceleration PSDs; PSDs in counts need a range of their own.
    #[serde(default = "obspy_db_bins")]
    pub ppsd_db_bins: [f64; 3],
    /// Publish a STAC item per dataset and keep the storage root's STAC and Intake
    /// catalogues (`catalog.json`, `catalog.yaml`) listing it, rewritten at each sync.
    #[serde(default = "yes")]
    pub catalogue: bool,
}

fn yes() -> bool {
    true
}

fn obspy_db_bins() -> [f64; 3] {
    [-200.0, -50.0, 1.0]
}

fn default_chunk() -> Vec<u64> {
    vec![16, 4096]
}
fn default_shard() -> Vec<u64> {
    vec![256, 32768]
}
fn zstd() -> String {
    "zstd".into()
}
fn minute() -> String {
    "minute".into()
}
fn ten() -> f64 {
    10.0
}

impl StageType for ZarrConfig {
    const NAME: &'static str = "zarr";
    const ROLE: Role = Role::Sink;
    const ABOUT: &'static str =
        "analysis-ready Zarr v3 that xarray opens, local or on S3: (channel, time) samples, (pair, time, lag) correlations, or daily PPSD histograms";
    const ACCEPTS: &'static [DataKind] =
        &[DataKind::Samples, DataKind::Correlations, DataKind::Table];
    const EMITS: Option<DataKind> = None;
}

impl Component for ZarrConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        Layout::from_config(self)?;
        Origin::parse(&self.origin).map_err(|m| (Some("origin".to_string()), m))?;
        if !self.commit_interval_s.is_finite() || self.commit_interval_s <= 0.0 {
            return Err((Some("commit_interval_s".into()), "must be positive".into()));
        }
        if let Some(a) = &self.array {
            if a.is_empty()
                || ["time", "channel", "distance", "time_offset"].contains(&a.as_str())
                || !a
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err((
                    Some("array".into()),
                    format!("{a:?}: letters, digits, `_` and `-`, and not a coordinate name"),
                ));
            }
        }
        Ok(())
    }

    fn memory(&self, input: &Flow) -> Need {
        // Columns (all channels x one shard of time) are written once every channel has passed
        // them or when a third opens: two open and one on the writer thread. Each keeps its
        // chunks' encoded bytes until it is stored, at most about its own size (incompressible
        // data); the writer stages direct writes in 4 MiB.
        let Ok(layout) = Layout::from_config(self) else {
            return Need::new(0, "invalid layout", Flow::default());
        };
        let [_, bt] = layout.block();
        let n = input.all_channels();
        let column = n * bt * 4;
        Need::new(
            3 * 2 * column + (4 << 20),
            format!("3 columns of {n} ch x {bt} samples and their encoded chunks"),
            Flow::default(),
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let product = ctx
            .inputs
            .first()
            .cloned()
            .unwrap_or_else(|| ctx.stage.to_string());
        let catalogue = ctx.pipeline.catalogue().map_err(StageError::Other)?;
        let sink = ZarrSink::open(
            self,
            &ctx.settings.storage,
            product,
            crate::pipeline::provenance::attributes(ctx.pipeline, ctx.stage),
            catalogue,
            ctx.metrics.clone(),
        )?;
        Ok(Work::sink(sink, self.commit_interval_s))
    }
}

pub struct ZarrSink {
    store: ZarrStore,
    codec: String,
    layout: Layout,
    origin: Origin,
    desc: Description,
    /// Whether the pipeline named the units (else DAS blocks may).
    units_set: bool,
    product: Option<Product>,
    /// Correlation products (a store holds samples or correlations, not both).
    ccf: Option<ccf::CcfProducts>,
    /// Daily PPSD histograms (a store of their own too).
    ppsd: Option<ppsd::PpsdProducts>,
    db_bins: [f64; 3],
    /// The pipeline's station metadata: channel coordinates.
    catalogue: Option<std::sync::Arc<crate::metadata::live::Live>>,
    metrics: StageMetrics,
    warned_rates: std::collections::HashSet<String>,
    /// The storage root's catalogues (None: `catalogue = false`); whether the last write
    /// of them failed (warned once until it works again).
    stac: Option<stac::Publisher>,
    stac_failed: bool,
    /// Each item as last published, its `updated` time left out: an item that has not
    /// changed since is not written again (a PPSD store holds an item per channel).
    stac_published: std::collections::BTreeMap<String, Value>,
}

impl ZarrSink {
    /// Opens the group, resuming what an earlier run stored there.
    pub fn open(
        cfg: &ZarrConfig,
        storage: &StorageSettings,
        array: String,
        group_attributes: Value,
        catalogue: Option<std::sync::Arc<crate::metadata::live::Live>>,
        metrics: StageMetrics,
    ) -> Result<ZarrSink, StageError> {
        let layout = Layout::from_config(cfg).map_err(|(_, m)| StageError::Other(m))?;
        let origin = Origin::parse(&cfg.origin).map_err(StageError::Other)?;
        let store = ZarrStore::open(&cfg.path, storage)?;
        let desc = Description {
            name: cfg.array.clone().unwrap_or(array),
            units: cfg.units.clone().unwrap_or_else(|| "counts".into()),
            group_attributes,
        };
        let mut s = ZarrSink {
            store,
            codec: cfg.codec.clone(),
            layout,
            origin,
            desc,
            units_set: cfg.units.is_some(),
            product: None,
            ccf: None,
            ppsd: None,
            db_bins: cfg.ppsd_db_bins,
            catalogue,
            metrics,
            warned_rates: Default::default(),
            stac: None,
            stac_failed: false,
            stac_published: Default::default(),
        };
        if cfg.catalogue {
            s.stac = Some(stac::Publisher::open(storage).map_err(|e| {
                StageError::Other(format!("catalogue of {}: {e}", storage.root.display()))
            })?);
        }
        s.reopen()?;
        if let Some(p) = &s.product {
            let (channels, len, rate, _) = p.extent();
            tracing::info!(store = %s.store.location, channels, until = %Iso(p.grid.time(len as i64)),
                "resuming {} samples at {rate} Hz already stored", len);
        }
        Ok(s)
    }

    fn reopen(&mut self) -> Result<(), StageError> {
        // The old product's writer thread finishes before the store is read again.
        self.product = None;
        self.product = Product::open(
            self.store.objects(),
            &self.store.base,
            self.desc.clone(),
            self.layout.clone(),
            self.catalogue.clone(),
            self.metrics.clone(),
        )?;
        Ok(())
    }

    fn product_for(&mut self, c: &Chunk) -> Result<Option<&mut Product>, StageError> {
        if self.product.is_none() {
            let rate = c.rate.hz();
            let grid = TimeGrid {
                origin: self.origin.resolve(c.start, rate),
                rate,
            };
            let mut attrs = self.desc.group_attributes.clone();
            if let Some(obj) = attrs.as_object_mut() {
                if let Some(das) = das_attributes(c) {
                    obj.insert("das".into(), das);
                }
            }
            // A block made physical (remove_sensitivity) or a fibre block says what its values
            // are; an explicit `units` key still wins.
            let units = match (&c.units, &c.das, self.units_set) {
                (Some(u), _, false) => u.clone(),
                (None, Some(d), false) => d.units.clone(),
                _ => self.desc.units.clone(),
            };
            let desc = Description {
                group_attributes: attrs,
                units,
                ..self.desc.clone()
            };
            self.product = Some(Product::create(
                self.store.objects(),
                &self.store.base,
                desc,
                self.layout.clone(),
                grid,
                self.catalogue.clone(),
                self.metrics.clone(),
            )?);
        }
        let p = self.product.as_mut().expect("created above");
        if !SampleRate(p.grid.rate).tolerably_equal(c.rate) {
            self.metrics.dropped("rate_mismatch", 1);
            if self.warned_rates.insert(c.stream.clone()) {
                tracing::error!(stream = %c.stream, rate = c.rate.hz(), array_rate = p.grid.rate,
                    "the stream's rate differs from the array's; its blocks are dropped (send each rate to its own zarr sink)");
            }
            return Ok(None);
        }
        Ok(Some(p))
    }
}

impl ZarrSink {
    fn mixed(&self) -> StageError {
        StageError::Other(format!(
            "{}: sample blocks, correlations and PPSD histograms into one store; give each its own zarr sink",
            self.store.location
        ))
    }

    fn write_histograms(&mut self, t: &crate::model::Table) -> Result<(), StageError> {
        if self.product.is_some() || self.ccf.is_some() {
            return Err(self.mixed());
        }
        if self.ppsd.is_none() {
            self.ppsd = Some(ppsd::PpsdProducts::new(
                self.store.storage.clone(),
                &self.store.base,
                self.desc.group_attributes.clone(),
                self.db_bins,
            )?);
        }
        let p = self.ppsd.as_mut().expect("set above");
        let repeated = p.repeated;
        p.write(t)?;
        if p.repeated > repeated {
            self.metrics
                .dropped("segment_already_counted", p.repeated - repeated);
        }
        Ok(())
    }

    fn write_correlations(&mut self, b: &crate::model::CorrBlock) -> Result<(), StageError> {
        if self.product.is_some() || self.ppsd.is_some() {
            return Err(self.mixed());
        }
        let ccf = self.ccf.get_or_insert_with(|| {
            ccf::CcfProducts::new(
                self.store.storage.clone(),
                &self.store.base,
                self.desc.group_attributes.clone(),
            )
        });
        ccf.write(b)?;
        self.metrics.data_time(b.start + b.length_ns);
        Ok(())
    }
}

/// Array-wide DAS description from the first block's channel positions.
fn das_attributes(c: &Chunk) -> Option<Value> {
    let d: Vec<f64> = c.channels.iter().filter_map(|m| m.distance_m).collect();
    if d.len() != c.channels.len() || d.is_empty() {
        return None;
    }
    let step = if d.len() > 1 {
        Some((d[d.len() - 1] - d[0]) / (d.len() - 1) as f64)
    } else {
        None
    };
    let mut attrs = serde_json::json!({
        "spatial_sampling_interval_m": step,
        "first_channel_distance_m": d[0],
        "sampling_rate_hz": c.rate.hz(),
    });
    // What the interrogator's file said (gauge length, units and their conversion factor,
    // interrogator, file layout), as the FDSN DAS metadata asks to keep.
    if let (Some(meta), Some(o)) = (&c.das, attrs.as_object_mut()) {
        if let Ok(Value::Object(m)) = serde_json::to_value(meta.as_ref()) {
            for (k, v) in m {
                o.entry(k).or_insert(v);
            }
        }
    }
    Some(attrs)
}

impl ZarrSink {
    /// Every dataset this sink holds, for the catalogues.
    fn cubes(&self) -> Vec<stac::Cube> {
        let mut cubes: Vec<stac::Cube> = self.product.iter().map(|p| p.cube()).collect();
        cubes.extend(self.ccf.iter().flat_map(|c| c.cubes()));
        cubes.extend(self.ppsd.iter().flat_map(|c| c.cubes()));
        cubes
    }

    /// Rewrites this store's items and the root catalogues (after the data are durable, so
    /// an item never promises more than the store holds). A failure is logged, not fatal:
    /// the data are safe, and the next sync tries again.
    fn publish(&mut self) {
        let Some(publisher) = &self.stac else {
            return;
        };
        let now = crate::model::time::now();
        let link = publisher.link(&self.store.location);
        let cat = self.catalogue.as_ref().map(|c| c.current());
        let items: Vec<(String, Value)> = self
            .cubes()
            .into_iter()
            .map(|mut cube| {
                if let (Some(cat), false) = (&cat, cube.stations.is_empty()) {
                    let at = cube.time.as_ref().map_or(now, |t| t.last);
                    cube.places = stac::station_places(cat, &cube.stations, at);
                }
                let id = stac::item_id(&link.from_root, cube.group.as_deref());
                let item = stac::item(&cube, &id, &link, now);
                (id, item)
            })
            .collect();
        let unchanged = |(id, item): &(String, Value)| {
            self.stac_published.get(id) == Some(&stac::without_update_time(item.clone()))
        };
        let changed: Vec<(String, Value)> = items.into_iter().filter(|i| !unchanged(i)).collect();
        if changed.is_empty() && !self.stac_failed {
            return;
        }
        match publisher.publish(&changed) {
            Ok(()) => {
                if self.stac_failed {
                    tracing::info!(root = publisher.location(), "catalogues written again");
                }
                self.stac_failed = false;
                for (id, item) in changed {
                    self.stac_published
                        .insert(id, stac::without_update_time(item));
                }
            }
            Err(e) => {
                if !self.stac_failed {
                    tracing::warn!(root = publisher.location(),
                        "STAC/Intake catalogues not written (the data are; retried at each sync): {e}");
                }
                self.stac_failed = true;
            }
        }
    }
}

impl Sink for ZarrSink {
    fn write(&mut self, m: &Message) -> Result<(), StageError> {
        let c = match &m.payload {
            Payload::Block(c) => c,
            Payload::Correlations(b) => return self.write_correlations(b),
            Payload::Table(t) => return self.write_histograms(t),
            Payload::Record(_) | Payload::Spectra(_) => {
                self.metrics.dropped("wrong_kind", 1);
                return Ok(());
            }
        };
        if self.ccf.is_some() || self.ppsd.is_some() {
            return Err(self.mixed());
        }
        if c.n_samples() == 0 {
            return Ok(());
        }
        if let Some(p) = self.product_for(c)? {
            p.write(c)?;
            self.metrics.data_time(c.end_exclusive());
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StageError> {
        if let Some(p) = self.product.as_mut() {
            p.flush()?;
        }
        if let Some(p) = self.ppsd.as_mut() {
            p.flush()?;
        }
        self.store.sync()?;
        self.publish();
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StageError> {
        // What was taken since the last sync comes again; the store has everything before.
        if self.ccf.is_some() || self.ppsd.is_some() {
            self.ccf = None;
            self.ppsd = None;
            return Ok(());
        }
        self.reopen()
    }

    fn report(&self) -> Option<SinkReport> {
        let mut r = self.report_store()?;
        if let (Some(p), Some(id)) = (&self.stac, self.stac_published.keys().next()) {
            let more = match self.stac_published.len() {
                1 => String::new(),
                n => format!(" ({n} datasets catalogued)"),
            };
            let line = format!(
                "intake.open_catalog({:?}).{}.to_dask(){more}",
                format!("{}/catalog.yaml", p.location()),
                stac::intake_name(id)
            );
            r.open_with = Some(match r.open_with {
                Some(o) => format!("{o}\n      {line}"),
                None => line,
            });
        }
        Some(r)
    }
}

impl ZarrSink {
    /// What the store holds and the line that opens it.
    fn report_store(&self) -> Option<SinkReport> {
        let at = &self.store.location;
        if let Some(ccf) = &self.ccf {
            let first = ccf.describe().first().cloned().unwrap_or_default();
            let group = first.split('`').nth(1).unwrap_or("linear_1d").to_string();
            return Some(SinkReport {
                wrote: format!("{at}: {}", ccf.describe().join("; ")),
                open_with: Some(format!("xarray.open_zarr({at:?}, group={group:?})")),
            });
        }
        if let Some(p) = &self.ppsd {
            let group = p.first_channel().unwrap_or_default().to_string();
            return Some(SinkReport {
                wrote: format!("{at}: {}", p.describe().join("; ")),
                open_with: Some(format!("xarray.open_zarr({at:?}, group={group:?})")),
            });
        }
        let wrote = match &self.product {
            None => format!("{at}: nothing written"),
            Some(p) => {
                let (channels, len, rate, ratio) = p.extent();
                let ratio = ratio.map_or(String::new(), |r| format!(", {} {r:.1}x", self.codec));
                format!(
                    "{at}: array `{}` {channels} channel{} x {:.1} s at {rate} Hz from {}{ratio}",
                    self.desc.name,
                    plural(channels as u64),
                    len as f64 / rate,
                    Iso(p.grid.origin),
                )
            }
        };
        let open = if at.starts_with("s3://") {
            format!("xarray.open_zarr({at:?}, storage_options={{...}})")
        } else {
            format!("xarray.open_zarr({at:?})")
        };
        Some(SinkReport {
            wrote,
            open_with: Some(open),
        })
    }
}
