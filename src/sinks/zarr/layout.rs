//! The Zarr v3 metadata the sink writes: chunking, sharding and codecs of the data array, and
//! the coordinate arrays, as JSON documents that zarrs parses and zarr-python reads.
//!
//! Codec names and configurations are the ones zarr-python 3 and numcodecs register (`zstd`,
//! `blosc`, `numcodecs.pcodec`, `numcodecs.bitround`, `sharding_indexed`), so the store opens
//! with `xarray.open_zarr` and nothing but `pip install zarr numcodecs[pcodec]`.

use serde_json::{json, Value};

use super::ZarrConfig;

/// Chunking of the data array: chunks are what a reader decodes; shards (when on) are what is
/// stored as one object, holding a grid of chunks and an index.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Inner chunk: channels × samples.
    pub chunk: [u64; 2],
    /// Shard: channels × samples, whole multiples of the chunk; None: chunks stored one by one.
    pub shard: Option<[u64; 2]>,
    /// The codec chain inside a chunk.
    pub codecs: Vec<Value>,
}

impl Layout {
    pub fn from_config(c: &ZarrConfig) -> Result<Layout, (Option<String>, String)> {
        let bad = |k: &str, m: String| Err((Some(k.to_string()), m));
        let [ch, t] = match c.chunk.as_slice() {
            &[ch, t] if ch > 0 && t > 0 => [ch, t],
            _ => return bad("chunk", "must be [channels, samples], both above 0".into()),
        };
        let shard = match c.shard.as_slice() {
            [] => None,
            &[sc, st] if sc > 0 && st > 0 && sc % ch == 0 && st % t == 0 => Some([sc, st]),
            _ => {
                return bad(
                    "shard",
                    format!("must be [channels, samples], whole multiples of chunk = [{ch}, {t}], or [] for no sharding"),
                )
            }
        };
        let mut codecs = Vec::new();
        if let Some(k) = c.bitround_keepbits {
            if !(1..=23).contains(&k) {
                return bad(
                    "bitround_keepbits",
                    "float32 keeps 1 to 23 mantissa bits".into(),
                );
            }
            codecs.push(json!({"name": "numcodecs.bitround", "configuration": {"keepbits": k}}));
        }
        let bytes = json!({"name": "bytes", "configuration": {"endian": "little"}});
        match c.codec.as_str() {
            "zstd" => {
                let level = c.level.unwrap_or(3);
                if !(-7..=22).contains(&level) {
                    return bad("level", "zstd levels go from -7 to 22".into());
                }
                codecs.push(bytes);
                codecs.push(
                    json!({"name": "zstd", "configuration": {"level": level, "checksum": false}}),
                );
            }
            "blosc" => {
                let level = c.level.unwrap_or(5);
                if !(0..=9).contains(&level) {
                    return bad("level", "blosc levels go from 0 to 9".into());
                }
                codecs.push(bytes);
                codecs.push(json!({"name": "blosc", "configuration": {
                    "cname": "zstd", "clevel": level, "shuffle": "shuffle",
                    "typesize": 4, "blocksize": 0}}));
            }
            "pcodec" => {
                let level = c.level.unwrap_or(8);
                if !(0..=12).contains(&level) {
                    return bad("level", "pcodec levels go from 0 to 12".into());
                }
                codecs.push(json!({"name": "numcodecs.pcodec", "configuration": {
                    "level": level, "mode_spec": "auto", "delta_spec": "auto",
                    "paging_spec": "equal_pages_up_to", "delta_encoding_order": null,
                    "equal_pages_up_to": 262144}}));
            }
            "none" => codecs.push(bytes),
            other => {
                return bad(
                    "codec",
                    format!("{other:?}: use zstd, blosc, pcodec or none"),
                )
            }
        }
        Ok(Layout {
            chunk: [ch, t],
            shard,
            codecs,
        })
    }

    /// Channels × samples of one stored object (shard, or chunk without sharding): the unit
    /// the sink writes, and the Dask chunk a reader should use.
    pub fn block(&self) -> [u64; 2] {
        self.shard.unwrap_or(self.chunk)
    }

    fn codec_chain(&self) -> Vec<Value> {
        match self.shard {
            None => self.codecs.clone(),
            Some(_) => vec![json!({"name": "sharding_indexed", "configuration": {
                "chunk_shape": self.chunk,
                "codecs": self.codecs,
                "index_codecs": [
                    {"name": "bytes", "configuration": {"endian": "little"}},
                    {"name": "crc32c"}
                ],
                "index_location": "end"
            }})],
        }
    }

    /// The (channel, time) float32 data array, NaN where nothing was recorded.
    pub fn data_array(&self, shape: [u64; 2], attributes: Value) -> Value {
        array_doc(
            &shape,
            "float32",
            &self.block(),
            self.codec_chain(),
            json!("NaN"),
            &["channel", "time"],
            attributes,
        )
    }
}

/// A one-dimensional coordinate array; zstd-compressed.
pub fn coordinate_array(len: u64, chunk: u64, dtype: &str, dim: &str, attributes: Value) -> Value {
    let (codecs, fill) = match dtype {
        "string" => (vec![json!({"name": "vlen-utf8"})], json!("")),
        _ => (
            vec![
                json!({"name": "bytes", "configuration": {"endian": "little"}}),
                json!({"name": "zstd", "configuration": {"level": 3, "checksum": false}}),
            ],
            if dtype == "float64" {
                json!("NaN")
            } else {
                json!(0)
            },
        ),
    };
    array_doc(&[len], dtype, &[chunk], codecs, fill, &[dim], attributes)
}

fn array_doc(
    shape: &[u64],
    dtype: &str,
    chunk: &[u64],
    codecs: Vec<Value>,
    fill: Value,
    dims: &[&str],
    attributes: Value,
) -> Value {
    json!({
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": codecs,
        "attributes": attributes,
        "dimension_names": dims,
    })
}

/// The root group document with its members' metadata inlined, as zarr-python 3's
/// `consolidate_metadata` writes it: opening the store is then one read.
pub fn consolidated_group(attributes: Value, members: &[(String, Value)]) -> Value {
    let metadata: serde_json::Map<String, Value> = members.iter().cloned().collect();
    json!({
        "zarr_format": 3,
        "node_type": "group",
        "attributes": attributes,
        "consolidated_metadata": {
            "kind": "inline",
            "must_understand": false,
            "metadata": metadata,
        }
    })
}
