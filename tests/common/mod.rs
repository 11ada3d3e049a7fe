//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference recordings: `$SEISREDUCE_TEST_DATA`, or `../shared/test-data` beside
/// the project root.
pub fn test_data() -> PathBuf {
    if let Ok(p) = std::env::var("SEISREDUCE_TEST_DATA") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/test-data")
}

pub fn truth(folder: &str) -> serde_json::Value {
    let p = test_data().join(folder).join("TRUTH.json");
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (set SEISREDUCE_TEST_DATA)", p.display()));
    serde_json::from_str(&text).expect("TRUTH.json is JSON")
}
