//! DAS channels archived as miniSEED (one station per fibre channel: GEOFON 9N `HSF`, Etna)
//! assembled into (channel, time) blocks by the `assemble` operator and stored as Zarr:
//! rows in fibre order from the station codes, positions from the channel index, and every
//! sample ObsPy reads at its exact time (`tests/python/check_zarr.py`), NaN where a channel
//! has none.

mod common;

use common::procs::{run, write_pipeline};
use common::test_data;

#[test]
fn geofon_das_channels_assemble_into_an_array_xarray_reads() {
    let dir = tempfile::tempdir().unwrap();
    let etna = test_data().join("das/etna_9n_3chan_10s.mseed");
    let store = dir.path().join("etna.zarr");
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"etna\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\nprogress = false\n\n[operators.decoded]\ntype = \"decode\"\ninputs = [\"files\"]\n\n[operators.fibre]\ntype = \"assemble\"\ninputs = [\"decoded\"]\nstation_index = true\nchannels = 3\nspacing_m = 4.0\nwait_s = 60\nblock_s = 2.0\n\n[sinks.store]\ntype = \"zarr\"\ninputs = [\"fibre\"]\npath = \"{}\"\norigin = \"first\"\nunits = \"counts\"\n",
            etna.display(),
            store.display()
        ),
    );
    let o = run(&["run", p.to_str().unwrap()], &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    let summary = common::check_zarr(&store, &etna, &[]);
    assert_eq!(summary["channels"], 3, "{summary}");
    let out = common::run_python("das_positions.py", &[store.as_os_str()]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["channel"],
        serde_json::json!([
            "FDSN:9N_00066__H_S_F",
            "FDSN:9N_00067__H_S_F",
            "FDSN:9N_00068__H_S_F"
        ])
    );
    assert_eq!(v["distance"], serde_json::json!([264.0, 268.0, 272.0]));
    assert_eq!(v["time_dims"], serde_json::json!(["channel", "time"]));
}
