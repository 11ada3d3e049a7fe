//! Any bytes through every decoding path: the whole-buffer reader and assembler, record
//! decoding, and the incremental decoder fed in two pieces. None of it may panic, loop forever
//! or allocate without bound, and the incremental decoder must agree with the whole-buffer one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seisreduce::formats::mseed::selfcheck::decode_all_ways;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| b as usize * 61);
    if let Err(e) = decode_all_ways(data, split) {
        panic!("{e}");
    }
});
