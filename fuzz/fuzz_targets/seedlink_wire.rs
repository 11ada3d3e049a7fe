//! Any bytes as a SeedLink stream (v3 and v4 framing, whole and in pieces) and as the text of
//! commands, patterns, times and INFO replies. None of it may panic, and reading in pieces
//! must find what reading the whole does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seisreduce::seedlink::wire::selfcheck;

fuzz_target!(|data: &[u8]| {
    let piece = data.first().map_or(1, |&b| b as usize % 97 + 1);
    if let Err(e) = selfcheck(data, piece) {
        panic!("{e}");
    }
});
