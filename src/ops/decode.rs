//! The `decode` stage: miniSEED records to one-channel sample blocks, one block per record.

use serde::Deserialize;

use crate::bus::{DataKind, Message, Payload};
use crate::formats::mseed::{RecordReader, Samples};
use crate::model::{ChannelMeta, Chunk};
use crate::pipeline::component::{BuildContext, Component, Role, StageType, Transform, Work};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need, CHUNK_OVERHEAD};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeConfig {}

impl StageType for DecodeConfig {
    const NAME: &'static str = "decode";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str = "miniSEED records to sample blocks, one block per record";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Records];
    const EMITS: Option<DataKind> = Some(DataKind::Samples);
}

/// Samples a record of `bytes` can hold at most: Steim2 packs 7 samples in a 4-byte word.
fn max_samples(record_bytes: u64) -> u64 {
    record_bytes / 4 * 7
}

impl Component for DecodeConfig {
    fn memory(&self, input: &Flow) -> Need {
        // One record and its samples at a time; nothing kept between records.
        let block = max_samples(input.message_bytes) * 4;
        let out = Flow {
            message_bytes: block + CHUNK_OVERHEAD,
            channels: 1,
            ..*input
        };
        Need::new(block, "one record's samples", out)
    }

    fn build(&self, _: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::Transform(Box::new(Decoder)))
    }
}

struct Decoder;

impl Transform for Decoder {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Payload::Record(bytes) = &m.payload else {
            em.wrong_kind(&m.key, &m.payload);
            return Ok(());
        };
        match decode_record(&m.key, bytes) {
            Ok(Some(chunk)) => em.emit_chunk(chunk),
            Ok(None) => {
                em.metrics.dropped("text_record", 1);
                Ok(())
            }
            Err(e) => {
                em.metrics.dropped("corrupt_record", 1);
                let origin = m.origin();
                tracing::debug!(stream = %m.key, "record not decoded{origin}: {e}");
                em.repeats
                    .note(("undecodable records", true), &m.key, 0, None, || {
                        format!("{}: record not decoded{origin}: {e}", m.key)
                    });
                Ok(())
            }
        }
    }
}

/// One record as a one-channel block; `None` for text records (logs, not samples).
fn decode_record(key: &str, bytes: &[u8]) -> Result<Option<Chunk>, String> {
    let rec = RecordReader::new(bytes)
        .next()
        .ok_or("no record")?
        .map_err(|e| e.to_string())?;
    let data: Vec<f32> = match rec.decode().map_err(|e| e.to_string())? {
        Samples::Int(v) => v.into_iter().map(|x| x as f32).collect(),
        Samples::Float32(v) => v,
        Samples::Float64(v) => v.into_iter().map(|x| x as f32).collect(),
        Samples::Text(_) => return Ok(None),
    };
    let h = &rec.header;
    Ok(Some(Chunk {
        stream: key.to_string(),
        start: h.start,
        rate: h.rate,
        channels: vec![ChannelMeta {
            source_id: h.sid.clone(),
            distance_m: None,
        }],
        data: ndarray::Array2::from_shape_vec((1, data.len()), data).map_err(|e| e.to_string())?,
        das: None,
    }))
}
