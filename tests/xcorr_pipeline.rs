//! A pipeline: miniSEED files → decode → decimate → xcorr → Zarr, opened by xarray with the
//! documented layout; the stations hear one noise field at known delays, so each pair's peak
//! must sit at its delay with the documented sign.

mod common;

use common::procs::{run, write_pipeline};
use seisreduce::formats::mseed::{encode, EncodeOptions, Samples};
use seisreduce::model::{SampleRate, SeedId};
use seisreduce::synthetic::signal::Rng;

/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000_000_000;

#[test]
fn files_to_correlations_in_zarr() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 100.0;
    let n = (2.0 * 3600.0 * rate) as usize;
    let pad = 1000;
    let mut r = Rng::new(5);
    let field: Vec<f64> = (0..n + pad).map(|_| r.normal()).collect();
    // Delays in samples at 100 Hz: 0, 2 s, 5 s.
    for (sta, d) in [("STA", 0usize), ("STB", 200), ("STC", 500)] {
        let x: Vec<i32> = (0..n)
            .map(|i| ((field[i + pad - d] + 0.5 * r.normal()) * 1000.0) as i32)
            .collect();
        let sid = SeedId::new("XX", sta, "00", "HHZ").to_source_id();
        let recs = encode(
            &sid,
            T0,
            SampleRate(rate),
            &Samples::Int(x),
            &EncodeOptions::default(),
        )
        .unwrap();
        std::fs::write(dir.path().join(format!("{sta}.mseed")), recs.concat()).unwrap();
    }
    let p = write_pipeline(
        dir.path(),
        &format!(
            r#"[pipeline]
name = "noise"

[sources.files]
type = "mseed"
path = "{}"
# Records of all files interleaved by time, as a live feed: xcorr cuts windows as time passes.
speed = "realtime"
speedup = 1000000

[operators.samples]
type = "decode"
inputs = ["files"]

[operators.lowrate]
type = "decimate"
inputs = ["samples"]
factor = 5

[operators.xc]
type = "xcorr"
inputs = ["lowrate"]
cc_len_s = 600
step_s = 300
maxlag_s = 20
freqmin = 0.1
freqmax = 4.0
substacks = ["1h"]
stack = ["linear", "pws"]

[sinks.ccf]
type = "zarr"
inputs = ["xc"]
path = "ccf.zarr"
"#,
            dir.path().display()
        ),
    );
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", dir.path().to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    assert!(log.contains("channel windows correlated"), "{log}");
    assert!(
        log.contains("ccf.zarr"),
        "the run says where it wrote: {log}"
    );
    let store = dir.path().join("ccf.zarr");
    let out = common::run_python("check_ccf_zarr.py", &[store.as_os_str()]);
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    eprintln!("{v:#}");
    assert_eq!(v["products"], serde_json::json!(["linear_1h", "pws_1h"]));
    for name in ["linear_1h", "pws_1h"] {
        let g = &v[name];
        assert_eq!(g["dims"], serde_json::json!(["pair", "time", "lag"]));
        assert_eq!(g["dtype"], "float32");
        assert_eq!(g["time_dtype"], "datetime64[ns]");
        assert_eq!(
            g["times"],
            serde_json::json!([
                "2025-01-01T00:00:00.000000000",
                "2025-01-01T01:00:00.000000000"
            ])
        );
        assert_eq!(g["lag0"], 0.0);
        assert_eq!(g["lag_first"], -20.0);
        assert_eq!(g["lags_exact"], true);
        assert_eq!(g["pairs"], 3);
        for c in ["source", "receiver", "distance_m", "lag", "time"] {
            assert!(
                g["coords"].as_array().unwrap().iter().any(|x| x == c),
                "{c}: {g}"
            );
        }
        // 600 s windows every 300 s: 11 whole windows in the first hour start after the
        // first data (the decimated stream starts on the grid), 12 in the second minus the
        // last one cut by the end.
        let w = g["windows"].as_array().unwrap();
        assert!(w.iter().all(|r| r[0].as_u64().unwrap() >= 10), "{w:?}");
        let peaks = &g["peaks"];
        let id = |s: &str| SeedId::new("XX", s, "00", "HHZ").to_source_id().to_string();
        assert_eq!(
            peaks[format!("{}|{}", id("STA"), id("STB"))],
            2.0,
            "{peaks}"
        );
        assert_eq!(
            peaks[format!("{}|{}", id("STA"), id("STC"))],
            5.0,
            "{peaks}"
        );
        assert_eq!(
            peaks[format!("{}|{}", id("STB"), id("STC"))],
            3.0,
            "{peaks}"
        );
    }
}
