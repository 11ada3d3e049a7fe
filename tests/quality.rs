//! The `quality` stage against ObsPy's `MSEEDMetadata`, the reference for these metrics: real
//! recordings, ObsPy's own flag and timing-quality test files, and damaged copies of a day
//! (records dropped and repeated, header flags and time corrections set) through
//! `seisreduce run` into the `parquet_table` sink, read back with pandas and compared metric
//! by metric on UTC-day windows and on hour windows.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::procs::*;
use common::run_python;

fn quality_run(dir: &Path, input: &Path, window_s: u64) -> std::path::PathBuf {
    let p = write_named(
        dir,
        &format!("quality-{window_s}"),
        &format!(
            "[pipeline]\nname = \"quality\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n\
             [operators.quality]\ntype = \"quality\"\ninputs = [\"files\"]\nwindow_s = {window_s}\n\n\
             [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"quality\"]\npath = \"tables-{window_s}\"\n",
            input.display()
        ),
    );
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", dir.to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    let out = dir.join(format!("tables-{window_s}"));
    assert!(
        log.contains("quality ("),
        "the run says what it wrote:\n{log}"
    );
    assert!(log.contains(&format!(
        "pandas.read_parquet(\"{}/quality\")",
        out.display()
    )));
    out
}

#[test]
fn quality_rows_equal_obspy_mseedmetadata() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    run_python(
        "check_quality.py",
        &[OsStr::new("prepare"), input.as_os_str()],
    );
    for window_s in [86_400, 3_600] {
        let tables = quality_run(dir.path(), &input, window_s);
        let out = run_python(
            "check_quality.py",
            &[OsStr::new("compare"), input.as_os_str(), tables.as_os_str()],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["mismatches"], 0, "{out}");
        assert_eq!(v["streams"], 9, "{out}");
        assert!(v["values_checked"].as_u64().unwrap() > 500, "{out}");
    }
}
