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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, UInt64Array};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn a_table_comes_back_with_its_name_stream_and_rows() {
        let schema =
            Schema::new(vec![Field::new("num_gaps", DataType::UInt64, false)]).with_metadata(
                std::collections::HashMap::from([("units".to_string(), "count".to_string())]),
            );
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(UInt64Array::from(vec![0, 3, 1]))],
        )
        .unwrap();
        let t = Table {
            name: "quality".into(),
            stream: "FR.CIEL.00.HHZ".into(),
            batch,
        };
        let back = decode(&encode(&t).unwrap()).unwrap();
        assert_eq!(
            (back.name.as_str(), back.stream.as_str()),
            ("quality", "FR.CIEL.00.HHZ")
        );
        assert_eq!(back.rows(), 3);
        assert_eq!(back.batch.schema().metadata()["units"], "count");
        let col = back.batch.column(0);
        assert_eq!(col.len(), 3);
        assert_eq!(
            col.as_any().downcast_ref::<UInt64Array>().unwrap().value(1),
            3
        );
        assert!(decode(b"not arrow").is_err());
    }
}
