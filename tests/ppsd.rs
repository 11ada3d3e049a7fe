//! PPSD against ObsPy's `PPSD` (`tests/python/check_ppsd.py`): a real day of CH.BALST LHE
//! from the shared files (run twice into the same folder), and two hours of realistic 100 Hz
//! stations with events, each run through `seisreduce run` into the `parquet_table` sink and
//! a `zarr` sink of daily histograms, read back with pandas and xarray and compared segment
//! by segment, and day by day, with ObsPy given the same data and the same poles and zeros.
//! Peterson's models are checked against the tables ObsPy ships.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::procs::*;
use common::run_python;

/// An STS-2 (first generation) as poles and zeros of velocity, with a 24-bit digitiser.
const PAZ: &str = r#"{"poles": [[-0.037004, 0.037016], [-0.037004, -0.037016], [-251.33, 0.0],
  [-131.04, -467.29], [-131.04, 467.29]], "zeros": [[0.0, 0.0], [0.0, 0.0]],
  "normalization": 60077000.0, "sensitivity": 2516582400.0}"#;

fn response_toml() -> String {
    let v: serde_json::Value = serde_json::from_str(PAZ).unwrap();
    format!(
        "[[operators.ppsd.response]]\nchannels = \"*\"\npoles = {}\nzeros = {}\nnormalization = {}\nsensitivity = {}\n",
        v["poles"], v["zeros"], v["normalization"], v["sensitivity"]
    )
}

/// Runs `pipeline` `runs` times into the same folder (a replay must add nothing: no row
/// stored twice, no segment counted twice in a histogram), then compares its `tables/ppsd`
/// and `pdf.zarr` with ObsPy on `mseed`.
fn compare(dir: &Path, pipeline: &str, mseed: &Path, runs: usize) -> serde_json::Value {
    compare_with(dir, pipeline, mseed, runs, None)
}

/// As [`compare`], ObsPy given the StationXML `xml` instead of the poles and zeros.
fn compare_with(
    dir: &Path,
    pipeline: &str,
    mseed: &Path,
    runs: usize,
    xml: Option<&Path>,
) -> serde_json::Value {
    let p = write_pipeline(dir, pipeline);
    for _ in 0..runs {
        let o = run(
            &["run", p.to_str().unwrap()],
            &[("SEISREDUCE_STORAGE_ROOT", dir.to_str().unwrap())],
        );
        let log = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{log}");
    }
    let paz = match xml {
        Some(x) => x.to_path_buf(),
        None => {
            let p = dir.join("paz.json");
            std::fs::write(&p, PAZ).unwrap();
            p
        }
    };
    let out = run_python(
        "check_ppsd.py",
        &[
            OsStr::new("compare"),
            mseed.as_os_str(),
            dir.join("tables").as_os_str(),
            paz.as_os_str(),
            dir.join("pdf.zarr").as_os_str(),
        ],
    );
    eprintln!("ObsPy comparison: {out}");
    serde_json::from_str(&out).unwrap()
}

fn assert_equal_to_obspy(v: &serde_json::Value, channels: u64, segments: u64) {
    let s = v.to_string();
    assert_eq!(v["channels"], channels, "{s}");
    assert_eq!(v["segments"], segments, "{s}");
    assert_eq!(v["obspy_segments"], segments, "{s}");
    assert_eq!(v["time_mismatches"], 0, "{s}");
    assert_eq!(v["nan_mismatches"], 0, "{s}");
    // ObsPy stores float32: the smoothed values agree to its precision, far inside 0.1 dB.
    assert!(v["max_db_diff"].as_f64().unwrap() < 1e-3, "{s}");
    assert_eq!(v["histogram_mismatches"], 0, "{s}");
    assert!(v["histogram_days"].as_u64().unwrap() >= 1, "{s}");
    assert!(v["probability_max_diff"].as_f64().unwrap() < 1e-6, "{s}");
    // shares against ObsPy's tabulated models: at most one bin apart (a value on a model line)
    assert!(v["share_diff_bins"].as_f64().unwrap() <= 1.0, "{s}");
}

#[test]
fn a_real_day_of_lhe_equals_obspy() {
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/test-data/mseed/CH.BALST..LHE.D.2025.314");
    let pipeline = format!(
        "[pipeline]\nname = \"ppsd-real\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n\
         [operators.decode]\ntype = \"decode\"\ninputs = [\"files\"]\n\n\
         [operators.ppsd]\ntype = \"ppsd\"\ninputs = [\"decode\"]\n{}\n\
         [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"ppsd\"]\npath = \"tables\"\n\n\
         [sinks.pdf]\ntype = \"zarr\"\ninputs = [\"ppsd\"]\npath = \"pdf.zarr\"\n",
        file.display(),
        response_toml()
    );
    let v = compare(dir.path(), &pipeline, &file, 2);
    // 00:02:53 to 00:01:55 the next day: segments from 00:30 every 30 min, the last at 23:00
    assert_equal_to_obspy(&v, 1, 46);
}

/// The response from station metadata (`[metadata]`, IRIS's StationXML for IU.ULN.00.LH1)
/// instead of poles and zeros: equal to ObsPy's PPSD given the same inventory.
#[test]
fn responses_from_station_metadata_equal_obspy() {
    let dir = tempfile::tempdir().unwrap();
    let file = common::test_data().join("mseed/IU_ULN_00_LH1_2015-07-18T02.mseed");
    let xml = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml/IU_ULN_00_LH1.xml");
    let pipeline = format!(
        "[pipeline]\nname = \"ppsd-meta\"\n\n[metadata]\nstationxml = [\"{}\"]\n\n\
         [sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n\
         [operators.decode]\ntype = \"decode\"\ninputs = [\"files\"]\n\n\
         [operators.ppsd]\ntype = \"ppsd\"\ninputs = [\"decode\"]\n\n\
         [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"ppsd\"]\npath = \"tables\"\n\n\
         [sinks.pdf]\ntype = \"zarr\"\ninputs = [\"ppsd\"]\npath = \"pdf.zarr\"\n",
        xml.display(),
        file.display(),
    );
    let v = compare_with(dir.path(), &pipeline, &file, 1, Some(&xml));
    // three hours from 02:00: segments at 02:00, 02:30, 03:00 and 03:30
    assert_equal_to_obspy(&v, 1, 4);
}

#[test]
fn realistic_100_hz_stations_with_events_equal_obspy() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = format!(
        "[pipeline]\nname = \"ppsd-synth\"\n\n\
         [sources.synth]\ntype = \"synthetic\"\nchannels = 2\nseconds = 7200\nstart = \"2025-01-01T00:00:00Z\"\nevents_per_hour = 20\n\n\
         [operators.ppsd]\ntype = \"ppsd\"\ninputs = [\"synth\"]\n{}\n\
         [sinks.raw]\ntype = \"mseed\"\ninputs = [\"synth\"]\npath = \"raw\"\n\n\
         [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"ppsd\"]\npath = \"tables\"\n\n\
         [sinks.pdf]\ntype = \"zarr\"\ninputs = [\"ppsd\"]\npath = \"pdf.zarr\"\n",
        response_toml()
    );
    let raw = dir.path().join("raw");
    let v = compare(dir.path(), &pipeline, &raw, 1);
    // two hours: segments at 00:00, 00:30 and 01:00 for each channel
    assert_equal_to_obspy(&v, 2, 6);
}

#[test]
fn peterson_models_equal_the_tables_obspy_ships() {
    use seisreduce::ops::ppsd::peterson::{nhnm, nlnm};
    let out = run_python("check_ppsd.py", &[OsStr::new("models")]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (periods, lo, hi) = (f("periods"), f("nlnm"), f("nhnm"));
    assert_eq!(periods.len(), 1001);
    let mut worst: f64 = 0.0;
    for ((p, l), h) in periods.iter().zip(&lo).zip(&hi) {
        worst = worst.max((nlnm(*p).unwrap() - l).abs());
        worst = worst.max((nhnm(*p).unwrap() - h).abs());
    }
    // ObsPy's tables are Peterson's lines rounded to 1e-4 dB
    assert!(worst < 1e-3, "largest difference {worst} dB");
}
