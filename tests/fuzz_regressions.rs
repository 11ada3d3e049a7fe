//! Inputs the fuzzers once crashed on (`test-data/fuzz-regressions/`), through both targets'
//! checks on each test run: miniSEED decoded every way at every split point of the
//! incremental decoder, and SeedLink framing and text read whole and in pieces.

use seisreduce::formats::mseed::selfcheck::decode_all_ways;

#[test]
fn former_crashes_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(entry.path()).unwrap();
        for split in (0..=data.len()).step_by(97) {
            decode_all_ways(&data, split)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
        for piece in [1, 7, 97] {
            seisreduce::seedlink::wire::selfcheck(&data, piece)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}
