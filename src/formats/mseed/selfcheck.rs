//! Decoding the same bytes every way the library offers and checking that the ways agree.
//!
//! The fuzz target (`fuzz/fuzz_targets/mseed_decode.rs`) and the regression test over the inputs
//! it once crashed on (`tests/fuzz_regressions.rs`) both call this, so a crash found by the
//! fuzzer stays fixed in the ordinary test run.

use super::assemble::read_buffer;
use super::reader::{RecordReader, StreamDecoder};

/// What one reader saw: per record its offset and whether its samples decoded, or an error's
/// offset.
type Seen = Vec<Result<(u64, bool), u64>>;

/// Reads `data` whole, assembles it, and streams it in two pieces split at `split`; returns a
/// description of the first disagreement between the whole and the streamed reading.
pub fn decode_all_ways(data: &[u8], split: usize) -> Result<(), String> {
    let _ = read_buffer(data);
    let whole: Seen = RecordReader::new(data)
        .map(|r| {
            r.map(|rec| (rec.offset, rec.decode().is_ok()))
                .map_err(|e| e.offset)
        })
        .collect();
    let split = split.min(data.len());
    let mut d = StreamDecoder::new();
    let mut streamed: Seen = Vec::new();
    for (piece, last) in [(&data[..split], false), (&data[split..], true)] {
        d.push(piece);
        if last {
            d.finish();
        }
        while let Some(r) = d.next_record() {
            streamed.push(
                r.map(|rec| (rec.offset, rec.as_record().decode().is_ok()))
                    .map_err(|e| e.offset),
            );
        }
    }
    if whole == streamed {
        Ok(())
    } else {
        Err(format!(
            "whole-buffer reader saw {whole:?}, stream split at {split} saw {streamed:?}"
        ))
    }
}
