//! Table rows on the wire: a [`Table`]'s record batch as one Arrow IPC stream message, its
//! name and stream in the schema metadata (`seisreduce.kind` = `table`, `.table`, `.stream`).
//! Any Arrow reader takes the rows as they are (`pyarrow.ipc.open_stream`).

use arrow_array::RecordBatch;

use super::arrow::{read_ipc, write_ipc, ArrowError, Meta};
use crate::model::Table;

pub const CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream; kind=table";

pub fn encode(t: &Table) -> Result<Vec<u8>, ArrowError> {
    let mut meta = t.batch.schema().metadata().clone();
    for (k, v) in [("kind", "table"), ("table", &t.name), ("stream", &t.stream)] {
        meta.insert(format!("seisreduce.{k}"), v.to_string());
    }
    let schema = std::sync::Arc::new(t.batch.schema().as_ref().clone().with_metadata(meta));
    write_ipc(
        schema,
        t.batch.columns().to_vec(),
        t.batch.get_array_memory_size(),
    )
}

pub fn decode(bytes: &[u8]) -> Result<Table, ArrowError> {
    let batch: RecordBatch = read_ipc(bytes)?;
    let schema = batch.schema();
    let meta = Meta(schema.metadata());
    Ok(Table {
        name: meta.get("table")?.clone(),
        stream: meta.get("stream")?.clone(),
        batch: batch.clone(),
    })
}
