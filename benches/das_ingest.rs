//! Sustained ingest of a synthetic interrogator: 10,000 channels × 1 kHz, int16 counts, as
//! PRODML files of 1 s each in a folder, read by the `das` source of the real binary
//! (`seisreduce run`) into a `null` sink, then again through a ×10 anti-alias decimation, and
//! through the decimation into Zarr v3 (zstd): the analysis-ready product.
//! Prints how many times faster than real time each ran and the process's resident memory
//! sampled over the run (flat: nothing accumulates with the amount of data).
//!
//! `cargo bench --bench das_ingest` (60 s of data, 1.2 GB); under `cargo test` it runs once
//! on a small stream as a smoke test.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[path = "common/process.rs"]
mod process;

use ndarray::Array2;
use seisreduce::formats::das::prodml_write::{Acquisition, ProdmlWriter};

fn write_stream(dir: &Path, channels: usize, seconds: usize, rate: f64) {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for k in 0..seconds {
        let acq = Acquisition {
            start: 1_700_000_000_000_000_000 + k as i64 * 1_000_000_000,
            rate_hz: rate,
            channels,
            start_locus: 0,
            spacing_m: 1.0,
            gauge_length_m: 10.0,
        };
        let mut w = ProdmlWriter::<i16>::create(&dir.join(format!("das_{k:05}.h5")), acq).unwrap();
        let rows = rate as usize;
        let block = Array2::from_shape_fn((rows, channels), |_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 52) as i16 - 2048
        });
        w.append(block.view()).unwrap();
    }
}

/// Runs the pipeline; returns (wall seconds, RSS samples in MiB).
fn run(dir: &Path, operators: &str, sink: &str) -> (f64, Vec<f64>) {
    let pipeline = dir.join("ingest.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[pipeline]\nname = \"ingest\"\nbus = \"memory\"\n\n[sources.fibre]\ntype = \"das\"\npath = \"{}\"\npattern = \"das_*.h5\"\nchunk_s = 1.0\n\n{operators}\n{sink}\n",
            dir.join("stream").display()
        ),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(dir.join("out"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seisreduce"));
    cmd.args(["run", pipeline.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .env("SEISREDUCE_STORAGE_ROOT", dir.join("out"))
        .stderr(std::process::Stdio::null());
    process::run_sampled(cmd, "ingest pipeline")
}

fn report(what: &str, seconds: usize, channels: usize, wall: f64, rss: &[f64]) {
    let x = seconds as f64 / wall;
    let mb = (seconds * channels * 1000 * 2) as f64 / wall / 1e6;
    println!(
        "{what}: {seconds} s of {channels} ch x 1 kHz in {wall:.2} s = {x:.1}x real time ({mb:.0} MB/s of int16); RSS MiB by fifths of the run: {} {}",
        process::fifths(rss),
        if x >= 10.0 { "(>= 10x: OK)" } else { "(BELOW the 10x target)" }
    );
}

const NULL: &str = "[sinks.out]\ntype = \"null\"\ninputs = [\"fibre\"]\n";
const DECIMATE: &str = "[operators.low]\ntype = \"decimate\"\ninputs = [\"fibre\"]\nfactor = 10\n";
const NULL_LOW: &str = "[sinks.out]\ntype = \"null\"\ninputs = [\"low\"]\n";
/// The analysis-ready product: the decimated array as Zarr v3 with zstd, 100 Hz, in chunks
/// of 16 channels × 10 s and shards of 256 channels × 20 s (a shard column of all 10,000
/// channels, 82 MB here, is what the sink holds in memory while it fills).
const ZARR_LOW: &str = "[sinks.out]\ntype = \"zarr\"\ninputs = [\"low\"]\npath = \"fibre.zarr\"\ncodec = \"zstd\"\norigin = \"first\"\nchunk = [16, 1000]\nshard = [256, 2000]\n";

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (channels, seconds) = if full { (10_000, 60) } else { (200, 3) };
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("stream");
    std::fs::create_dir(&stream).unwrap();
    let t = Instant::now();
    write_stream(&stream, channels, seconds, 1000.0);
    println!(
        "wrote {seconds} files of 1 s x {channels} channels in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Warm the page cache so the first run is not charged for the disk.
    let (wall, rss) = run(dir.path(), "", NULL);
    if full {
        let (wall, rss) = run(dir.path(), "", NULL);
        report("das -> null", seconds, channels, wall, &rss);
        let (wall, rss) = run(dir.path(), DECIMATE, NULL_LOW);
        report("das -> decimate x10 -> null", seconds, channels, wall, &rss);
        let (wall, rss) = run(dir.path(), DECIMATE, ZARR_LOW);
        report(
            "das -> decimate x10 -> zarr (zstd)",
            seconds,
            channels,
            wall,
            &rss,
        );
    } else {
        report("smoke: das -> null", seconds, channels, wall, &rss);
        let (wall, rss) = run(dir.path(), DECIMATE, ZARR_LOW);
        report(
            "smoke: das -> decimate x10 -> zarr",
            seconds,
            channels,
            wall,
            &rss,
        );
        assert!(dir.path().join("out/fibre.zarr/zarr.json").exists());
    }
}
