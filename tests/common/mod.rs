//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
    // Python's json writes NaN (a sum over samples that hold NaN) as a bare `NaN`, which
    // JSON has no word for: read it as null.
    let text = text.replace(": NaN", ": null");
    serde_json::from_str(&text).expect("TRUTH.json is JSON")
}

/// The Python with the reference tools: `$SEISREDUCE_PYTHON`, else `.venv/` made by
/// `scripts/setup-python.sh`, else `python3`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("SEISREDUCE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Runs a script of `tests/python/` with that Python and the given arguments; panics with its
/// output unless it succeeds. Returns its standard output.
pub fn run_python(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = std::process::Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `tests/python/check_zarr.py STORE MSEED EXTRA...` and returns its JSON summary.
pub fn check_zarr(store: &Path, mseed: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&std::ffi::OsStr> = vec![store.as_os_str(), mseed.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let out = run_python("check_zarr.py", &args);
    eprintln!("{}", out.trim());
    serde_json::from_str(out.lines().last().unwrap_or("")).expect("summary")
}

/// A chunk of `data` (channels × time) for stream `XX.OPS`, channel ids `XX.OPS.NN.HHZ`.
pub fn chunk(start: i64, rate: f64, data: ndarray::Array2<f32>) -> seisreduce::model::Chunk {
    use seisreduce::model::{ChannelMeta, SampleRate, SeedId};
    let channels = (0..data.nrows())
        .map(|i| ChannelMeta {
            source_id: SeedId::new("XX", "OPS", &format!("{i:02}"), "HHZ").to_source_id(),
            distance_m: None,
        })
        .collect();
    seisreduce::model::Chunk {
        stream: "XX.OPS".into(),
        start,
        rate: SampleRate(rate),
        channels,
        data,
        das: None,
        units: None,
    }
}

/// Feeds `data` to an operator in pieces of the given lengths (the rest in one last piece),
/// flushes, and returns the output chunks and events.
pub fn feed_in_pieces(
    op: &mut dyn seisreduce::ops::Operator,
    start: i64,
    rate: f64,
    data: &ndarray::Array2<f32>,
    pieces: &[usize],
) -> seisreduce::ops::Output {
    use ndarray::s;
    let mut out = seisreduce::ops::Output::default();
    let mut at: usize = 0;
    let n = data.ncols();
    for &len in pieces.iter().chain(std::iter::once(&usize::MAX)) {
        let end = at.saturating_add(len).min(n);
        if end > at {
            let start_ns = seisreduce::model::sample_time(start, at as i64, rate);
            op.process(
                chunk(start_ns, rate, data.slice(s![.., at..end]).to_owned()),
                &mut out,
            );
        }
        at = end;
        if at == n {
            break;
        }
    }
    op.flush(&mut out);
    out
}

/// The output chunks of one stream joined along time (they must be contiguous).
pub fn joined(out: &seisreduce::ops::Output) -> ndarray::Array2<f32> {
    let views: Vec<_> = out.chunks.iter().map(|c| c.data.view()).collect();
    for w in out.chunks.windows(2) {
        assert!(
            (w[0].end_exclusive() - w[1].start).abs() <= 1,
            "output chunks are contiguous"
        );
    }
    ndarray::concatenate(ndarray::Axis(1), &views).expect("same channel count")
}

pub mod procs;
