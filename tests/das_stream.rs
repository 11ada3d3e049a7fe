//! The `das` source following the folder an interrogator writes into (PRODML files, rolled
//! every 2 s): contiguous files, a half-written file completed later, a gap, an overlap, a
//! corrupt file and a file that grows while it is read — through decimation into Zarr, then
//! opened by xarray with (time, distance) coordinates and checked sample by sample.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::procs::{bin, free_port, metric, wait_until, write_pipeline, Proc};
use ndarray::Array2;
use seisreduce::formats::das::prodml_write::{Acquisition, ProdmlWriter};
use seisreduce::model::{parse_iso, sample_time};

const RATE: f64 = 500.0;
const CHANNELS: usize = 24;
const FREQ: f64 = 2.0;
const SPACING: f64 = 2.041;
const FIRST_LOCUS: i64 = -10;

fn t0() -> i64 {
    parse_iso("2024-01-01T00:00:00").unwrap()
}

fn amplitude(c: usize) -> f64 {
    100.0 * (1 + c) as f64
}

/// `seconds` of the test signal starting `offset_s` after t0, as (time, channel).
fn block(offset_s: f64, seconds: f64) -> Array2<f32> {
    let start = t0() + (offset_s * 1e9) as i64;
    let n = (seconds * RATE).round() as usize;
    Array2::from_shape_fn((n, CHANNELS), |(i, c)| {
        let t = sample_time(start, i as i64, RATE) - t0();
        (amplitude(c) * (2.0 * std::f64::consts::PI * FREQ * t as f64 / 1e9).sin()) as f32
    })
}

fn acquisition(offset_s: f64) -> Acquisition {
    Acquisition {
        start: t0() + (offset_s * 1e9) as i64,
        rate_hz: RATE,
        channels: CHANNELS,
        start_locus: FIRST_LOCUS,
        spacing_m: SPACING,
        gauge_length_m: 10.0,
    }
}

fn write_file(path: &Path, offset_s: f64, seconds: f64) {
    let mut w = ProdmlWriter::<f32>::create(path, acquisition(offset_s)).unwrap();
    w.append(block(offset_s, seconds).view()).unwrap();
}

/// Writes a complete file under a hidden name (the source ignores dot files), then renames
/// it into place, as interrogators that write-then-rename do.
fn place(dir: &Path, name: &str, offset_s: f64, seconds: f64) {
    let tmp = dir.join(format!(".{name}.part"));
    write_file(&tmp, offset_s, seconds);
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

fn checkpoint_rows(path: &Path, file: &str) -> usize {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["files"][file]["rows"].as_u64())
        .unwrap_or(0) as usize
}

#[test]
fn rolling_files_to_zarr_read_by_xarray_with_time_and_distance() {
    let dir = tempfile::tempdir().unwrap();
    let incoming = dir.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    let ckpt = dir.path().join("fibre.checkpoint.json");
    let store = dir.path().join("fibre.zarr");
    place(&incoming, "f000.h5", 0.0, 2.0);
    place(&incoming, "f001.h5", 2.0, 2.0);
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"fibre\"\n\n[sources.fibre]\ntype = \"das\"\npath = \"{}\"\npattern = \"f*.h5\"\nfollow = true\npoll_s = 0.2\nsettle_s = 1.0\nchunk_s = 0.5\nnetwork = \"XF\"\ncheckpoint = \"{}\"\n\n[operators.low]\ntype = \"decimate\"\ninputs = [\"fibre\"]\nfactor = 5\n\n[sinks.store]\ntype = \"zarr\"\ninputs = [\"low\"]\npath = \"{}\"\norigin = \"first\"\ncommit_interval_s = 0.5\n",
            incoming.display(),
            ckpt.display(),
            store.display()
        ),
    );
    let port = free_port();
    let mut c: Command = bin();
    c.args(["run", p.to_str().unwrap()])
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{port}"));
    let mut proc = Proc::spawn(c, dir.path().join("run.log"));
    let long = Duration::from_secs(60);
    wait_until(long, "f000 read", || {
        checkpoint_rows(&ckpt, "f000.h5") == 1000
    });

    // A half-written file: the first third of its bytes, then the whole file.
    let full = dir.path().join("f002.full");
    write_file(&full, 4.0, 2.0);
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(incoming.join("f002.h5"), &bytes[..bytes.len() / 3]).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    std::fs::write(incoming.join(".f002.h5.part"), &bytes).unwrap();
    std::fs::rename(incoming.join(".f002.h5.part"), incoming.join("f002.h5")).unwrap();
    wait_until(long, "f002 read", || {
        checkpoint_rows(&ckpt, "f002.h5") == 1000
    });
    // A 1 s gap, then a file overlapping the previous one by 0.5 s, then a corrupt file.
    place(&incoming, "f003.h5", 7.0, 2.0);
    place(&incoming, "f004.h5", 8.5, 2.0);
    std::fs::write(incoming.join("f005.h5"), b"\x89HDF\r\n\x1a\n not really").unwrap();
    // Not DAS at all, and last by name: passed over, never taken for the current file.
    std::fs::write(incoming.join("f999.h5"), b"operator's notes, not HDF5").unwrap();
    // The current file, growing while it is read.
    let mut w = ProdmlWriter::<f32>::create(&incoming.join("f006.h5"), acquisition(10.5)).unwrap();
    w.append(block(10.5, 1.0).view()).unwrap();
    wait_until(long, "f006 first second", || {
        checkpoint_rows(&ckpt, "f006.h5") == 500
    });
    w.append(block(11.5, 1.0).view()).unwrap();
    drop(w);
    wait_until(long, "f006 grown", || {
        checkpoint_rows(&ckpt, "f006.h5") == 1000
    });
    let m = |s: &str| metric(port, s).unwrap_or(-1.0);
    let unreadable =
        "seisreduce_dropped_total{pipeline=\"fibre\",reason=\"unreadable_file\",stage=\"fibre\"}";
    let overlap = "seisreduce_dropped_total{pipeline=\"fibre\",reason=\"overlap\",stage=\"fibre\"}";
    let gaps = "seisreduce_stream_events_total{kind=\"gap\",pipeline=\"fibre\",stage=\"fibre\"}";
    let body = common::procs::http_get(port, "/metrics").unwrap().1;
    assert_eq!(m(unreadable), 1.0, "{body}");
    assert_eq!(m(overlap), (250 * CHANNELS) as f64, "{body}");
    assert_eq!(m(gaps), 1.0, "{body}");
    let foreign = "seisreduce_dropped_total{pipeline=\"fibre\",reason=\"not_das\",stage=\"fibre\"}";
    assert_eq!(m(foreign), 1.0, "{body}");
    let status = proc.terminate(Duration::from_secs(30));
    let log = proc.log_text();
    assert!(status.success(), "{status}: {log}");
    assert!(
        log.contains("f005.h5") && log.contains("gap between files"),
        "{log}"
    );

    let distances: Vec<f64> = (0..CHANNELS)
        .map(|i| (FIRST_LOCUS + i as i64) as f64 * SPACING)
        .collect();
    let s = |x: f64| t0() + (x * 1e9) as i64;
    let spec = serde_json::json!({
        "t0_ns": t0(),
        "rate_hz": RATE / 5.0,
        "freq_hz": FREQ,
        "amplitudes": (0..CHANNELS).map(amplitude).collect::<Vec<_>>(),
        "distances": distances,
        "segments": [[s(0.0), s(6.0)], [s(7.0), s(12.5)]],
        "margin_s": 0.5,
        "gauge_length_m": 10.0,
        "format": "PRODML",
    });
    let out = common::run_python(
        "check_das_zarr.py",
        &[store.as_os_str(), spec.to_string().as_ref()],
    );
    println!("{out}");
}

#[test]
fn a_restart_goes_on_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let incoming = dir.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    place(&incoming, "f000.h5", 0.0, 1.0);
    place(&incoming, "f001.h5", 1.0, 1.0);
    let ckpt = dir.path().join("ckpt.json");
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"resume\"\n\n[sources.fibre]\ntype = \"das\"\npath = \"{}\"\ncheckpoint = \"{}\"\n\n[sinks.out]\ntype = \"null\"\ninputs = [\"fibre\"]\n",
            incoming.display(),
            ckpt.display()
        ),
    );
    let run = || {
        let o = common::procs::run(&["run", p.to_str().unwrap()], &[]);
        let log = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{log}");
        log
    };
    let files_read = |log: &str| log.lines().filter(|l| l.contains("DAS file read")).count();
    let log = run();
    assert_eq!(files_read(&log), 2, "{log}");
    let log = run();
    assert_eq!(files_read(&log), 0, "nothing new: {log}");
    assert!(log.contains("resuming"), "{log}");
    place(&incoming, "f002.h5", 2.0, 1.0);
    let log = run();
    assert_eq!(files_read(&log), 1, "{log}");
    assert!(
        log.contains("f002.h5") && !log.contains("gap between files"),
        "joined to f001 across the restart: {log}"
    );
    place(&incoming, "f003.h5", 4.0, 1.0);
    let log = run();
    assert!(
        log.contains("gap between files") && log.contains("f002.h5"),
        "{log}"
    );
}
