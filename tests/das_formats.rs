//! Every DAS file in `test-data/das` read as DASCore 0.1.24 reads it (`TRUTH.json`): layout
//! and version, shape, axes and steps, data type, sums and the first row; windowed reads
//! equal to the same window of a whole read; files of no DAS layout rejected with the list
//! of layouts read.

mod common;

use seisreduce::formats::das::{DasFile, FORMATS};
use seisreduce::inspect::das::sums;
use seisreduce::model::parse_iso;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-30)
}

/// Float-second time stamps (Terra15, Febus): DASCore converts them by multiplying in
/// float64, whose spacing at 1.6e18 ns is 256 ns; we read the float's shortest decimal.
const FLOAT_TIME_NS: i64 = 256;

/// DASCore's TDMS reader turns the TDMS time stamp (2^-64 s fractions) into a Python
/// `datetime`, which keeps microseconds; we keep the nanoseconds the file holds.
const MICROSECOND_TIME_NS: i64 = 500;

/// How far our start may be from DASCore's, by layout.
fn time_tolerance(format: &str) -> i64 {
    match format {
        "TERRA15" | "febus" | "H5Simple" => FLOAT_TIME_NS,
        "TDMS" => MICROSECOND_TIME_NS,
        _ => 0,
    }
}

/// One file against its truth entry: layout, shape and axes in DASCore's dimension order,
/// steps, dtype, sums and the first row.
fn agrees(name: &str, f: &DasFile, t: &serde_json::Value) {
    agrees_in(name, f, t, true)
}

/// As [`agrees`]; `data`: compare the samples too (not only layout, axes and type).
fn agrees_in(name: &str, f: &DasFile, t: &serde_json::Value, data: bool) {
    let patch = &t["patches"][0];
    let i = &f.info;
    let fmt = t["format"].as_array().unwrap();
    assert_eq!(i.format, fmt[0].as_str().unwrap(), "{name}");
    assert_eq!(i.version, fmt[1].as_str().unwrap(), "{name}");
    let dims: Vec<String> = serde_json::from_value(patch["dims"].clone()).unwrap();
    let time_first = dims[0] == "time";
    let other = if time_first { &dims[1] } else { &dims[0] };
    assert_eq!(i.axis.name(), other, "{name}: second axis");
    assert_eq!(i.dtype, patch["dtype"].as_str().unwrap(), "{name}");
    let data_type = patch["data_type"].as_str().unwrap_or("");
    if !data_type.is_empty() {
        assert_eq!(
            i.units.quantity.name().replace('_', ""),
            data_type.replace('_', ""),
            "{name}: data type"
        );
    }
    let step = patch["time_step_ns"].as_i64().unwrap();
    assert_eq!(i.step_ns(), step, "{name}: time step");
    let shape: Vec<usize> = serde_json::from_value(patch["shape"].clone()).unwrap();
    let (truth_time, truth_x) = if time_first {
        (shape[0], shape[1])
    } else {
        (shape[1], shape[0])
    };
    let tmin = parse_iso(patch["time_min"].as_str().unwrap()).unwrap();
    let tmax = parse_iso(patch["time_max"].as_str().unwrap()).unwrap();
    let tol = time_tolerance(i.format);
    // Febus: DASCore's format reader (dascore.io.febus) gives one row more than its
    // spool, which made TRUTH.json, from the time one step earlier, as we do. Compare
    // the rows they share.
    let (rows, shift) = if i.format == "febus" {
        assert_eq!(
            i.n_time,
            truth_time + 1,
            "{name}: DASCore's reader has one row more"
        );
        (truth_time, step)
    } else {
        assert_eq!(i.n_time, truth_time, "{name}: time samples");
        (truth_time, 0)
    };
    assert_eq!(i.n_distance, truth_x, "{name}: channels");
    let dt_min = i.start - (tmin - shift);
    assert!(dt_min.abs() <= tol, "{name}: time_min off by {dt_min} ns");
    let dt_max = i.time_max() - tmax;
    assert!(dt_max.abs() <= tol, "{name}: time_max off by {dt_max} ns");
    let dmin = i.distance.iter().copied().fold(f64::INFINITY, f64::min);
    let dmax = i.distance.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        close(dmin, patch["distance_min"].as_f64().unwrap(), 1e-9),
        "{name}: {dmin}"
    );
    assert!(
        close(dmax, patch["distance_max"].as_f64().unwrap(), 1e-9),
        "{name}: {dmax}"
    );
    let dstep = patch["distance_step"].as_f64().unwrap();
    assert!(
        close(i.distance_step(), dstep, 1e-9),
        "{name}: distance step"
    );
    if !data {
        return;
    }
    // Sums over the rows both readers return, read in windows.
    let (sum, abs) = if rows == i.n_time {
        sums(f).unwrap()
    } else {
        let b = f.read(0..rows, 0..i.n_distance).unwrap();
        b.iter()
            .fold((0.0, 0.0), |(s, a), v| (s + *v as f64, a + v.abs() as f64))
    };
    // NaN in the truth (febus_2.h5 holds NaN samples): NaN here too.
    // Samples are read as f32: float64 files agree to f32's precision.
    let rel = if i.dtype == "float64" { 1e-6 } else { 1e-9 };
    let same = |a: f64, b: Option<f64>| match b {
        Some(b) => close(a, b, rel),
        None => a.is_nan(),
    };
    assert!(
        same(sum, patch["sum"].as_f64()),
        "{name}: sum {sum} != {}",
        patch["sum"]
    );
    assert!(
        same(abs, patch["abs_sum"].as_f64()),
        "{name}: abs_sum {abs} != {}",
        patch["abs_sum"]
    );
    // The first row in DASCore's dimension order: a time across channels, or a channel
    // across times.
    let first = if time_first {
        f.read(0..1, 0..5).unwrap().column(0).to_vec()
    } else {
        f.read(0..5, 0..1).unwrap().row(0).to_vec()
    };
    for (k, v) in patch["first_row"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            first[k] as f64,
            v.as_f64().unwrap() as f32 as f64,
            "{name}: first_row[{k}]"
        );
    }
}

#[test]
fn every_das_file_agrees_with_dascore() {
    let truth = common::truth("das");
    let dir = common::test_data().join("das");
    let mut checked = 0;
    for (name, t) in truth.as_object().unwrap() {
        if t["patches"].as_array().and_then(|p| p.first()).is_none() {
            continue; // miniSEED DAS files: not HDF5 (see das_mseed tests)
        }
        let f = DasFile::open(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        agrees(name, &f, t);
        checked += 1;
    }
    assert_eq!(checked, 5, "five HDF5 DAS files in TRUTH.json");
}

#[test]
fn every_further_layout_agrees_with_dascore() {
    let truth = common::truth("das-more");
    let dir = common::test_data().join("das-more");
    let mut checked = 0;
    for (name, t) in truth.as_object().unwrap() {
        let f = DasFile::open(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        if f.info.format == "sentek" {
            sentek_against_dascore(&dir.join(name), &f, t);
        } else {
            agrees(name, &f, t);
        }
        // Every array DASCore gives as a patch is an array here, with the same axes.
        // (DASCore 0.1.24 gives the samples of PRODML's first Fbe band for every band,
        // so each band's own samples are checked against the file itself.)
        let patches = t["patches"].as_array().unwrap();
        assert_eq!(f.arrays.len(), patches.len(), "{name}: {:?}", f.arrays);
        for (k, p) in patches.iter().enumerate().skip(1) {
            let fk = DasFile::open_array(&dir.join(name), k).unwrap();
            let one = serde_json::json!({"format": t["format"], "patches": [p]});
            agrees_in(&format!("{name} array {k}"), &fk, &one, false);
            let h = hdf5::File::with_options()
                .with_fapl(|p| p.file_locking(false))
                .open(dir.join(name))
                .unwrap();
            let band: ndarray::Array2<f32> = h
                .dataset(&format!("Acquisition/Processed/Fbe[0]/FbeData[{k}]"))
                .unwrap()
                .read_2d()
                .unwrap();
            let ours = fk.read(0..fk.info.n_time, 0..fk.info.n_distance).unwrap();
            assert_eq!(ours, band.t(), "{name}: band {k} is FbeData[{k}]");
            assert!(
                fk.arrays[k].contains(&format!("FbeData[{k}]")),
                "{:?}",
                fk.arrays
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 8, "eight files in das-more/TRUTH.json");
}

/// Sentek: DASCore 0.1.24 reads at absolute offsets that lie in the header and the
/// position array (`seek((sensor_num - 1) * 4)`, `seek((measurement_count - 1) * 4)`), so
/// its data begin at byte `4 × measurement_count`, inside the row times. We read the
/// layout that accounts for every byte of the file; this shows DASCore's values are what
/// that misplaced read gives, and that ours are the rows after the row times.
fn sentek_against_dascore(path: &std::path::Path, f: &DasFile, t: &serde_json::Value) {
    let patch = &t["patches"][0];
    let i = &f.info;
    assert_eq!((i.format, i.version.as_str()), ("sentek", "5"));
    assert_eq!(patch["dims"], serde_json::json!(["distance", "time"]));
    assert_eq!(patch["shape"], serde_json::json!([i.n_distance, i.n_time]));
    assert_eq!(
        i.units.quantity.name(),
        patch["data_type"].as_str().unwrap()
    );
    let bytes = std::fs::read(path).unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let (n, m) = (i.n_distance, i.n_time);
    assert_eq!(
        bytes.len(),
        4 * (6 + n + m + n * m),
        "header, positions, times, rows"
    );
    let dascore: f64 = floats[m..m + n * m].iter().map(|v| *v as f64).sum();
    assert!(close(dascore, patch["sum"].as_f64().unwrap(), 1e-9));
    let ours = f.read(0..m, 0..n).unwrap();
    let rows = &floats[6 + n + m..];
    for (k, v) in rows.iter().enumerate().step_by(97) {
        assert_eq!(ours[[k % n, k / n]], *v, "row {} channel {}", k / n, k % n);
    }
    assert_eq!(
        i.distance[..3],
        [floats[6] as f64, floats[7] as f64, floats[8] as f64]
    );
    // The header's interval (µs) is the spacing of the row times.
    let times = &floats[6 + n..6 + n + m];
    let mean = (times[m - 1] - times[0]) as f64 / (m - 1) as f64;
    assert!(
        (mean - 1.0 / i.rate_hz).abs() < 1e-3 / i.rate_hz,
        "{mean} s"
    );
}

/// Files the test writes with the community's own tools (DASCore's DASDAE and SEG-Y
/// writers, npTDMS in several segments, h5py in the Neubrex and H5Simple layouts), read as
/// DASCore (or, for TDMS segments, npTDMS) reads them: the layouts, not only the shared
/// files.
#[test]
fn layouts_written_by_their_own_tools_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_python("write_das_layouts.py", &[dir.path().as_os_str()]);
    let truth: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let mut checked = 0;
    for (name, t) in truth.as_object().unwrap() {
        let path = dir.path().join(name);
        let patches = t["patches"].as_array().unwrap();
        for (k, p) in patches.iter().enumerate() {
            let f = DasFile::open_array(&path, k).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(f.arrays.len(), patches.len(), "{name}");
            let one = serde_json::json!({"format": t["format"], "patches": [p]});
            agrees(&format!("{name} array {k}"), &f, &one);
            let (nt, nx) = (f.info.n_time, f.info.n_distance);
            let whole = f.read(0..nt, 0..nx).unwrap();
            let w = f.read(nt / 3..nt - 1, 1..nx - 1).unwrap();
            assert_eq!(
                w,
                whole.slice(ndarray::s![1..nx - 1, nt / 3..nt - 1]),
                "{name}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 8, "{}", truth);
}

#[test]
fn windows_equal_the_same_part_of_a_whole_read() {
    let data = common::test_data();
    for name in [
        "das/valencia_febus_example.h5",
        "das/prodml_2.0.h5",
        "das/terra15_v5_test_file.hdf5",
        "das/decimated_optodas.hdf5",
        "das-more/iDAS005_tdms_example.626.tdms",
        "das-more/DASDMSShot00_20230328155653619.das",
        "das-more/gdr_1.h5",
        "das-more/febus_2.h5",
        "das-more/dispersion_event.h5",
    ] {
        let f = DasFile::open(&data.join(name)).unwrap();
        let (nt, nx) = (f.info.n_time, f.info.n_distance);
        let whole = f.read(0..nt, 0..nx).unwrap();
        assert_eq!(whole.dim(), (nx, nt));
        // Windows across Febus block edges (125 rows per block) and chunk edges.
        for (t0, t1, x0, x1) in [
            (0, 1, 0, 1),
            (120.min(nt - 2), 260.min(nt), 3, 40.min(nx)),
            (nt - 7, nt, nx - 2, nx),
            (1, nt - 1, 0, nx),
        ] {
            let w = f.read(t0..t1, x0..x1).unwrap();
            // Bit for bit (febus_2.h5 holds NaN, which is never equal to itself).
            assert_eq!(
                w.mapv(f32::to_bits),
                whole.slice(ndarray::s![x0..x1, t0..t1]).mapv(f32::to_bits),
                "{name} [{t0}..{t1}, {x0}..{x1}]"
            );
        }
        assert!(
            f.read(0..nt + 1, 0..1).is_err(),
            "{name}: window past the end"
        );
    }
}

#[test]
fn files_of_no_das_layout_are_rejected_with_the_layouts_read() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.h5");
    let h = hdf5::File::create(&other).unwrap();
    h.new_dataset::<f32>().shape((4, 4)).create("data").unwrap();
    drop(h);
    let e = DasFile::open(&other).err().unwrap().to_string();
    assert!(
        e.contains("other.h5") && e.contains("no known DAS layout"),
        "{e}"
    );
    for (name, _) in FORMATS {
        assert!(e.contains(name), "{e} lists {name}");
    }
    let mseed = common::test_data().join("das/geofon_9N_HSF.mseed");
    let e = DasFile::open(&mseed).err().unwrap().to_string();
    assert!(
        e.contains("neither HDF5") && e.contains("binary DAS layout"),
        "{e}"
    );
    let truncated = dir.path().join("truncated.h5");
    let bytes = std::fs::read(common::test_data().join("das/prodml_2.0.h5")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    match DasFile::open(&truncated) {
        Err(e) => assert!(e.to_string().contains("truncated.h5"), "{e}"),
        Ok(f) => assert!(f.read(0..f.info.n_time, 0..f.info.n_distance).is_err()),
    }
}

#[test]
fn inspect_json_has_the_keys_of_truth_json() {
    let truth = common::truth("das");
    let path = common::test_data().join("das/terra15_v5_test_file.hdf5");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seisreduce"))
        .args(["inspect", "--json", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = &v[path.to_str().unwrap()];
    let want = &truth["terra15_v5_test_file.hdf5"];
    assert_eq!(got["format"], want["format"]);
    for key in ["dims", "shape", "dtype", "time_step_ns"] {
        assert_eq!(got[key], want["patches"][0][key], "{key}");
    }
    for key in [
        "time_min",
        "time_max",
        "distance_min",
        "distance_max",
        "distance_step",
        "sum",
    ] {
        assert!(!got[key].is_null(), "{key} in {got}");
    }
    assert_eq!(got["metadata"]["gauge_length_m"], 2.4502857212913773);
    assert!(got["warnings"][0].as_str().unwrap().contains("dT"), "{got}");
    // A table for people, and exit 1 with the reason for a file of no DAS layout.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seisreduce"))
        .args(["inspect", path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("TERRA15 5") && text.contains("43 channels"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("x.h5");
    hdf5::File::create(&other).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seisreduce"))
        .args(["inspect", other.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no known DAS layout"));
}

/// The `das` source on the new layouts, into Zarr opened by xarray: a SEG-Y file (channel
/// axis: channel ids and no invented distances), one Fbe band of a PRODML file picked by
/// `array`, and a TDMS file with its positions.
#[test]
fn new_layouts_through_the_das_source_into_zarr() {
    let data = common::test_data().join("das-more");
    let dir = tempfile::tempdir().unwrap();
    for (file, array, positions) in [
        ("small_channel_patch.sgy", 0, false),
        ("prodml_fbe_1.h5", 2, true),
        ("iDAS005_tdms_example.626.tdms", 0, true),
    ] {
        let store = dir.path().join(format!("{file}.zarr"));
        let p = common::procs::write_pipeline(
            dir.path(),
            &format!(
                "[pipeline]\nname = \"layouts\"\n\n[sources.fibre]\ntype = \"das\"\npath = \"{}\"\narray = {array}\nnetwork = \"XF\"\n\n[sinks.store]\ntype = \"zarr\"\ninputs = [\"fibre\"]\npath = \"{}\"\norigin = \"first\"\n",
                data.join(file).display(),
                store.display()
            ),
        );
        let out = common::procs::run(&["run", "--quiet", p.to_str().unwrap()], &[]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Python writes NaN (no position) as a bare NaN: read it as null.
        let text =
            common::run_python("das_positions.py", &[store.as_os_str()]).replace("NaN", "null");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let f = DasFile::open_array(&data.join(file), array).unwrap();
        let ids = v["channel"].as_array().unwrap();
        assert_eq!(ids.len(), f.info.n_distance, "{file}");
        assert_eq!(ids[3], "FDSN:XF_00003__H_S_F", "{file}");
        let d = v["distance"].as_array().unwrap();
        if positions {
            for (k, x) in d.iter().enumerate() {
                assert!(
                    (x.as_f64().unwrap() - f.info.distance[k]).abs() < 1e-9,
                    "{file}"
                );
            }
        } else {
            assert!(d.iter().all(|x| x.is_null()), "{file}: {d:?}");
        }
    }
}

/// Damaged binary files (a byte changed anywhere in the headers, or the file cut short)
/// open with an error or read what is whole: never a panic, never a read past the end.
#[test]
fn damaged_binary_files_never_panic() {
    let data = common::test_data().join("das-more");
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "iDAS005_tdms_example.626.tdms",
        "small_channel_patch.sgy",
        "DASDMSShot00_20230328155653619.das",
    ] {
        let bytes = std::fs::read(data.join(name)).unwrap();
        let path = dir.path().join(name);
        let mut tried = 0;
        let head = bytes.len().min(4096);
        for at in (0..head).step_by(9) {
            for v in [0x00u8, 0xff, 0x7f] {
                let mut b = bytes.clone();
                b[at] = v;
                std::fs::write(&path, &b).unwrap();
                if let Ok(f) = DasFile::open(&path) {
                    let (nt, nx) = (f.info.n_time.min(8), f.info.n_distance.min(8));
                    let _ = f.read(0..nt, 0..nx);
                }
                tried += 1;
            }
        }
        for cut in [10, 100, 1000, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut.min(bytes.len())]).unwrap();
            if let Ok(f) = DasFile::open(&path) {
                let (nt, nx) = (f.info.n_time, f.info.n_distance);
                f.read(0..nt, 0..nx)
                    .unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"));
            }
        }
        assert!(tried > 100);
    }
}
