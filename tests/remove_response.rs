//! Response removal on a real recording with its real metadata, against ObsPy: the IU.ULN.00.LH1
//! hour of `../shared/test-data/mseed/` and IRIS's StationXML for the channel
//! (`test-data/stationxml/IU_ULN_00_LH1.xml`), through `Deconvolver` (the catalogue's epoch at
//! the data's time) and through ObsPy's `Trace.remove_response` on the same samples: equal
//! within 1e-4 of the trace's peak, for velocity with the default water level, displacement
//! with a `pre_filt` band, and acceleration without a water level.

mod common;

use std::path::Path;

use seisreduce::formats::mseed::assemble::read_buffer;
use seisreduce::formats::mseed::encoding::Samples;
use seisreduce::metadata::deconvolve::{Deconvolver, RemoveOptions};
use seisreduce::metadata::evaluate::{Evaluator, Output};
use seisreduce::metadata::fetch;
use seisreduce::model::ids::SeedId;
use serde_json::json;

#[test]
fn remove_response_equals_obspy_on_a_real_recording() {
    let mseed = common::test_data().join("mseed/IU_ULN_00_LH1_2015-07-18T02.mseed");
    let xml = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml/IU_ULN_00_LH1.xml");
    let bytes = std::fs::read(&mseed).unwrap();
    let asm = read_buffer(&bytes);
    let seg = &asm.segments[0];
    let data: Vec<f64> = match &seg.samples {
        Samples::Int(v) => v.iter().map(|x| *x as f64).collect(),
        Samples::Float32(v) => v.iter().map(|x| *x as f64).collect(),
        Samples::Float64(v) => v.clone(),
        Samples::Text(_) => panic!("text"),
    };
    assert!(data.len() >= 1000, "{}", data.len());
    let catalogue = fetch::load(&[xml.display().to_string()]).unwrap();
    let id = SeedId::new("IU", "ULN", "00", "LH1");
    let epoch = catalogue.at(&id, seg.start).unwrap();
    let evaluator = Evaluator::new(epoch.response.as_ref().unwrap()).unwrap();
    let rate = seg.rate.0;

    let dir = tempfile::tempdir().unwrap();
    let configs = [
        ("VEL", Output::Velocity, Some(60.0), None),
        (
            "DISP",
            Output::Displacement,
            Some(60.0),
            Some([0.002, 0.005, 0.2, 0.4]),
        ),
        (
            "ACC",
            Output::Acceleration,
            None,
            Some([0.001, 0.002, 0.3, 0.45]),
        ),
    ];
    let mut cases = Vec::new();
    for (i, (name, output, water_level, pre_filt)) in configs.iter().enumerate() {
        let opts = RemoveOptions {
            output: *output,
            water_level: *water_level,
            pre_filt: *pre_filt,
            ..RemoveOptions::default()
        };
        let mut d = Deconvolver::new(&evaluator, rate, data.len(), opts);
        let mut out = Vec::new();
        d.apply(&data, &mut out);
        assert!(out.iter().all(|v| v.is_finite()), "{name}");
        let f = dir.path().join(format!("case{i}.f64"));
        let raw: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&f, raw).unwrap();
        cases.push(
            json!({"output": name, "water_level": water_level, "pre_filt": pre_filt, "file": f}),
        );
    }
    let manifest = dir.path().join("cases.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec(
            &json!({"mseed": mseed, "xml": xml, "npts": data.len(), "cases": cases}),
        )
        .unwrap(),
    )
    .unwrap();
    let out = common::run_python("check_remove_response.py", &[manifest.as_os_str()]);
    eprintln!("{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for (i, c) in v["cases"].as_array().unwrap().iter().enumerate() {
        assert_eq!(c["npts"], data.len(), "{out}");
        let rel = c["max_diff_over_peak"].as_f64().unwrap();
        assert!(rel < 1e-4, "case {i}: {out}");
    }
    assert_eq!(v["cases"].as_array().unwrap().len(), 3);
}

/// The `remove_response` stage in a pipeline: the same recording decoded, deconvolved in
/// hour windows padded by 15 minutes and stored as Zarr equals ObsPy's `remove_response` of
/// the same padded windows (to f32 rounding), in m/s.
#[test]
fn the_remove_response_stage_equals_obspy_window_by_window() {
    let dir = tempfile::tempdir().unwrap();
    let mseed = common::test_data().join("mseed/IU_ULN_00_LH1_2015-07-18T02.mseed");
    let xml = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml/IU_ULN_00_LH1.xml");
    let p = common::procs::write_named(
        dir.path(),
        "vel",
        &format!(
            "[pipeline]\nname = \"vel\"\n\n[metadata]\nstationxml = [\"{}\"]\n\n\
             [sources.files]\ntype = \"mseed\"\npath = \"{}\"\nprogress = false\n\n\
             [operators.decoded]\ntype = \"decode\"\ninputs = [\"files\"]\n\n\
             [operators.vel]\ntype = \"remove_response\"\ninputs = [\"decoded\"]\n\
             output = \"VEL\"\nwindow_s = 3600\npad_s = 900\n\n\
             [sinks.store]\ntype = \"zarr\"\ninputs = [\"vel\"]\npath = \"vel.zarr\"\norigin = \"first\"\n",
            xml.display(),
            mseed.display()
        ),
    );
    let o = common::procs::run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", dir.path().to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let store = dir.path().join("vel.zarr");
    let out = common::run_python(
        "check_remove_response_stage.py",
        &[
            store.as_os_str(),
            mseed.as_os_str(),
            xml.as_os_str(),
            "3600".as_ref(),
            "900".as_ref(),
        ],
    );
    eprintln!("{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["samples"], v["expected"], "{out}");
    assert_eq!(v["units"], "m/s", "{out}");
    assert!(v["windows_vs_obspy"].as_f64().unwrap() < 1e-6, "{out}");
}
