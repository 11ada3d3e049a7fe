//! Catalogued products: every Zarr dataset written under a storage root gets a STAC item, and
//! the root gets a STAC catalogue and an Intake catalogue listing them all, kept current as
//! the stores grow and as other pipelines add theirs.
//!
//! Two pipelines share one root: the real IU.ULN.00.LH1 recording with IRIS's StationXML into
//! samples and daily PPSD histograms, and a synthetic three-station array into correlations
//! and into a samples store outside the root (an absolute href). A third run appends to that
//! store, and its item's end moves. `tests/python/check_catalogue.py` then checks, with the
//! community's readers: pystac validates the catalogue and every item (core STAC 1.1 schemas,
//! shipped with pystac), pystac's datacube extension reads each item's dimensions and
//! variables and they equal what xstac derives from the dataset xarray opens from the item's
//! asset; the geometry is the stations' coordinates as ObsPy reads them; and every Intake
//! entry opens the same dataset as the asset. A store removed by hand leaves the catalogues.

mod common;

use std::path::Path;

use common::procs::{run_in, write_named};
use common::run_python;

fn item(root: &Path, id: &str) -> serde_json::Value {
    let path = root.join("stac").join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn synthetic(dir: &Path, name: &str, start: &str, seconds: u32, sinks: &str) -> std::path::PathBuf {
    write_named(
        dir,
        name,
        &format!(
            "[pipeline]\nname = \"{name}\"\n\n\
             [sources.array]\ntype = \"synthetic\"\nchannels = 3\nrate = 20.0\nseconds = {seconds}\nstart = \"{start}\"\n\n\
             {sinks}"
        ),
    )
}

#[test]
fn every_product_is_catalogued_and_opens_from_the_catalogues() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("elsewhere/raw.zarr");
    let xml = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml/IU_ULN_00_LH1.xml");
    let mseed = common::test_data().join("mseed/IU_ULN_00_LH1_2015-07-18T02.mseed");

    let station = write_named(
        dir.path(),
        "station",
        &format!(
            "[pipeline]\nname = \"station\"\n\n\
             [metadata]\nstationxml = [\"{}\"]\n\n\
             [sources.files]\ntype = \"mseed\"\npath = \"{}\"\nprogress = false\n\n\
             [operators.decoded]\ntype = \"decode\"\ninputs = [\"files\"]\n\n\
             [operators.psd]\ntype = \"ppsd\"\ninputs = [\"decoded\"]\n\n\
             [sinks.samples]\ntype = \"zarr\"\ninputs = [\"decoded\"]\npath = \"products/uln.zarr\"\norigin = \"first\"\n\n\
             [sinks.pdf]\ntype = \"zarr\"\ninputs = [\"psd\"]\npath = \"products/pdf.zarr\"\n",
            xml.display(),
            mseed.display(),
        ),
    );
    run_in(&station, &root);

    let array = synthetic(
        dir.path(),
        "array",
        "2025-01-01T00:00:00Z",
        7200,
        &format!(
            "[operators.xc]\ntype = \"xcorr\"\ninputs = [\"array\"]\ncc_len_s = 600\nstep_s = 300\nmaxlag_s = 10\n\
             freqmin = 0.1\nfreqmax = 4.0\nsubstacks = [\"1h\"]\nstack = [\"linear\"]\n\n\
             [sinks.ccf]\ntype = \"zarr\"\ninputs = [\"xc\"]\npath = \"ccf.zarr\"\n\n\
             [sinks.raw]\ntype = \"zarr\"\ninputs = [\"array\"]\npath = \"{}\"\norigin = \"first\"\n",
            outside.display()
        ),
    );
    run_in(&array, &root);

    // The store outside the root: an absolute href, an id from its path.
    let ids: Vec<String> = std::fs::read_dir(root.join("stac"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let raw_id = ids
        .iter()
        .find(|n| n.contains("elsewhere-raw.zarr"))
        .unwrap_or_else(|| panic!("no item for the outside store in {ids:?}"))
        .trim_end_matches(".json")
        .to_string();
    let before = item(&root, &raw_id);
    assert_eq!(
        before["assets"]["zarr"]["href"],
        serde_json::json!(std::fs::canonicalize(&outside)
            .unwrap()
            .display()
            .to_string())
    );
    assert_eq!(
        before["properties"]["end_datetime"], "2025-01-01T01:59:59.950000Z",
        "{before}"
    );
    assert_eq!(
        item(&root, "products-uln.zarr")["assets"]["zarr"]["href"],
        "../products/uln.zarr"
    );

    // The store grows: its item follows.
    let more = synthetic(
        dir.path(),
        "more",
        "2025-01-01T02:00:00Z",
        600,
        &format!(
            "[sinks.raw]\ntype = \"zarr\"\ninputs = [\"array\"]\npath = \"{}\"\norigin = \"first\"\n",
            outside.display()
        ),
    );
    run_in(&more, &root);
    let after = item(&root, &raw_id);
    assert_eq!(
        after["properties"]["start_datetime"],
        before["properties"]["start_datetime"]
    );
    assert_eq!(
        after["properties"]["end_datetime"], "2025-01-01T02:09:59.950000Z",
        "{after}"
    );

    let out = run_python("check_catalogue.py", &[root.as_os_str(), xml.as_os_str()]);
    eprintln!("{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    // uln, the PPSD channel, the 1h linear correlations, the outside store.
    assert!(v["items"].as_u64().unwrap() >= 4, "{out}");
    assert_eq!(v["catalogue_valid"], true, "{out}");
    assert_eq!(v["items_valid"], v["items"], "{out}");
    assert_eq!(v["datacube_equal_xstac"], v["items"], "{out}");
    assert_eq!(v["intake_equal_asset"], v["items"], "{out}");
    assert_eq!(v["geometry_equal_obspy"], 2, "{out}");
    assert_eq!(v["problems"], serde_json::json!([]), "{out}");

    // A store removed by hand drops out of the catalogues at the next sync of any sink.
    assert!(std::fs::read_to_string(root.join("catalog.json"))
        .unwrap()
        .contains(&raw_id));
    std::fs::remove_dir_all(&outside).unwrap();
    run_in(&station, &root);
    let catalogue = std::fs::read_to_string(root.join("catalog.json")).unwrap();
    assert!(!catalogue.contains(&raw_id), "{catalogue}");
    assert!(catalogue.contains("products-uln.zarr"), "{catalogue}");
    let intake = std::fs::read_to_string(root.join("catalog.yaml")).unwrap();
    assert!(!intake.contains("elsewhere"), "{intake}");
}
