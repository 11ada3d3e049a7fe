//! An array and the `zarr.json` document the sink writes for it.
//!
//! zarrs encodes and decodes the chunks; the metadata documents are kept as written here, in
//! the long form (`{"name": ..., "configuration": ...}` for every codec) that zarr-python 3
//! requires, and rewritten with the current shape when the array grows.

use serde_json::{Map, Value};
use zarrs::array::codec::{ShardingCodecOptions, SubchunkWriteOrder};
use zarrs::array::{Array, ArrayMetadata, ArrayMetadataV3, CodecSpecificOptions};
use zarrs::storage::{
    ReadableWritableListableStorage, ReadableWritableListableStorageTraits, StoreKey,
};

use crate::pipeline::emit::StageError;

pub type Store = dyn ReadableWritableListableStorageTraits;

pub fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StageError + '_ {
    move |e| StageError::Other(format!("{what}: {e}"))
}

/// `zarr.json` of the node at `path` (`/` or `/a/b`).
pub fn meta_key(path: &str) -> Result<StoreKey, StageError> {
    let p = path.trim_matches('/');
    let k = if p.is_empty() {
        "zarr.json".to_string()
    } else {
        format!("{p}/zarr.json")
    };
    StoreKey::new(k).map_err(err(path))
}

pub struct Node {
    pub array: Array<Store>,
    doc: Value,
    key: StoreKey,
}

impl Node {
    pub fn create(
        store: &ReadableWritableListableStorage,
        path: &str,
        doc: Value,
    ) -> Result<Node, StageError> {
        let meta: ArrayMetadataV3 = serde_json::from_value(doc.clone()).map_err(err(path))?;
        // Chunks inside a shard in C order rather than in whichever order the threads finish:
        // the same data then always make the same bytes (idempotent rewrites after a restart).
        let ordered = CodecSpecificOptions::default().with_option(
            ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
        );
        Ok(Node {
            array: Array::new_with_metadata(store.clone(), path, ArrayMetadata::V3(meta))
                .map_err(err(path))?
                .with_codec_specific_options(&ordered),
            doc,
            key: meta_key(path)?,
        })
    }

    /// The node stored at `path`, or None if there is none.
    pub fn open(
        store: &ReadableWritableListableStorage,
        path: &str,
    ) -> Result<Option<Node>, StageError> {
        let key = meta_key(path)?;
        let Some(bytes) = store.get(&key).map_err(err(path))? else {
            return Ok(None);
        };
        let doc: Value = serde_json::from_slice(&bytes).map_err(err(path))?;
        Node::create(store, path, doc).map(Some)
    }

    /// Every element of the array (none when it is empty).
    pub fn read_all<T: zarrs::array::ElementOwned>(&self) -> Result<Vec<T>, StageError> {
        if self.array.shape().contains(&0) {
            return Ok(Vec::new());
        }
        self.array
            .retrieve_array_subset(&self.array.subset_all())
            .map_err(err(self.key.as_str()))
    }

    pub fn attributes(&self) -> Option<&Map<String, Value>> {
        self.doc.get("attributes").and_then(Value::as_object)
    }

    pub fn set_attribute(&mut self, k: &str, v: Value) {
        if let Some(a) = self
            .doc
            .get_mut("attributes")
            .and_then(Value::as_object_mut)
        {
            a.insert(k.to_string(), v);
        }
    }

    pub fn set_shape(&mut self, shape: Vec<u64>) -> Result<(), StageError> {
        self.doc["shape"] = Value::from(shape.clone());
        self.array
            .set_shape(shape)
            .map_err(err(self.key.as_str()))?;
        Ok(())
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    pub fn store(&self, store: &ReadableWritableListableStorage) -> Result<(), StageError> {
        let body = serde_json::to_vec_pretty(&self.doc).map_err(err(self.key.as_str()))?;
        store
            .set(&self.key, body.into())
            .map_err(err(self.key.as_str()))
    }
}

/// `base/name`, as the groups of a store nest their arrays.
pub fn join(base: &str, name: &str) -> String {
    format!("{}/{name}", base.trim_end_matches('/'))
}

/// The array `name` of the group at `path`, which must be there once the group's `first`
/// array is (a store cut short is named, not half read).
pub fn member(
    store: &ReadableWritableListableStorage,
    path: &str,
    first: &str,
    name: &str,
) -> Result<Node, StageError> {
    Node::open(store, &join(path, name))?
        .ok_or_else(|| StageError::Other(format!("{path}: `{first}` without `{name}`")))
}

/// Stores each array's document, then the group's `zarr.json` at `path` with their metadata
/// consolidated (one read opens the group).
pub fn store_group(
    store: &ReadableWritableListableStorage,
    path: &str,
    attributes: &Value,
    arrays: &[(&str, &Node)],
) -> Result<(), StageError> {
    let mut members = Vec::new();
    for (name, a) in arrays {
        a.store(store)?;
        members.push((name.to_string(), a.document().clone()));
    }
    let group = super::layout::consolidated_group(attributes.clone(), &members);
    let key = meta_key(path)?;
    let body = serde_json::to_vec_pretty(&group).map_err(err("zarr.json"))?;
    store.set(&key, body.into()).map_err(err("zarr.json"))
}
