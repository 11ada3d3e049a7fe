//! Station metadata in a pipeline: `[metadata] stationxml = [...]` named once, and the Zarr
//! product of the real IU.ULN.00.LH1 recording carries the channel's latitude, longitude and
//! elevation from IRIS's StationXML, as xarray opens it and as ObsPy reads the same file. A
//! pipeline whose metadata lacks the channel still stores the data, with NaN coordinates and
//! a warning naming the channel and time. `remove_sensitivity` turns the counts into m/s as
//! ObsPy's `Trace.remove_sensitivity` does, and says so in the array's `units`.

mod common;

use std::path::Path;

use common::procs::{run, write_named};
use common::run_python;

fn pipeline(dir: &Path, name: &str, xml: &Path) -> std::path::PathBuf {
    pipeline_with(dir, name, xml, false)
}

/// With `physical`, the decoded counts go through `remove_sensitivity` before the store.
fn pipeline_with(dir: &Path, name: &str, xml: &Path, physical: bool) -> std::path::PathBuf {
    let mseed = common::test_data().join("mseed/IU_ULN_00_LH1_2015-07-18T02.mseed");
    write_named(
        dir,
        name,
        &format!(
            "[pipeline]\nname = \"{name}\"\n\n\
             [metadata]\nstationxml = [\"{}\"]\n\n\
             [sources.files]\ntype = \"mseed\"\npath = \"{}\"\nprogress = false\n\n\
             [operators.decoded]\ntype = \"decode\"\ninputs = [\"files\"]\n\n\
             {}\
             [sinks.store]\ntype = \"zarr\"\ninputs = [\"{}\"]\npath = \"{name}.zarr\"\norigin = \"first\"\n",
            xml.display(),
            mseed.display(),
            if physical {
                "[operators.physical]\ntype = \"remove_sensitivity\"\ninputs = [\"decoded\"]\n\n"
            } else {
                ""
            },
            if physical { "physical" } else { "decoded" },
        ),
    )
}

#[test]
fn zarr_products_carry_station_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    let xmls = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml");
    let root = dir.path().to_str().unwrap();

    let p = pipeline(dir.path(), "uln", &xmls.join("IU_ULN_00_LH1.xml"));
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", root)],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    assert!(log.contains("station metadata read from"), "{log}");

    // Metadata without the channel: data stored, coordinates NaN, the channel named.
    let p = pipeline(dir.path(), "bare", &xmls.join("G_CAN__LHZ.xml"));
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", root)],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    assert!(
        log.contains("no metadata for channel IU.ULN.00.LH1"),
        "{log}"
    );

    // Counts to m/s by the sensitivity; with metadata lacking the channel, counts flow on.
    for (name, xml) in [("ms", "IU_ULN_00_LH1.xml"), ("counts", "G_CAN__LHZ.xml")] {
        let p = pipeline_with(dir.path(), name, &xmls.join(xml), true);
        let o = run(
            &["run", p.to_str().unwrap()],
            &[("SEISREDUCE_STORAGE_ROOT", root)],
        );
        let log = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{log}");
        if name == "counts" {
            assert!(
                log.contains("no metadata for channel IU.ULN.00.LH1"),
                "{log}"
            );
            assert!(log.contains("left in counts"), "{log}");
        }
    }

    let store = dir.path().join("uln.zarr");
    let bare = dir.path().join("bare.zarr");
    let xml = xmls.join("IU_ULN_00_LH1.xml");
    let mseed = common::test_data().join("mseed/IU_ULN_00_LH1_2015-07-18T02.mseed");
    let out = run_python(
        "check_metadata_zarr.py",
        &[
            store.as_os_str(),
            bare.as_os_str(),
            xml.as_os_str(),
            dir.path().join("ms.zarr").as_os_str(),
            dir.path().join("counts.zarr").as_os_str(),
            mseed.as_os_str(),
        ],
    );
    eprintln!("{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["channels"], 1, "{out}");
    assert_eq!(v["coordinates_equal_obspy"], true, "{out}");
    assert_eq!(v["units"], json_str("degrees_north"), "{out}");
    assert_eq!(v["bare_nan"], true, "{out}");
    assert_eq!(v["bare_samples_equal"], true, "{out}");
    assert_eq!(v["physical_units"], json_str("m/s"), "{out}");
    assert!(v["physical_vs_obspy"].as_f64().unwrap() < 1e-6, "{out}");
    assert_eq!(v["counts_units"], json_str("counts"), "{out}");
    assert_eq!(v["counts_samples_equal"], true, "{out}");
}

#[test]
fn unreadable_metadata_stops_the_check_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), "missing", Path::new("/no/such/stations.xml"));
    let o = run(&["check", p.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("metadata.stationxml") && err.contains("/no/such/stations.xml"),
        "{err}"
    );
    // A refresh period that is not one.
    let xml = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml/IU_ULN_00_LH1.xml");
    let p = pipeline(dir.path(), "norefresh", &xml);
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("[metadata]\n", "[metadata]\nrefresh_s = 0\n");
    std::fs::write(&p, text).unwrap();
    let o = run(&["check", p.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("metadata.refresh_s") && err.contains("must be positive"),
        "{err}"
    );
}

fn json_str(s: &str) -> serde_json::Value {
    serde_json::Value::String(s.into())
}
