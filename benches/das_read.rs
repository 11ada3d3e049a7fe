//! DAS file reads: every shared vendor file read whole, and a 2,000-channel × 5 s × 1 kHz
//! PRODML file (float32 and int16, as interrogators write) read in the 1 s windows the `das`
//! source uses, into (channel, time) float32 blocks. Throughput in stored bytes per second.
//!
//! `benches/compare_das.sh` runs this and `benches/das_read_h5py.py` (h5py reading the same
//! files into the same float32 (channel, time) arrays) in one run.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use seisreduce::formats::das::prodml_write::{Acquisition, ProdmlWriter};
use seisreduce::formats::das::DasFile;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/test-data/das")
}

/// Where the synthetic files go (read again by the h5py script).
fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/das-bench");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn acquisition(channels: usize) -> Acquisition {
    Acquisition {
        start: 1_700_000_000_000_000_000,
        rate_hz: 1000.0,
        channels,
        start_locus: 0,
        spacing_m: 1.0,
        gauge_length_m: 10.0,
    }
}

/// Deterministic noise, (time, channel).
fn noise(rows: usize, channels: usize) -> Array2<f32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    Array2::from_shape_fn((rows, channels), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2000.0
    })
}

fn synthetic(channels: usize, seconds: usize) -> (PathBuf, PathBuf) {
    let f32_path = scratch().join(format!("prodml_{channels}ch_f32.h5"));
    let i16_path = scratch().join(format!("prodml_{channels}ch_i16.h5"));
    let mut w = ProdmlWriter::<f32>::create(&f32_path, acquisition(channels)).unwrap();
    let mut v = ProdmlWriter::<i16>::create(&i16_path, acquisition(channels)).unwrap();
    for _ in 0..seconds {
        let b = noise(1000, channels);
        w.append(b.view()).unwrap();
        v.append(b.mapv(|x| x as i16).view()).unwrap();
    }
    (f32_path, i16_path)
}

fn stored_bytes(f: &DasFile) -> u64 {
    let size = if f.info.dtype.ends_with("16") {
        2
    } else if f.info.dtype.ends_with("64") {
        8
    } else {
        4
    };
    (f.info.n_time * f.info.n_distance * size) as u64
}

fn read_in_windows(f: &DasFile, rows: usize) -> f32 {
    let (nt, nx) = (f.info.n_time, f.info.n_distance);
    let mut acc = 0.0;
    for t in (0..nt).step_by(rows) {
        let b = f.read(t..(t + rows).min(nt), 0..nx).unwrap();
        acc += b[[0, 0]];
    }
    acc
}

fn bench(c: &mut Criterion) {
    // As the `seisreduce` binary does (see `memory.rs`): reuse freed blocks.
    seisreduce::memory::keep_freed_memory();
    let mut g = c.benchmark_group("das_read");
    g.sample_size(10);
    let mut files: Vec<(String, PathBuf, usize)> = [
        "iDAS005_hdf5_example.626.h5",
        "prodml_2.0.h5",
        "terra15_v5_test_file.hdf5",
        "decimated_optodas.hdf5",
        "valencia_febus_example.h5",
    ]
    .iter()
    .map(|n| (n.to_string(), shared().join(n), usize::MAX))
    .collect();
    let (f32_path, i16_path) = synthetic(2000, 5);
    files.push(("prodml_2000ch_f32 (1 s windows)".into(), f32_path, 1000));
    files.push(("prodml_2000ch_i16 (1 s windows)".into(), i16_path, 1000));
    for (name, path, window) in files {
        let f = DasFile::open(&path).unwrap();
        g.throughput(Throughput::Bytes(stored_bytes(&f)));
        let rows = window.min(f.info.n_time);
        g.bench_function(name, |b| b.iter(|| read_in_windows(&f, rows)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
