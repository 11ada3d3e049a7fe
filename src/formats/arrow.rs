//! Blocks on the wire: a [`Chunk`] as one Arrow IPC stream message (schema + one batch).
//!
//! One row per channel: `channel` (FDSN source id), `distance_m` (DAS, else null) and `data`,
//! a fixed-size list of the channel's float32 samples. A row per channel, not a column per
//! channel, keeps the schema the same size whatever the channel count (a 10,000-channel DAS
//! block would otherwise carry 10,000 field definitions per message). The schema metadata
//! carries what a subscriber needs to place the samples in time without our code:
//! `seisreduce.stream`, `seisreduce.start_ns` (int ns since the epoch of sample 0),
//! `seisreduce.sample_rate_hz`, `seisreduce.dims` = `channel,time`, `seisreduce.units`.
//! pyarrow reads it with `pa.ipc.open_stream(msg).read_all()`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{cast::AsArray, types::Float32Type, StringArray};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use ndarray::Array2;

use crate::model::{ChannelMeta, Chunk, SampleRate, SourceId};

pub const CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream";

const STREAM: &str = "seisreduce.stream";
const START: &str = "seisreduce.start_ns";
const RATE: &str = "seisreduce.sample_rate_hz";
const DIMS: &str = "seisreduce.dims";
const UNITS: &str = "seisreduce.units";
/// FDSN DAS metadata as JSON ([`crate::model::DasMeta`]), on fibre blocks only.
const DAS: &str = "seisreduce.das";

#[derive(Debug, thiserror::Error)]
pub enum ArrowError {
    #[error("Arrow IPC: {0}")]
    Ipc(#[from] arrow_schema::ArrowError),
    #[error("Arrow IPC message holds no record batch")]
    Empty,
    #[error("Arrow block: {0}")]
    Layout(String),
}

pub(crate) fn layout(msg: impl Into<String>) -> ArrowError {
    ArrowError::Layout(msg.into())
}

/// Encodes `chunk` (samples in `units`, e.g. `counts`, `m/s`, `strain rate`).
pub fn encode_chunk(chunk: &Chunk, units: &str) -> Result<Vec<u8>, ArrowError> {
    let n = chunk.n_samples();
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let meta: HashMap<String, String> = [
        (STREAM, chunk.stream.clone()),
        (START, chunk.start.to_string()),
        (RATE, format!("{:?}", chunk.rate.hz())),
        (DIMS, "channel,time".to_string()),
        (UNITS, units.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(chunk.das.as_ref().and_then(|d| {
        let json = serde_json::to_string(d.as_ref()).ok()?;
        Some((DAS.to_string(), json))
    }))
    .collect();
    let schema = Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("channel", DataType::Utf8, false),
            Field::new("distance_m", DataType::Float64, true),
            Field::new(
                "data",
                DataType::FixedSizeList(item.clone(), n as i32),
                false,
            ),
        ],
        meta,
    ));
    let ids = StringArray::from_iter_values(chunk.channels.iter().map(|c| c.source_id.as_str()));
    let dist = Float64Array::from_iter(chunk.channels.iter().map(|c| c.distance_m));
    let values: Vec<f32> = if chunk.data.is_standard_layout() {
        chunk
            .data
            .as_slice()
            .map(<[f32]>::to_vec)
            .unwrap_or_default()
    } else {
        chunk.data.iter().copied().collect()
    };
    let data =
        FixedSizeListArray::try_new(item, n as i32, Arc::new(Float32Array::from(values)), None)?;
    let cols: Vec<ArrayRef> = vec![Arc::new(ids), Arc::new(dist), Arc::new(data)];
    write_ipc(schema, cols, chunk.data.len() * 4)
}

/// One batch as one IPC stream message (schema + batch).
pub(crate) fn write_ipc(
    schema: Arc<Schema>,
    cols: Vec<ArrayRef>,
    size_hint: usize,
) -> Result<Vec<u8>, ArrowError> {
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    let mut out = Vec::with_capacity(size_hint + 1024);
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema)?;
    w.write(&batch)?;
    w.finish()?;
    drop(w);
    Ok(out)
}

/// The `seisreduce.KEY` entries of a schema's metadata, read as text or integers with an
/// error naming the key.
pub(crate) struct Meta<'a>(pub &'a arrow_schema::Metadata);

impl Meta<'_> {
    pub fn get(&self, k: &str) -> Result<&String, ArrowError> {
        self.0
            .get(&format!("seisreduce.{k}"))
            .ok_or_else(|| layout(format!("schema metadata lacks seisreduce.{k}")))
    }

    pub fn num(&self, k: &str) -> Result<i64, ArrowError> {
        self.get(k)?
            .parse()
            .map_err(|_| layout(format!("seisreduce.{k} is not an integer")))
    }
}

/// The first batch of an IPC stream message.
pub(crate) fn read_ipc(bytes: &[u8]) -> Result<RecordBatch, ArrowError> {
    let mut r = arrow_ipc::reader::StreamReader::try_new(bytes, None)?;
    Ok(r.next().ok_or(ArrowError::Empty)??)
}

/// The rows × n float32 values of a fixed-size-list column.
pub(crate) fn fixed_rows(batch: &RecordBatch, name: &str) -> Result<Array2<f32>, ArrowError> {
    let data = batch
        .column_by_name(name)
        .ok_or_else(|| layout(format!("no column {name}")))?
        .as_fixed_size_list_opt()
        .ok_or_else(|| layout(format!("{name} is not a fixed-size list")))?;
    let n = data.value_length() as usize;
    let values = data
        .values()
        .as_primitive_opt::<Float32Type>()
        .ok_or_else(|| layout(format!("{name} items are not float32")))?;
    let rows = batch.num_rows();
    let offset = data.offset() * n;
    let flat = values
        .values()
        .get(offset..offset + rows * n)
        .ok_or_else(|| layout(format!("{name} too short")))?;
    Array2::from_shape_vec((rows, n), flat.to_vec()).map_err(|e| layout(e.to_string()))
}

/// Decodes what [`encode_chunk`] wrote, and the units.
pub fn decode_chunk(bytes: &[u8]) -> Result<(Chunk, String), ArrowError> {
    let batch = read_ipc(bytes)?;
    let schema = batch.schema();
    let meta = schema.metadata();
    let get = |k: &str| {
        meta.get(k)
            .ok_or_else(|| layout(format!("schema metadata lacks {k}")))
    };
    let stream = get(STREAM)?.clone();
    let start: i64 = get(START)?
        .parse()
        .map_err(|_| layout(format!("{START} is not an integer")))?;
    let rate: f64 = get(RATE)?
        .parse()
        .map_err(|_| layout(format!("{RATE} is not a number")))?;
    let units = meta.get(UNITS).cloned().unwrap_or_default();
    let das = match meta.get(DAS) {
        Some(j) => Some(std::sync::Arc::new(
            serde_json::from_str(j).map_err(|e| layout(format!("{DAS}: {e}")))?,
        )),
        None => None,
    };
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| layout(format!("no column {name}")))
    };
    let ids = col("channel")?
        .as_string_opt::<i32>()
        .ok_or_else(|| layout("channel is not utf8"))?;
    let dist = col("distance_m")?
        .as_primitive_opt::<arrow_array::types::Float64Type>()
        .ok_or_else(|| layout("distance_m is not float64"))?;
    let data = fixed_rows(&batch, "data")?;
    let rows = batch.num_rows();
    let channels = (0..rows)
        .map(|i| ChannelMeta {
            source_id: SourceId::from_raw(ids.value(i).to_string()),
            distance_m: (!dist.is_null(i)).then(|| dist.value(i)),
        })
        .collect();
    Ok((
        Chunk {
            stream,
            start,
            rate: SampleRate(rate),
            channels,
            data,
            das,
            units: None,
        },
        units,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let chunk = Chunk {
            stream: "XX.DAS".into(),
            start: 1_700_000_000_123_456_789,
            rate: SampleRate(250.0),
            channels: vec![
                ChannelMeta {
                    source_id: SourceId::from_raw("FDSN:XX_D0001__H_S_N".into()),
                    distance_m: Some(12.5),
                },
                ChannelMeta {
                    source_id: SourceId::from_raw("FDSN:XX_D0002__H_S_N".into()),
                    distance_m: None,
                },
            ],
            data: Array2::from_shape_fn((2, 7), |(c, t)| (c * 100 + t) as f32 - 3.5),
            das: None,
            units: None,
        };
        let bytes = encode_chunk(&chunk, "strain rate").unwrap();
        let (back, units) = decode_chunk(&bytes).unwrap();
        assert_eq!(back, chunk);
        assert_eq!(units, "strain rate");
        assert!(decode_chunk(&bytes[..bytes.len() / 2]).is_err());
        // Fibre metadata travels with the block.
        let das = crate::model::DasMeta {
            format: "PRODML".into(),
            format_version: "2.1".into(),
            quantity: "strain_rate".into(),
            units: "(nm/m)/s".into(),
            physical_units: "(nm/m)/s".into(),
            gauge_length_m: Some(10.0),
            spatial_sampling_interval_m: Some(1.02),
            interrogator: Some("iDAS005".into()),
            ..Default::default()
        };
        let fibre = Chunk {
            das: Some(Arc::new(das)),
            ..chunk
        };
        let (back, _) = decode_chunk(&encode_chunk(&fibre, "strain rate").unwrap()).unwrap();
        assert_eq!(back, fibre);
    }
}
