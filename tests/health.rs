//! Channel health of an array against NumPy: a synthetic 8-channel array (a DAS block) for
//! ten minutes through `seisreduce run`: the raw block and a 1-10 Hz band-passed copy stored
//! as Zarr beside the `channel_health` stores (demeaned RMS of the raw data, mean square of the
//! band, dead flags), all opened with xarray and every window recomputed with NumPy.

mod common;

use std::ffi::OsStr;

use common::procs::*;
use common::run_python;

#[test]
fn health_windows_equal_numpy_on_the_stored_samples() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "[pipeline]\nname = \"health\"\n\n\
         [sources.synth]\ntype = \"synthetic\"\nlayout = \"array\"\nchannels = 8\nseconds = 600\nstart = \"2025-01-01T00:00:00Z\"\nevents_per_hour = 30\n\n\
         [operators.band]\ntype = \"filter\"\ninputs = [\"synth\"]\nkind = \"bandpass\"\nfreqmin = 1.0\nfreqmax = 10.0\n\n\
         [operators.rms]\ntype = \"channel_health\"\ninputs = [\"synth\"]\nmetric = \"rms\"\nwindow_s = 60\n\n\
         [operators.energy]\ntype = \"channel_health\"\ninputs = [\"band\"]\nmetric = \"mean_square\"\nwindow_s = 60\n\n\
         [operators.dead]\ntype = \"channel_health\"\ninputs = [\"synth\"]\nmetric = \"dead\"\nwindow_s = 60\n\n\
         [sinks.raw]\ntype = \"zarr\"\ninputs = [\"synth\"]\npath = \"raw.zarr\"\n\n\
         [sinks.band_store]\ntype = \"zarr\"\ninputs = [\"band\"]\npath = \"band.zarr\"\n\n\
         [sinks.rms_store]\ntype = \"zarr\"\ninputs = [\"rms\"]\npath = \"rms.zarr\"\n\n\
         [sinks.energy_store]\ntype = \"zarr\"\ninputs = [\"energy\"]\npath = \"energy.zarr\"\n\n\
         [sinks.dead_store]\ntype = \"zarr\"\ninputs = [\"dead\"]\npath = \"dead.zarr\"\n",
    );
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", dir.path().to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    let stores: Vec<_> = ["raw", "band", "rms", "energy", "dead"]
        .iter()
        .map(|s| dir.path().join(format!("{s}.zarr")))
        .collect();
    let mut args: Vec<&OsStr> = stores.iter().map(|p| p.as_os_str()).collect();
    args.push(OsStr::new("60"));
    let out = run_python("check_health.py", &args);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["channels"], 8, "{out}");
    assert_eq!(v["same_channels"], true, "{out}");
    assert_eq!(v["windows"], 10, "{out}");
    assert_eq!(v["nan_windows"], 0, "{out}");
    assert_eq!(v["dead"], 0, "{out}");
    // float32 values against float64 NumPy
    assert!(v["max_rel_rms"].as_f64().unwrap() < 1e-6, "{out}");
    assert!(v["max_rel_energy"].as_f64().unwrap() < 1e-6, "{out}");
}
