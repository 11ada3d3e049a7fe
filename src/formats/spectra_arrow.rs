//! Window spectra on the wire (a split `xcorr`'s internal topic): a [`SpectraBlock`] as one
//! Arrow IPC stream message, one row per channel.
//!
//! Columns: `channel` (FDSN source id), `distance_m` (nullable), `spectrum` (nullable: null
//! when the channel's window was rejected), a fixed-size list of `2 × bins` float32
//! (re, im interleaved, bins `first_bin ..`), and `scale` (nullable list of `bins` float32:
//! the source-form factor of coherency and deconvolution). Schema metadata:
//! `seisreduce.kind` = `spectra`, `.stream`, `.start_ns`, `.sample_rate_hz`, `.npts`, `.nfft`,
//! `.first_bin`, `.bins`, `.parameters`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, StringArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema};
use num_complex::Complex32;

use super::arrow::{layout, read_ipc, write_ipc, ArrowError, Meta};
use crate::model::{ChannelMeta, SourceId, SpectraBlock};

pub const CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream; kind=spectra";

fn list(
    values: Vec<f32>,
    width: usize,
    valid: Vec<bool>,
) -> Result<FixedSizeListArray, ArrowError> {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    Ok(FixedSizeListArray::try_new(
        item,
        width as i32,
        Arc::new(Float32Array::from(values)),
        Some(NullBuffer::from(valid)),
    )?)
}

pub fn encode(b: &SpectraBlock) -> Result<Vec<u8>, ArrowError> {
    let nfreq = b.bins;
    let meta: HashMap<String, String> = [
        ("kind", "spectra".to_string()),
        ("stream", b.stream.clone()),
        ("start_ns", b.start.to_string()),
        ("sample_rate_hz", format!("{:?}", b.rate)),
        ("npts", b.npts.to_string()),
        ("nfft", b.nfft.to_string()),
        ("first_bin", b.first_bin.to_string()),
        ("bins", b.bins.to_string()),
        ("parameters", b.parameters.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("seisreduce.{k}"), v))
    .collect();
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let schema = Arc::new(Schema::new_with_metadata(
        vec![
            Field::new("channel", DataType::Utf8, false),
            Field::new("distance_m", DataType::Float64, true),
            Field::new(
                "spectrum",
                DataType::FixedSizeList(item.clone(), 2 * nfreq as i32),
                true,
            ),
            Field::new("scale", DataType::FixedSizeList(item, nfreq as i32), true),
        ],
        meta,
    ));
    let ids = StringArray::from_iter_values(b.channels.iter().map(|c| c.source_id.as_str()));
    let dist = Float64Array::from_iter(b.channels.iter().map(|c| c.distance_m));
    let mut spec = Vec::with_capacity(b.channels.len() * 2 * nfreq);
    let mut scale = Vec::with_capacity(b.channels.len() * nfreq);
    for (s, g) in b.spectra.iter().zip(&b.scales) {
        match s {
            Some(s) if s.len() == nfreq => spec.extend(s.iter().flat_map(|c| [c.re, c.im])),
            _ => spec.extend(std::iter::repeat_n(0.0, 2 * nfreq)),
        }
        match g {
            Some(g) if g.len() == nfreq => scale.extend_from_slice(g),
            _ => scale.extend(std::iter::repeat_n(0.0, nfreq)),
        }
    }
    let spec_ok = b
        .spectra
        .iter()
        .map(|s| s.as_ref().is_some_and(|s| s.len() == nfreq))
        .collect();
    let scale_ok = b
        .scales
        .iter()
        .map(|g| g.as_ref().is_some_and(|g| g.len() == nfreq))
        .collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(ids),
        Arc::new(dist),
        Arc::new(list(spec, 2 * nfreq, spec_ok)?),
        Arc::new(list(scale, nfreq, scale_ok)?),
    ];
    write_ipc(schema, cols, b.channels.len() * nfreq * 12)
}

pub fn decode(bytes: &[u8]) -> Result<SpectraBlock, ArrowError> {
    let batch = read_ipc(bytes)?;
    let schema = batch.schema();
    let meta = Meta(schema.metadata());
    let get = |k: &str| meta.get(k);
    let num = |k: &str| meta.num(k);
    let nfft = num("nfft")? as usize;
    let first_bin = num("first_bin")? as usize;
    let nfreq = num("bins")? as usize;
    if first_bin + nfreq > nfft / 2 + 1 {
        return Err(layout(format!(
            "bins {first_bin}+{nfreq} beyond nfft {nfft}"
        )));
    }
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| layout(format!("no column {name}")))
    };
    let ids = col("channel")?
        .as_string_opt::<i32>()
        .ok_or_else(|| layout("channel is not utf8"))?;
    let dist = col("distance_m")?
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| layout("distance_m is not float64"))?;
    let rows_of = |name: &str, width: usize| -> Result<Vec<Option<Vec<f32>>>, ArrowError> {
        let l = col(name)?
            .as_fixed_size_list_opt()
            .ok_or_else(|| layout(format!("{name} is not a fixed-size list")))?;
        if l.value_length() as usize != width {
            return Err(layout(format!("{name} rows are not {width} long")));
        }
        (0..l.len())
            .map(|i| {
                if l.is_null(i) {
                    return Ok(None);
                }
                let v = l.value(i);
                let v = v
                    .as_primitive_opt::<Float32Type>()
                    .ok_or_else(|| layout(format!("{name} items are not float32")))?;
                Ok(Some(v.values().to_vec()))
            })
            .collect()
    };
    let spectra = rows_of("spectrum", 2 * nfreq)?
        .into_iter()
        .map(|r| {
            r.map(|v| {
                v.chunks_exact(2)
                    .map(|c| Complex32::new(c[0], c[1]))
                    .collect()
            })
        })
        .collect();
    let scales = rows_of("scale", nfreq)?;
    let channels = (0..ids.len())
        .map(|i| ChannelMeta {
            source_id: SourceId::from_raw(ids.value(i).to_string()),
            distance_m: (!dist.is_null(i)).then(|| dist.value(i)),
        })
        .collect();
    Ok(SpectraBlock {
        stream: get("stream")?.clone(),
        start: num("start_ns")?,
        rate: get("sample_rate_hz")?
            .parse()
            .map_err(|_| layout("seisreduce.sample_rate_hz is not a number"))?,
        npts: num("npts")? as usize,
        nfft,
        first_bin,
        bins: nfreq,
        parameters: get("parameters")?.as_str().into(),
        channels,
        spectra,
        scales,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ch = |s: &str| ChannelMeta {
            source_id: SourceId::from_raw(s.into()),
            distance_m: None,
        };
        let b = SpectraBlock {
            stream: "xc".into(),
            start: 1_700_000_000_000_000_000,
            rate: 20.0,
            npts: 10,
            nfft: 12,
            first_bin: 0,
            bins: 7,
            parameters: "{}".into(),
            channels: vec![ch("FDSN:XX_A_00_H_H_Z"), ch("FDSN:XX_B_00_H_H_Z")],
            spectra: vec![
                Some(
                    (0..7)
                        .map(|k| Complex32::new(k as f32, -(k as f32)))
                        .collect(),
                ),
                None,
            ],
            scales: vec![Some(vec![0.5; 7]), None],
        };
        assert_eq!(decode(&encode(&b).unwrap()).unwrap(), b);
    }
}
