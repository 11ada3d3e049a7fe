//! Any bytes through every decoding path: the whole-buffer reader and assembler, record
//! decoding, and the incremental decoder fed in two pieces. None of it may panic, loop forever
//! or allocate without bound; and the incremental decoder must agree with the whole-buffer one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seisreduce::formats::mseed::{read_buffer, RecordReader, StreamDecoder};

fuzz_target!(|data: &[u8]| {
    let _ = read_buffer(data);
    let whole: Vec<_> = RecordReader::new(data)
        .map(|r| r.map(|rec| (rec.offset, rec.decode().is_ok())).map_err(|e| e.offset))
        .collect();
    let split = data.first().map_or(0, |&b| b as usize).min(data.len());
    let mut d = StreamDecoder::new();
    let mut streamed = Vec::new();
    d.push(&data[..split]);
    while let Some(r) = d.next_record() {
        streamed.push(r.map(|rec| (rec.offset, rec.as_record().decode().is_ok())).map_err(|e| e.offset));
    }
    d.push(&data[split..]);
    d.finish();
    while let Some(r) = d.next_record() {
        streamed.push(r.map(|rec| (rec.offset, rec.as_record().decode().is_ok())).map_err(|e| e.offset));
    }
    assert_eq!(whole, streamed);
});
