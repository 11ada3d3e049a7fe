//! The `zarr` sink: sustained streaming write of a 1000-channel float32 (channel, time) array
//! (blocks arriving one after another, as from a DAS interrogator), and the compression ratios
//! of zstd, pcodec and Steim2 on the same real recording.
//!
//! `benches/compare_zarr.sh` runs this and `benches/zarr_python_write.py` (zarr-python writing
//! the same array, from the same bytes, with the same chunks, shards and codec).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ndarray::Array2;
use seisreduce::bus::{Message, Payload};
use seisreduce::formats::mseed::{read_buffer, Samples};
use seisreduce::model::{ChannelMeta, Chunk, SampleRate, SeedId};
use seisreduce::settings::StorageSettings;
use seisreduce::sinks::zarr::layout::Layout;
use seisreduce::sinks::zarr::{ZarrConfig, ZarrSink};
use seisreduce::sinks::Sink;
use seisreduce::synthetic::{channel, NoiseModel};
use seisreduce::telemetry::metrics::{process_usage, Metrics};

const CHANNELS: usize = 1000;
const BLOCK: usize = 4096;
const BLOCKS: usize = 16;
/// The sink takes the input this many times, one after the other in time (eight shard
/// columns): a sink runs for hours, so what is measured is the steady state, with column
/// buffers reused and a run's fixed costs a small share as they are over hours (the first
/// chunks wait for every channel; after the last block, the last column's encoding, its writes
/// and the fsync). With two passes those were a tenth of the time.
const PASSES: usize = 4;

/// Realistic noise (the synthetic stations' model), channels × time, as float32 counts.
fn input() -> Array2<f32> {
    let t = BLOCK * BLOCKS;
    let mut a = Array2::zeros((CHANNELS, t));
    for (c, mut row) in a.rows_mut().into_iter().enumerate() {
        let v = channel(t, 1000.0, c as u64, &NoiseModel::default());
        row.iter_mut().zip(v).for_each(|(o, s)| *o = s as f32);
    }
    a
}

fn sink(root: &Path, codec: &str) -> ZarrSink {
    let cfg: ZarrConfig = toml::from_str(&format!(
        "path = \"{codec}.zarr\"\ncodec = \"{codec}\"\nchunk = [16, 4096]\nshard = [256, 32768]\norigin = \"first\""
    ))
    .unwrap();
    let storage = StorageSettings {
        root: root.to_path_buf(),
        ..Default::default()
    };
    let metrics = Metrics::new("bench").stage("zarr");
    ZarrSink::open(
        &cfg,
        &storage,
        "das".into(),
        serde_json::json!({}),
        None,
        metrics,
    )
    .unwrap()
}

fn blocks(data: &Array2<f32>, meta: &[ChannelMeta]) -> Vec<Message> {
    (0..BLOCKS * PASSES)
        .map(|b| {
            let start = 1_735_689_600_000_000_000 + (b * BLOCK) as i64 * 1_000_000;
            let c = Chunk {
                stream: "XX.DAS".into(),
                start,
                rate: SampleRate(1000.0),
                channels: meta.to_vec(),
                data: data
                    .slice(ndarray::s![
                        ..,
                        (b % BLOCKS) * BLOCK..(b % BLOCKS + 1) * BLOCK
                    ])
                    .to_owned(),
                das: None,
                units: None,
            };
            Message {
                key: "XX.DAS".into(),
                payload: Payload::Block(Arc::new(c)),
                position: None,
            }
        })
        .collect()
}

/// Removes the store an earlier run wrote (not timed: it is not the sink's work).
fn clear(root: &Path, codec: &str) {
    let _ = std::fs::remove_dir_all(root.join(format!("{codec}.zarr")));
}

fn write_all(root: &Path, codec: &str, msgs: &[Message]) {
    let mut s = sink(root, codec);
    for m in msgs {
        s.write(m).unwrap();
    }
    s.sync().unwrap();
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        dir_size(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// zstd, pcodec and Steim2 on one real DAS channel (GEOFON HSF, 1 kHz, Steim2 as archived).
fn ratios_on_real_data() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/test-data/das/geofon_9N_HSF.mseed");
    let Ok(bytes) = std::fs::read(&file) else {
        eprintln!("(no {}: ratios skipped)", file.display());
        return;
    };
    let a = read_buffer(&bytes);
    let seg = &a.segments[0];
    let Samples::Int(v) = &seg.samples else {
        return;
    };
    let raw = (v.len() * 4) as f64;
    eprintln!(
        "compression on {} ({} samples): Steim2 {:.2}x",
        file.file_name().unwrap().to_string_lossy(),
        v.len(),
        raw / bytes.len() as f64
    );
    let dir = tempfile::tempdir().unwrap();
    let c = Chunk {
        stream: seg.sid.as_str().into(),
        start: seg.start,
        rate: seg.rate,
        channels: vec![ChannelMeta {
            source_id: seg.sid.clone(),
            distance_m: None,
        }],
        data: Array2::from_shape_vec((1, v.len()), v.iter().map(|&s| s as f32).collect()).unwrap(),
        das: None,
        units: None,
    };
    let m = Message {
        key: "x".into(),
        payload: Payload::Block(Arc::new(c)),
        position: None,
    };
    for codec in ["zstd", "blosc", "pcodec"] {
        let cfg: ZarrConfig = toml::from_str(&format!(
            "path = \"{codec}.zarr\"\ncodec = \"{codec}\"\nchunk = [1, 65536]\nshard = [1, 1048576]\norigin = \"first\""
        ))
        .unwrap();
        let storage = StorageSettings {
            root: dir.path().to_path_buf(),
            ..Default::default()
        };
        let mut s = ZarrSink::open(
            &cfg,
            &storage,
            "hsf".into(),
            serde_json::json!({}),
            None,
            Metrics::new("b").stage("z"),
        )
        .unwrap();
        s.write(&m).unwrap();
        s.sync().unwrap();
        let stored = dir_size(&dir.path().join(format!("{codec}.zarr/hsf/c")));
        eprintln!(
            "compression on the same samples: zarr {codec} {:.2}x (float32 in)",
            raw / stored as f64
        );
    }
}

/// The codec alone on every core: the same 16 × 4096 chunks (the sink's inner chunks, the
/// last channel row padded with NaN as the sink pads it) encoded with the same codec chain
/// into memory, one chunk per task. What the sink's MB/s is measured against.
fn codec_alone(data: &Array2<f32>, codec: &str) -> f64 {
    use rayon::prelude::*;
    let cfg: ZarrConfig = toml::from_str(&format!(
        "path = \"x.zarr\"\ncodec = \"{codec}\"\nchunk = [16, 4096]\nshard = []\norigin = \"first\""
    ))
    .unwrap();
    let layout = Layout::from_config(&cfg).unwrap();
    let (rows, cols) = data.dim();
    let meta = layout.data_array([rows as u64, cols as u64], serde_json::json!({}));
    let store = Arc::new(zarrs::storage::store::MemoryStore::new());
    let array =
        zarrs::array::Array::new_with_metadata(store, "/x", serde_json::from_value(meta).unwrap())
            .unwrap();
    let chunks: Vec<([u64; 2], Vec<f32>)> = (0..rows.div_ceil(16))
        .flat_map(|r| (0..cols / 4096).map(move |t| (r, t)))
        .map(|(r, t)| {
            let mut v = vec![f32::NAN; 16 * 4096];
            for i in 0..16.min(rows - r * 16) {
                let row = data.row(r * 16 + i);
                v[i * 4096..(i + 1) * 4096]
                    .copy_from_slice(&row.as_slice().unwrap()[t * 4096..(t + 1) * 4096]);
            }
            ([r as u64, t as u64], v)
        })
        .collect();
    let opts = zarrs::array::CodecOptions::default().with_concurrent_target(1);
    let t = Instant::now();
    chunks.par_iter().for_each(|(idx, v)| {
        array.store_chunk_opt(idx, v.as_slice(), &opts).unwrap();
    });
    (data.len() * 4) as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// CPU time the process has used (user and system, every thread), in seconds: what
/// `/metrics` serves as `process_cpu_seconds_total` (0 where `/proc` is not there).
fn cpu_seconds() -> f64 {
    process_usage().map_or(0.0, |(_, cpu)| cpu)
}

fn zarr_write(c: &mut Criterion) {
    ratios_on_real_data();
    let data = input();
    // The same bytes for zarr-python (benches/zarr_python_write.py).
    let dump = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zarr-bench-input.f32");
    let flat: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&dump, flat).unwrap();
    eprintln!(
        "input for zarr_python_write.py: {} ({CHANNELS} x {})",
        dump.display(),
        BLOCK * BLOCKS
    );
    let meta: Vec<ChannelMeta> = (0..CHANNELS)
        .map(|c| ChannelMeta {
            source_id: SeedId::new("XX", &format!("{c:05}"), "", "HSF").to_source_id(),
            distance_m: Some(c as f64 * 2.0),
        })
        .collect();
    let msgs = blocks(&data, &meta);
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("zarr_write");
    g.sample_size(10);
    g.throughput(Throughput::Bytes((data.len() * 4 * PASSES) as u64));
    for codec in ["zstd", "blosc", "pcodec"] {
        g.bench_function(format!("{CHANNELS}ch_x_{}_{codec}", BLOCK * BLOCKS), |b| {
            b.iter_batched(
                || clear(dir.path(), codec),
                |_| write_all(dir.path(), codec, &msgs),
                BatchSize::PerIteration,
            )
        });
        // Best of five each, the codec alone and the sink taking turns (this machine's noise
        // is larger than the difference measured).
        // With the cores the sink kept busy in its best run (the process's CPU time over the
        // run's wall time): below the thread count, the encoders waited for work.
        let (mut alone, mut sink_mb, mut cores) = (0f64, 0f64, 0f64);
        for _ in 0..5 {
            alone = alone.max(codec_alone(&data, codec));
            clear(dir.path(), codec);
            let (t, cpu) = (Instant::now(), cpu_seconds());
            write_all(dir.path(), codec, &msgs);
            let wall = t.elapsed().as_secs_f64();
            let mb = (data.len() * 4 * PASSES) as f64 / wall / 1e6;
            if mb > sink_mb {
                (sink_mb, cores) = (mb, (cpu_seconds() - cpu) / wall);
            }
        }
        let stored = dir_size(&dir.path().join(format!("{codec}.zarr")));
        eprintln!(
            "{codec}: sink {sink_mb:.0} MB/s of samples ({cores:.2} cores busy), ratio {:.2}x; the codec alone on {} threads {alone:.0} MB/s: the sink at {:.0} % of it",
            (data.len() * 4 * PASSES) as f64 / stored as f64,
            rayon::current_num_threads(),
            100.0 * sink_mb / alone
        );
    }
    g.finish();
}

criterion_group!(benches, zarr_write);
criterion_main!(benches);
