//! Catalogued products: a STAC item per Zarr dataset the sinks write (the datacube extension
//! says its dimensions and variables, the xarray-assets extension how to open it), and two
//! catalogues of the storage root that list them all: a STAC root catalogue
//! (`catalog.json`) and an Intake catalogue (`catalog.yaml`).
//!
//! Why here and not in a separate tool: a product nobody can find is not FAIR, and a catalogue
//! rebuilt by hand once a month is never current. Each sink rewrites its items at every sync,
//! after the data they describe are durable, so an item never promises samples the store does
//! not hold; the root catalogues are then rebuilt from the items found under `stac/`, which is
//! what lets several sinks (and several pipelines) share one root.
//!
//! Layout under the storage root (a folder or an `s3://` prefix):
//!
//! ```text
//! catalog.json          STAC 1.1 catalogue, a link per item
//! catalog.yaml          Intake catalogue, a `zarr` source per item
//! stac/ID.json          one item per dataset (a store, or one group of a store)
//! ```
//!
//! Hrefs are relative where the store is under the root (a copied or synced root stays
//! valid), absolute otherwise.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use zarrs::storage::{ReadableWritableListableStorage, StoreKey, StorePrefix};

use super::store::ZarrStore;
use crate::metadata::Catalogue;
use crate::model::ids::{SeedId, SourceId};
use crate::model::time::Nanos;
use crate::model::Iso;
use crate::settings::StorageSettings;

pub const STAC_VERSION: &str = "1.1.0";
pub const DATACUBE: &str = "https://stac-extensions.github.io/datacube/v2.2.0/schema.json";
pub const XARRAY_ASSETS: &str =
    "https://stac-extensions.github.io/xarray-assets/v1.0.0/schema.json";
/// The media type the Zarr community settled on for a store (STAC best practices).
const ZARR_MEDIA_TYPE: &str = "application/vnd+zarr";
/// Nominal dimensions list their values up to this many; longer ones (DAS fibres, large-N
/// pair sets) state their extent in indices, so that an item stays small.
const MAX_VALUES: usize = 1000;

/// The temporal axis of a dataset: its first and last coordinate, and the step where regular.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub first: Nanos,
    pub last: Nanos,
    pub step_ns: Option<f64>,
}

/// What one dataset (what `xarray.open_zarr` opens) is, as its writer knows it.
#[derive(Debug, Clone, Default)]
pub struct Cube {
    /// The dataset's name: the array for samples, the group for correlations and PPSDs.
    pub name: String,
    /// The `group` keyword that opens it; None for a store's root.
    pub group: Option<String>,
    pub description: String,
    pub time: Option<Axis>,
    /// The other dimensions, each a datacube dimension object.
    pub dims: Vec<(String, Value)>,
    /// Every array's `zarr.json` document (the variables are read from them).
    pub members: Vec<(String, Value)>,
    /// Longitude and latitude of what the dataset covers, where the store holds them.
    pub places: Vec<[f64; 2]>,
    /// Channels whose station coordinates place the dataset (from the pipeline's metadata).
    pub stations: Vec<String>,
}

/// A nominal dimension (channels, pairs): its values, or its length when there are many.
pub fn nominal(kind: &str, values: Vec<String>, description: &str) -> Value {
    if values.len() <= MAX_VALUES {
        json!({"type": kind, "description": description, "values": values})
    } else {
        json!({
            "type": kind,
            "description": format!("{description} ({} entries; the store's coordinate lists them)", values.len()),
            "extent": [0, values.len() - 1],
            "step": 1,
        })
    }
}

/// The temporal axis over coordinate values in any order: their span, and their step when
/// they are evenly spaced.
pub fn axis(name: &str, times: &[Nanos]) -> Option<Axis> {
    let mut t = times.to_vec();
    t.sort_unstable();
    t.dedup();
    let (first, last) = (*t.first()?, *t.last()?);
    let steps: Vec<i64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    let step_ns = match steps.first() {
        Some(&d) if steps.iter().all(|&x| x == d) => Some(d as f64),
        _ => None,
    };
    Some(Axis {
        name: name.to_string(),
        first,
        last,
        step_ns,
    })
}

/// `PT…S`: an ISO 8601 duration in seconds, as short as the value allows.
pub fn duration(ns: f64) -> String {
    let s = format!("{:.9}", ns / 1e9);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("PT{s}S")
}

impl Cube {
    /// xarray's coordinates: dimension arrays and whatever a `coordinates` attribute names.
    fn coordinates(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, doc) in &self.members {
            if let Some(c) = doc["attributes"]["coordinates"].as_str() {
                out.extend(c.split_whitespace().map(str::to_string));
            }
        }
        out
    }

    fn dimension_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.time.iter().map(|t| t.name.clone()).collect();
        out.extend(self.dims.iter().map(|(n, _)| n.clone()));
        out
    }

    /// `cube:variables`: every array that is not a dimension's own coordinate, as xarray sees
    /// it (auxiliary when a coordinate, data otherwise) with its dimensions, shape and units.
    pub fn variables(&self) -> Value {
        let coords = self.coordinates();
        let dims = self.dimension_names();
        let mut out = Map::new();
        for (name, doc) in &self.members {
            if dims.contains(name) || doc["node_type"] != "array" {
                continue;
            }
            let attrs = &doc["attributes"];
            let mut v = json!({
                "type": if coords.contains(name) { "auxiliary" } else { "data" },
                "dimensions": doc["dimension_names"],
                "shape": doc["shape"],
                "data_type": doc["data_type"],
            });
            if let Some(u) = attrs["units"].as_str() {
                v["unit"] = json!(u);
            }
            if let Some(d) = attrs["long_name"].as_str() {
                v["description"] = json!(d);
            }
            out.insert(name.clone(), v);
        }
        Value::Object(out)
    }

    /// `cube:dimensions`.
    pub fn dimensions(&self) -> Value {
        let mut out = Map::new();
        if let Some(t) = &self.time {
            let mut d = json!({
                "type": "temporal",
                "extent": [Iso(t.first).to_string(), Iso(t.last).to_string()],
            });
            if let Some(step) = t.step_ns {
                d["step"] = json!(duration(step));
            }
            out.insert(t.name.clone(), d);
        }
        for (name, d) in &self.dims {
            out.insert(name.clone(), d.clone());
        }
        // Any other axis an array has (bookkeeping ones such as PPSD segment slots): its index.
        for (_, doc) in &self.members {
            let (Some(names), Some(shape)) =
                (doc["dimension_names"].as_array(), doc["shape"].as_array())
            else {
                continue;
            };
            for (n, len) in names.iter().zip(shape) {
                let (Some(n), Some(len)) = (n.as_str(), len.as_u64()) else {
                    continue;
                };
                if !out.contains_key(n) {
                    out.insert(
                        n.to_string(),
                        json!({"type": "index", "extent": [0, len.saturating_sub(1)], "step": 1}),
                    );
                }
            }
        }
        Value::Object(out)
    }
}

/// GeoJSON geometry and bbox of the places (a Point, or a MultiPoint of the distinct ones);
/// None without any.
fn geometry(places: &[[f64; 2]]) -> Option<(Value, [f64; 4])> {
    let mut pts: Vec<[f64; 2]> = places
        .iter()
        .filter(|p| p[0].is_finite() && p[1].is_finite())
        .copied()
        .collect();
    pts.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    pts.dedup();
    let first = *pts.first()?;
    let mut bbox = [first[0], first[1], first[0], first[1]];
    for p in &pts {
        bbox = [
            bbox[0].min(p[0]),
            bbox[1].min(p[1]),
            bbox[2].max(p[0]),
            bbox[3].max(p[1]),
        ];
    }
    let geometry = if pts.len() == 1 {
        json!({"type": "Point", "coordinates": first})
    } else {
        json!({"type": "MultiPoint", "coordinates": pts})
    };
    Some((geometry, bbox))
}

/// Station coordinates (longitude, latitude) of channels from the metadata, at `at`.
pub fn station_places(cat: &Catalogue, ids: &[String], at: Nanos) -> Vec<[f64; 2]> {
    ids.iter()
        .filter_map(|id| {
            let seed = SourceId::parse(id)
                .and_then(|s| s.to_seed())
                .or_else(|_| SeedId::parse(id))
                .ok()?;
            let e = cat.at(&seed, at).ok()?;
            Some([e.longitude?, e.latitude?])
        })
        .collect()
}

/// Where the item finds its store, and what opening it takes.
#[derive(Debug, Clone)]
pub struct Link {
    /// From `stac/ID.json` (relative) or absolute.
    pub from_item: String,
    /// From the root (relative, for Intake's `{{ CATALOG_DIR }}`) or absolute.
    pub from_root: String,
    /// fsspec options for stores on S3 (the endpoint; never credentials).
    pub storage_options: Option<Value>,
}

/// The STAC item of a dataset.
pub fn item(cube: &Cube, id: &str, link: &Link, updated: Nanos) -> Value {
    // A group's metadata is consolidated in its own zarr.json, which xarray finds when it
    // is left to look (consolidated: None) rather than told to read the root's.
    let open = match &cube.group {
        Some(g) => json!({"engine": "zarr", "chunks": {}, "group": g}),
        None => json!({"engine": "zarr", "consolidated": true, "chunks": {}}),
    };
    let mut asset = json!({
        "href": link.from_item,
        "type": ZARR_MEDIA_TYPE,
        "title": format!("{} (Zarr v3)", cube.name),
        "roles": ["data", "zarr"],
        "xarray:open_kwargs": open,
    });
    if let Some(so) = &link.storage_options {
        asset["xarray:storage_options"] = so.clone();
    }
    let (start, end) = match &cube.time {
        Some(t) => (
            json!(Iso(t.first).to_string()),
            json!(Iso(t.last).to_string()),
        ),
        None => (Value::Null, Value::Null),
    };
    let mut properties = json!({
        "title": cube.name,
        "description": cube.description,
        "updated": Iso(updated).to_string(),
        "cube:dimensions": cube.dimensions(),
        "cube:variables": cube.variables(),
    });
    // STAC: `datetime` null needs both ends; a dataset with no time yet gets the update time.
    if start.is_null() {
        properties["datetime"] = json!(Iso(updated).to_string());
    } else {
        properties["datetime"] = Value::Null;
        properties["start_datetime"] = start;
        properties["end_datetime"] = end;
    }
    let mut item = json!({
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [DATACUBE, XARRAY_ASSETS],
        "id": id,
        "geometry": Value::Null,
        "properties": properties,
        "links": [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
        ],
        "assets": {"zarr": asset},
    });
    if let Some((g, bbox)) = geometry(&cube.places) {
        item["geometry"] = g;
        item["bbox"] = json!(bbox);
    }
    item
}

/// An item as it compares with an earlier one: its `updated` time left out.
pub fn without_update_time(mut item: Value) -> Value {
    if let Some(p) = item["properties"].as_object_mut() {
        p.remove("updated");
    }
    item
}

/// An item id from a store's path and a dataset's group: letters, digits, `.`, `_`, `-`.
pub fn item_id(path: &str, group: Option<&str>) -> String {
    let path = path.trim_start_matches("s3://").trim_matches('/');
    let whole = match group {
        Some(g) => format!("{path}/{g}"),
        None => path.to_string(),
    };
    whole
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The storage root's catalogues, and how items there reach their stores.
pub struct Publisher {
    root: ZarrStore,
    /// The root's key prefix in its store (an S3 root's prefix; empty for a folder).
    prefix: String,
    /// The root: a canonical local folder, or an `s3://` URL.
    root_location: String,
    /// The S3 endpoint readers need for stores on S3 (written into the items; never
    /// credentials).
    storage_options: Value,
}

impl Publisher {
    pub fn open(storage: &StorageSettings) -> Result<Publisher, String> {
        let root = ZarrStore::open_root(storage).map_err(|e| e.to_string())?;
        let s3 = root.location.starts_with("s3://");
        let root_location = if s3 {
            root.location.trim_end_matches('/').to_string()
        } else {
            canonical(Path::new(&root.location))
        };
        let mut storage_options = json!({"anon": false});
        if let Some(e) = &storage.s3_endpoint {
            storage_options["client_kwargs"] =
                json!({"endpoint_url": e, "region_name": storage.s3_region});
        }
        Ok(Publisher {
            prefix: root.base.trim_matches('/').to_string(),
            root,
            root_location,
            storage_options,
        })
    }

    /// How items and the Intake catalogue reach the store at `location` (its folder or URL).
    pub fn link(&self, location: &str) -> Link {
        let s3 = location.starts_with("s3://");
        let absolute = if s3 {
            location.trim_end_matches('/').to_string()
        } else {
            canonical(Path::new(location))
        };
        let storage_options = s3.then(|| self.storage_options.clone());
        let rel = absolute
            .strip_prefix(&self.root_location)
            .filter(|r| r.starts_with('/') && r.len() > 1)
            .map(|r| r.trim_start_matches('/').to_string());
        match rel {
            Some(r) => Link {
                from_item: format!("../{r}"),
                from_root: r,
                storage_options: storage_options.clone(),
            },
            None => Link {
                from_item: absolute.clone(),
                from_root: absolute,
                storage_options: storage_options.clone(),
            },
        }
    }

    /// Writes the items, then the root catalogues rebuilt from every item under `stac/`, and
    /// makes them durable.
    pub fn publish(&self, items: &[(String, Value)]) -> Result<(), String> {
        let storage = &self.root.storage;
        for (id, item) in items {
            put_json(storage, &self.key(&format!("stac/{id}.json")), item)?;
        }
        let local_root =
            (!self.root_location.starts_with("s3://")).then(|| Path::new(&self.root_location));
        let listed = list_items(storage, &self.key("stac/"), local_root)?;
        let catalogue = root_catalogue(&listed, &self.root_location);
        put_json(storage, &self.key("catalog.json"), &catalogue)?;
        let yaml = intake_catalogue(&listed, &self.root_location);
        put(storage, &self.key("catalog.yaml"), yaml.into_bytes())?;
        self.root.sync().map_err(|e| e.to_string())
    }

    /// A key under the root.
    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    pub fn location(&self) -> &str {
        &self.root_location
    }
}

fn canonical(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| PathBuf::from(p))
        .display()
        .to_string()
}

fn put(storage: &ReadableWritableListableStorage, key: &str, body: Vec<u8>) -> Result<(), String> {
    let k = StoreKey::new(key).map_err(|e| format!("{key}: {e}"))?;
    storage
        .set(&k, body.into())
        .map_err(|e| format!("{key}: {e}"))
}

fn put_json(storage: &ReadableWritableListableStorage, key: &str, v: &Value) -> Result<(), String> {
    let body = serde_json::to_vec_pretty(v).map_err(|e| format!("{key}: {e}"))?;
    put(storage, key, body)
}

/// Whether an item's store is a local folder that no longer holds a Zarr group (a product
/// removed by hand, a test's temporary folder): the catalogues should not offer it.
fn store_gone(item: &Value, local_root: Option<&Path>) -> bool {
    let Some(href) = item["assets"]["zarr"]["href"].as_str() else {
        return false;
    };
    if href.contains("://") {
        return false;
    }
    let dir = match (href.strip_prefix("../"), local_root) {
        (Some(rel), Some(root)) => root.join(rel),
        (Some(_), None) => return false,
        (None, _) => PathBuf::from(href),
    };
    !dir.join("zarr.json").exists()
}

/// Every item under `stac/` (a file that does not read is skipped with a warning: another
/// writer's problem must not stop this one's catalogue).
fn list_items(
    storage: &ReadableWritableListableStorage,
    under: &str,
    local_root: Option<&Path>,
) -> Result<Vec<(String, Value)>, String> {
    let prefix = StorePrefix::new(under).map_err(|e| format!("{under}: {e}"))?;
    let keys = storage
        .list_prefix(&prefix)
        .map_err(|e| format!("{under}: {e}"))?;
    let mut out = Vec::new();
    for k in keys {
        let name = k.as_str().trim_start_matches(under);
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if id.contains('/') || id.starts_with('.') {
            continue;
        }
        let parsed = storage
            .get(&k)
            .map_err(|e| e.to_string())
            .and_then(|b| b.ok_or_else(|| "gone".to_string()))
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(v) if store_gone(&v, local_root) => {
                tracing::info!(item = %k, "its store is gone: left out of the catalogues")
            }
            Ok(v) => out.push((id.to_string(), v)),
            Err(e) => {
                tracing::warn!(item = %k, "a STAC item that does not read is left out of the catalogues: {e}")
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn root_catalogue(items: &[(String, Value)], root: &str) -> Value {
    let mut links =
        vec![json!({"rel": "root", "href": "./catalog.json", "type": "application/json"})];
    for (id, item) in items {
        links.push(json!({
            "rel": "item",
            "href": format!("./stac/{id}.json"),
            "type": "application/geo+json",
            "title": item["properties"]["title"],
        }));
    }
    json!({
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "seisreduce",
        "title": "seisreduce products",
        "description": format!("Analysis-ready Zarr products written by seisreduce under {root}; each item opens with xarray.open_zarr."),
        "links": links,
    })
}

/// A YAML string scalar (JSON's escaping is valid YAML in double quotes).
fn q(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// An item's source name in the Intake catalogue: a Python identifier, so that
/// `catalog.NAME` works.
pub fn intake_name(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Intake's catalogue (format version 1, `zarr` sources as intake-xarray reads them).
fn intake_catalogue(items: &[(String, Value)], root: &str) -> String {
    let mut y = String::new();
    y.push_str("# Written by seisreduce at each sync: every product under this root.\n");
    y.push_str("# intake.open_catalog(\"catalog.yaml\").NAME.to_dask() opens one with xarray.\n");
    y.push_str("metadata:\n  version: 1\n");
    y.push_str(&format!(
        "  description: {}\n",
        q(&format!("seisreduce products under {root}"))
    ));
    y.push_str("sources:\n");
    if items.is_empty() {
        y.push_str("  {}\n");
    }
    for (id, item) in items {
        let asset = &item["assets"]["zarr"];
        let href = asset["href"].as_str().unwrap_or_default();
        // Item hrefs are relative to stac/; the catalogue's to the root.
        let url = match href.strip_prefix("../") {
            Some(r) => format!("{{{{ CATALOG_DIR }}}}/{r}"),
            None => href.to_string(),
        };
        let name = intake_name(id);
        let props = &item["properties"];
        y.push_str(&format!("  {name}:\n"));
        let desc = format!(
            "{}: {}",
            props["title"].as_str().unwrap_or(id),
            props["description"].as_str().unwrap_or_default()
        );
        y.push_str(&format!("    description: {}\n", q(&desc)));
        y.push_str("    driver: zarr\n    args:\n");
        y.push_str(&format!("      urlpath: {}\n", q(&url)));
        match asset["xarray:open_kwargs"]["group"].as_str() {
            Some(g) => y.push_str(&format!("      group: {}\n", q(g))),
            None => y.push_str("      consolidated: true\n"),
        }
        if let Some(so) = asset.get("xarray:storage_options") {
            y.push_str(&format!("      storage_options: {so}\n"));
        }
        y.push_str("    metadata:\n");
        y.push_str(&format!(
            "      stac_item: {}\n",
            q(&format!("stac/{id}.json"))
        ));
        for k in ["start_datetime", "end_datetime"] {
            if let Some(t) = props[k].as_str() {
                y.push_str(&format!("      {k}: {}\n", q(t)));
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube() -> Cube {
        Cube {
            name: "rms".into(),
            group: None,
            description: "RMS".into(),
            time: Some(Axis {
                name: "time".into(),
                first: 1_700_000_000_000_000_000,
                last: 1_700_000_009_990_000_000,
                step_ns: Some(1e7),
            }),
            dims: vec![(
                "channel".into(),
                nominal("channel", vec!["FDSN:FR_A_00_H_H_Z".into()], "channels"),
            )],
            members: vec![
                (
                    "rms".into(),
                    json!({"node_type": "array", "shape": [1, 1000], "data_type": "float32",
                        "dimension_names": ["channel", "time"],
                        "attributes": {"units": "m/s", "long_name": "rms", "coordinates": "latitude"}}),
                ),
                (
                    "latitude".into(),
                    json!({"node_type": "array", "shape": [1], "data_type": "float64",
                        "dimension_names": ["channel"], "attributes": {"units": "degrees_north"}}),
                ),
                (
                    "time".into(),
                    json!({"node_type": "array", "shape": [1000], "dimension_names": ["time"], "attributes": {}}),
                ),
            ],
            places: vec![[5.5, 45.2], [5.5, 45.2], [6.0, 44.0]],
            stations: vec![],
        }
    }

    #[test]
    fn item_says_what_xarray_will_see() {
        let link = Link {
            from_item: "../p.zarr".into(),
            from_root: "p.zarr".into(),
            storage_options: None,
        };
        let it = item(&cube(), "p.zarr", &link, 1_700_000_100_000_000_000);
        let p = &it["properties"];
        assert_eq!(p["start_datetime"], "2023-11-14T22:13:20.000000Z");
        assert_eq!(p["end_datetime"], "2023-11-14T22:13:29.990000Z");
        assert!(p["datetime"].is_null());
        assert_eq!(p["cube:dimensions"]["time"]["step"], "PT0.01S");
        let v = &p["cube:variables"];
        assert_eq!(v["rms"]["type"], "data");
        assert_eq!(v["rms"]["unit"], "m/s");
        assert_eq!(v["latitude"]["type"], "auxiliary");
        assert!(
            v.get("time").is_none(),
            "a dimension's coordinate is not a variable"
        );
        assert_eq!(it["geometry"]["type"], "MultiPoint");
        assert_eq!(it["bbox"], json!([5.5, 44.0, 6.0, 45.2]));
    }

    #[test]
    fn long_nominal_dimensions_state_their_extent() {
        let d = nominal(
            "channel",
            (0..5000).map(|i| i.to_string()).collect(),
            "fibre",
        );
        assert_eq!(d["extent"], json!([0, 4999]));
        assert!(d.get("values").is_none());
    }

    #[test]
    fn durations_and_ids() {
        assert_eq!(duration(1e7), "PT0.01S");
        assert_eq!(duration(3.6e12), "PT3600S");
        assert_eq!(duration(1e9 / 3.0), "PT0.333333333S");
        assert_eq!(item_id("products/rms.zarr/", None), "products-rms.zarr");
        assert_eq!(item_id("s3://b/x", Some("linear_1d")), "b-x-linear_1d");
    }

    #[test]
    fn intake_entries_point_at_the_stores() {
        let link = Link {
            from_item: "../p.zarr".into(),
            from_root: "p.zarr".into(),
            storage_options: None,
        };
        let mut c = cube();
        c.group = Some("g1".into());
        let it = item(&c, "p.zarr-g1", &link, 0);
        let y = intake_catalogue(&[("p.zarr-g1".into(), it)], "/data");
        assert!(y.contains("  p_zarr_g1:\n"), "{y}");
        assert!(y.contains("urlpath: \"{{ CATALOG_DIR }}/p.zarr\""), "{y}");
        assert!(y.contains("group: \"g1\""), "{y}");
    }
}
