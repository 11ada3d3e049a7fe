//! RSAM against NumPy: synthetic stations with events (and a start off the window grid, so
//! the first window is partial) through `seisreduce run`: the raw blocks and their RSAM both
//! archived as miniSEED, read back with ObsPy, every window recomputed with NumPy.

mod common;

use std::ffi::OsStr;

use common::procs::*;
use common::run_python;

#[test]
fn rsam_windows_equal_numpy_on_the_raw_samples() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "[pipeline]\nname = \"rsam\"\n\n\
         [sources.synth]\ntype = \"synthetic\"\nchannels = 3\nseconds = 3900\nstart = \"2025-01-01T00:07:30Z\"\nevents_per_hour = 30\n\n\
         [operators.rsam]\ntype = \"rsam\"\ninputs = [\"synth\"]\nwindow_s = 600\n\n\
         [sinks.raw]\ntype = \"mseed\"\ninputs = [\"synth\"]\npath = \"raw\"\n\n\
         [sinks.rsam_archive]\ntype = \"mseed\"\ninputs = [\"rsam\"]\npath = \"rsam\"\n\n\
         [operators.rows]\ntype = \"rsam_table\"\ninputs = [\"synth\"]\nwindow_s = 600\n\n\
         [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"rows\"]\npath = \"tables\"\n",
    );
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", dir.path().to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    let out = run_python(
        "check_rsam.py",
        &[
            dir.path().join("raw").as_os_str(),
            dir.path().join("rsam").as_os_str(),
            OsStr::new("600"),
            OsStr::new("0.5"),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["mismatches"], 0, "{out}");
    assert_eq!(v["streams"], 3, "{out}");
    // 00:07:30 to 01:12:30: 8 windows a channel, the first and last 2.5 of 10 min (NaN,
    // under half covered).
    assert_eq!(v["windows"], 24, "{out}");
    assert_eq!(v["nan_windows"], 6, "{out}");

    // The same windows as table rows: every value equal to the stream's, NaN as null, and
    // the samples each rests on (the partial first and last windows: a quarter).
    let out = run_python(
        "check_rsam.py",
        &[
            OsStr::new("table"),
            dir.path().join("tables/rsam").as_os_str(),
            dir.path().join("rsam").as_os_str(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"], 24, "{out}");
    assert_eq!(v["mismatches"], 0, "{out}");
    assert_eq!(v["null_values"], 6, "{out}");
    assert_eq!(v["coverages"], serde_json::json!([0.25, 1.0]), "{out}");
}

/// RSAM served over SeedLink as each value is made (`fill_records = false`): ObsPy's
/// SeedLink client gets every 1-minute value, equal to the archived ones.
#[test]
fn rsam_served_over_seedlink_value_by_value() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"rsam-live\"\n\n\
             [sources.synth]\ntype = \"synthetic\"\nchannels = 3\nseconds = 600\n\n\
             [operators.rsam1]\ntype = \"rsam\"\ninputs = [\"synth\"]\nwindow_s = 60\n\n\
             [sinks.archive]\ntype = \"mseed\"\ninputs = [\"rsam1\"]\npath = \"rsam\"\n\n\
             [sinks.serve]\ntype = \"seedlink\"\ninputs = [\"rsam1\"]\nlisten = \"127.0.0.1:{port}\"\n\
             fill_records = false\nlinger_s = 30\n"
        ),
    );
    let mport = free_port();
    let mut c = bin();
    c.args(["run", p.to_str().unwrap()])
        .env("SEISREDUCE_STORAGE_ROOT", dir.path())
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{mport}"));
    let mut proc = Proc::spawn(c, dir.path().join("run.log"));
    wait_until(Duration::from_secs(60), "the input served", || {
        proc.log_text().contains("still serving")
    });
    let out = run_python(
        "check_rsam.py",
        &[
            OsStr::new("served"),
            OsStr::new(&port.to_string()),
            dir.path().join("rsam").as_os_str(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["mismatches"], 0, "{out}");
    assert_eq!(v["streams"], 3, "{out}");
    // A gauge per station channel with its last value: the last window archived.
    let last = &v["last"];
    for (sid, value) in last.as_object().unwrap() {
        // Labelled by the stream's key, as the quality gauges: its FDSN source id.
        let key = seisreduce::model::SeedId::parse(sid)
            .unwrap()
            .to_source_id()
            .to_string();
        let series =
            format!("seisreduce_rsam{{pipeline=\"rsam-live\",stage=\"rsam1\",stream=\"{key}\"}}");
        let got = metric(mport, &series).unwrap_or_else(|| panic!("no {series}"));
        let want = value.as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-6 * want.abs(),
            "{series} = {got}, archived {want}"
        );
    }
    assert_eq!(last.as_object().unwrap().len(), 3, "{out}");
    proc.signal(libc::SIGTERM);
    assert!(
        proc.wait(Duration::from_secs(30)).success(),
        "{}",
        proc.log_text()
    );
}
