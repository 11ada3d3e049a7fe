//! Correlation blocks on the wire (Kafka product topics): a [`CorrBlock`] as one Arrow IPC
//! stream message, one row per pair.
//!
//! Columns: `source`, `receiver` (FDSN source ids), `distance_m` (null where unknown),
//! `windows` (uint32: windows stacked) and `ccf`, a fixed-size list of `2K + 1` float32 lags.
//! Schema metadata: `seisreduce.kind` = `correlations`, `seisreduce.stream`, `.method`
//! (`window`, `linear`, `pws`, `robust`), `.period` (`1h`, `1d`, `window`), `.start_ns` and
//! `.length_ns` (the period), `.lag_rate_hz` and `.max_lag` (lag of column j is
//! `(j - max_lag) / lag_rate_hz` s), `.dims` = `pair,lag`, `.lag_convention`, and
//! `.parameters` (every processing parameter, JSON). A subscriber reads it with
//! `pa.ipc.open_stream(msg).read_all()`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array};
use arrow_array::{StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use super::arrow::{fixed_rows, layout, read_ipc, write_ipc, ArrowError, Meta};
use crate::model::{CorrBlock, Pair, SourceId};

/// Content type of correlation messages (sample blocks use [`super::arrow::CONTENT_TYPE`]).
pub const CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream; kind=correlations";

const CONVENTION: &str = "positive lag: the receiver's signal arrives later than the source's";

pub fn encode(b: &CorrBlock) -> Result<Vec<u8>, ArrowError> {
    let n = b.n_lags();
    let meta: HashMap<String, String> = [
        ("kind", "correlations".to_string()),
        ("stream", b.stream.clone()),
        ("method", b.method.clone()),
        ("period", b.period.clone()),
        ("start_ns", b.start.to_string()),
        ("length_ns", b.length_ns.to_string()),
        ("lag_rate_hz", format!("{:?}", b.rate)),
        ("max_lag", b.max_lag.to_string()),
        ("dims", "pair,lag".to_string()),
        ("lag_convention", CONVENTION.to_string()),
        ("parameters", b.parameters.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("seisreduce.{k}"), v))
    .collect();
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let schema = Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("source", DataType::Utf8, false),
            Field::new("receiver", DataType::Utf8, false),
            Field::new("distance_m", DataType::Float64, true),
            Field::new("windows", DataType::UInt32, false),
            Field::new(
                "ccf",
                DataType::FixedSizeList(item.clone(), n as i32),
                false,
            ),
        ],
        meta,
    ));
    let src = StringArray::from_iter_values(b.pairs.iter().map(|p| p.source.as_str()));
    let rcv = StringArray::from_iter_values(b.pairs.iter().map(|p| p.receiver.as_str()));
    let dist = Float64Array::from_iter(b.pairs.iter().map(|p| p.distance_m));
    let win = UInt32Array::from(b.windows.clone());
    let values: Vec<f32> = b.data.iter().copied().collect();
    let ccf =
        FixedSizeListArray::try_new(item, n as i32, Arc::new(Float32Array::from(values)), None)?;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(src),
        Arc::new(rcv),
        Arc::new(dist),
        Arc::new(win),
        Arc::new(ccf),
    ];
    write_ipc(schema, cols, b.data.len() * 4)
}

pub fn decode(bytes: &[u8]) -> Result<CorrBlock, ArrowError> {
    let batch = read_ipc(bytes)?;
    let schema = batch.schema();
    let meta = Meta(schema.metadata());
    let get = |k: &str| meta.get(k);
    let num = |k: &str| meta.num(k);
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| layout(format!("no column {name}")))
    };
    let text = |name: &str| -> Result<Vec<String>, ArrowError> {
        let a = col(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| layout(format!("{name} is not utf8")))?;
        Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
    };
    let src = text("source")?;
    let rcv = text("receiver")?;
    let dist = col("distance_m")?
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| layout("distance_m is not float64"))?;
    let windows = col("windows")?
        .as_primitive_opt::<UInt32Type>()
        .ok_or_else(|| layout("windows is not uint32"))?
        .values()
        .to_vec();
    let data = fixed_rows(&batch, "ccf")?;
    let max_lag = num("max_lag")? as usize;
    if data.ncols() != 2 * max_lag + 1 {
        return Err(layout(format!(
            "ccf rows hold {} lags, max_lag {max_lag} says {}",
            data.ncols(),
            2 * max_lag + 1
        )));
    }
    let pairs = src
        .into_iter()
        .zip(rcv)
        .enumerate()
        .map(|(i, (s, r))| Pair {
            source: SourceId::from_raw(s),
            receiver: SourceId::from_raw(r),
            distance_m: (!dist.is_null(i)).then(|| dist.value(i)),
        })
        .collect();
    Ok(CorrBlock {
        stream: get("stream")?.clone(),
        method: get("method")?.clone(),
        period: get("period")?.clone(),
        start: num("start_ns")?,
        length_ns: num("length_ns")?,
        rate: get("lag_rate_hz")?
            .parse()
            .map_err(|_| layout("seisreduce.lag_rate_hz is not a number"))?,
        max_lag,
        pairs,
        windows,
        data,
        parameters: get("parameters")?.as_str().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn round_trip() {
        let b = CorrBlock {
            stream: "xc".into(),
            method: "linear".into(),
            period: "1h".into(),
            start: 1_700_000_000_000_000_000,
            length_ns: 3_600_000_000_000,
            rate: 20.0,
            max_lag: 3,
            pairs: vec![
                Pair {
                    source: SourceId::from_raw("FDSN:FR_A_00_H_H_Z".into()),
                    receiver: SourceId::from_raw("FDSN:FR_B_00_H_H_Z".into()),
                    distance_m: None,
                },
                Pair {
                    source: SourceId::from_raw("FDSN:FR_A_00_H_H_Z".into()),
                    receiver: SourceId::from_raw("FDSN:FR_C_00_H_H_Z".into()),
                    distance_m: Some(1234.5),
                },
            ],
            windows: vec![8, 7],
            data: Array2::from_shape_fn((2, 7), |(p, l)| (p * 10 + l) as f32 - 2.5),
            parameters: "{\"cc_len_s\":1800.0}".into(),
        };
        let bytes = encode(&b).unwrap();
        assert_eq!(decode(&bytes).unwrap(), b);
        assert!(decode(&bytes[..bytes.len() / 2]).is_err());
    }
}
