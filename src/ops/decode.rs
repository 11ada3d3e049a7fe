//! The `decode` stage: miniSEED records to one-channel sample blocks.
//!
//! A block per record, except that records of one stream that follow each other in the input
//! and continue each other in time (as a file or a dataselect answer holds them) are joined
//! into one block of up to [`JOIN_SAMPLES`] samples while more input is waiting: the stages
//! downstream then handle a tenth of the messages. Nothing is held once the input is idle, so
//! live data are not delayed, and a gap, an overlap, another stream or another rate ends the
//! block (each keeps its own start time).

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
    const ABOUT: &'static str =
        "miniSEED records to sample blocks (contiguous records of a stream in a row joined)";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Records];
    const EMITS: Option<DataKind> = Some(DataKind::Samples);
}

/// Samples a record of `bytes` can hold at most: Steim2 packs 7 samples in a 4-byte word.
fn max_samples(record_bytes: u64) -> u64 {
    record_bytes / 4 * 7
}

/// The most samples joined into one block.
pub const JOIN_SAMPLES: usize = 4096;
/// How far a record's start may be from where the previous one ends and still continue it:
/// half the 100 µs resolution of miniSEED 2 start times (and under half a sample, below).
const JOIN_TOLERANCE_NS: i64 = 50_000;

impl Component for DecodeConfig {
    fn memory(&self, input: &Flow) -> Need {
        // One record's samples, or a block of joined records.
        let block = max_samples(input.message_bytes).max(JOIN_SAMPLES as u64) * 4;
        let out = Flow {
            message_bytes: block + CHUNK_OVERHEAD,
            channels: 1,
            ..*input
        };
        Need::new(block, "one record's samples, or records joined", out)
    }

    fn build(&self, _: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::Transform(Box::new(Decoder::default())))
    }
}

#[derive(Default)]
struct Decoder {
    held: Option<Held>,
}

/// Records joined so far.
struct Held {
    /// The first record's block, its samples moved out to `samples`.
    head: Chunk,
    samples: Vec<f32>,
    /// Records after the first (counted as `joined record` events, so that every record taken
    /// is accounted for: out, dropped or joined).
    joined: u64,
}

impl Decoder {
    /// Joins `c` to the held block if it continues it, else emits the held block and holds `c`.
    fn join(&mut self, mut c: Chunk, em: &mut Emitter<'_>) -> Result<(), StageError> {
        if let Some(h) = &mut self.held {
            let first = &h.head;
            let n = h.samples.len();
            let end = crate::model::sample_time(first.start, n as i64, first.rate.hz());
            let tolerance = JOIN_TOLERANCE_NS.min((5e8 / first.rate.hz()) as i64);
            let continues = c.stream == first.stream
                && c.rate == first.rate
                && c.channels == first.channels
                && (c.start - end).abs() <= tolerance
                && n + c.n_samples() <= JOIN_SAMPLES;
            if continues {
                h.samples.extend(c.data.iter().copied());
                h.joined += 1;
                return Ok(());
            }
        }
        self.idle(em)?;
        let data = std::mem::replace(&mut c.data, ndarray::Array2::zeros((1, 0)));
        let samples = if data.is_standard_layout() {
            data.into_raw_vec_and_offset().0
        } else {
            data.iter().copied().collect()
        };
        self.held = Some(Held {
            head: c,
            samples,
            joined: 0,
        });
        Ok(())
    }
}

impl Transform for Decoder {
    fn idle(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Some(Held {
            mut head,
            samples,
            joined,
        }) = self.held.take()
        else {
            return Ok(());
        };
        if joined > 0 {
            em.metrics.events("joined record", joined);
        }
        head.data = ndarray::Array2::from_shape_vec((1, samples.len()), samples)
            .map_err(|e| StageError::Other(e.to_string()))?;
        em.emit_chunk(head)
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        self.idle(em)
    }

    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Payload::Record(bytes) = &m.payload else {
            em.wrong_kind(&m.key, &m.payload);
            return Ok(());
        };
        match decode_record(&m.key, bytes) {
            Ok(Some(chunk)) => self.join(chunk, em),
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
        units: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::collect::Collect;
    use crate::formats::mseed::{encode, EncodeOptions, Encoding};
    use crate::model::{SampleRate, SeedId};
    use crate::telemetry::metrics::Metrics;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    const T0: i64 = 1_735_689_600_000_000_000;

    /// `n` samples of station `sta` from `start`, as 512-byte Steim2 records (one message each).
    fn records(sta: &str, start: i64, n: usize) -> (Vec<Message>, Vec<f32>) {
        let v: Vec<i32> = (0..n)
            .map(|i| ((i as f64 * 0.05).sin() * 1e4) as i32 + (i % 7) as i32)
            .collect();
        let sid = SeedId::new("XX", sta, "00", "HHZ").to_source_id();
        let opts = EncodeOptions {
            encoding: Encoding::Steim2,
            record_length: 512,
            ..Default::default()
        };
        let recs = encode(
            &sid,
            start,
            SampleRate(100.0),
            &Samples::Int(v.clone()),
            &opts,
        )
        .unwrap();
        let key: Arc<str> = format!("XX.{sta}.00.HHZ").into();
        let msgs = recs
            .into_iter()
            .map(|r| Message {
                key: key.clone(),
                payload: Payload::Record(r.into()),
                position: None,
            })
            .collect();
        (msgs, v.into_iter().map(|x| x as f32).collect())
    }

    #[test]
    fn contiguous_records_in_a_row_are_joined_and_nothing_else() {
        let (a1, va1) = records("A", T0, 6000);
        // A again after a 1 s gap; then B; then A where it left off.
        let gap = T0 + 61_000_000_000;
        let (a2, va2) = records("A", gap, 900);
        let (b, vb) = records("B", T0, 900);
        let (a3, va3) = records("A", gap + 9_000_000_000, 500);
        let out = Collect::default();
        let metrics = Metrics::new("t").stage("decode");
        let stop = AtomicBool::new(false);
        let mut em = Emitter::new("decode", Some(Box::new(out.clone())), &metrics, &stop);
        let mut d = Decoder::default();
        for m in a1.into_iter().chain(a2).chain(b).chain(a3) {
            d.take(m, &mut em).unwrap();
        }
        let before_idle = out.0.lock().unwrap().len();
        d.idle(&mut em).unwrap();
        let blocks = out.0.lock().unwrap();
        assert_eq!(blocks.len(), before_idle + 1, "idle emits the held block");
        let summary: Vec<(String, i64, usize)> = blocks
            .iter()
            .map(|c| (c.stream.clone(), c.start, c.n_samples()))
            .collect();
        let a = "XX.A.00.HHZ".to_string();
        let first = blocks[0].n_samples();
        assert!(
            first <= JOIN_SAMPLES && first > JOIN_SAMPLES - 420,
            "{summary:?}"
        );
        let t = |s: i64, i: usize| crate::model::sample_time(s, i as i64, 100.0);
        assert_eq!(
            summary,
            [
                (a.clone(), T0, first),
                (a.clone(), t(T0, first), 6000 - first),
                (a.clone(), gap, 900),
                ("XX.B.00.HHZ".to_string(), T0, 900),
                (a, gap + 9_000_000_000, 500),
            ]
        );
        let got: Vec<f32> = blocks.iter().flat_map(|c| c.data.iter().copied()).collect();
        let want: Vec<f32> = [va1, va2, vb, va3].concat();
        assert_eq!(got, want);
    }
}
