//! PPSD throughput: three hours of six realistic 100 Hz channels (a Steim2 file from
//! `seisreduce synth`, or `SEISREDUCE_BENCH_FILE`) through the `ppsd` operator with a
//! response: hour segments with 50 % overlap, each to its smoothed PSD (18 Welch sub-windows
//! of 65,536 samples), on all cores as the stage runs it. `benches/ppsd_obspy.py` times
//! ObsPy's `PPSD.add` on the same file; `benches/compare_ppsd.sh` runs both.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use num_complex::Complex;
use seisreduce::formats::mseed::assemble::read_buffer;
use seisreduce::formats::mseed::encoding::Samples;
use seisreduce::model::{ChannelMeta, Chunk};
use seisreduce::ops::ppsd::plan::{Paz, Shape};
use seisreduce::ops::ppsd::{Ppsd, Response};
use seisreduce::synthetic::file::{synth_file, SynthSpec};

/// The STS-2 of `tests/ppsd.rs` and `benches/ppsd_obspy.py`.
fn sts2() -> Paz {
    let c = Complex::new;
    Paz {
        poles: vec![
            c(-0.037004, 0.037016),
            c(-0.037004, -0.037016),
            c(-251.33, 0.0),
            c(-131.04, -467.29),
            c(-131.04, 467.29),
        ],
        zeros: vec![c(0.0, 0.0), c(0.0, 0.0)],
        normalization: 60077000.0,
        sensitivity: 2516582400.0,
    }
}

fn bench_ppsd(c: &mut Criterion) {
    let bytes = match std::env::var("SEISREDUCE_BENCH_FILE") {
        Ok(p) => std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}")),
        Err(_) => {
            let spec = SynthSpec {
                channels: 6,
                seconds: 10_800.0,
                ..SynthSpec::default()
            };
            synth_file(&spec).expect("synthetic file").0
        }
    };
    let chunks: Vec<Chunk> = read_buffer(&bytes)
        .segments
        .into_iter()
        .map(|s| {
            let x: Vec<f32> = match &s.samples {
                Samples::Int(v) => v.iter().map(|&v| v as f32).collect(),
                Samples::Float32(v) => v.clone(),
                Samples::Float64(v) => v.iter().map(|&v| v as f32).collect(),
                Samples::Text(_) => Vec::new(),
            };
            Chunk {
                stream: s.sid.to_string(),
                start: s.start,
                rate: s.rate,
                channels: vec![ChannelMeta {
                    source_id: s.sid.clone(),
                    distance_m: None,
                }],
                data: Array2::from_shape_vec((1, x.len()), x).unwrap(),
                das: None,
                units: None,
            }
        })
        .collect();
    let samples: usize = chunks.iter().map(|c| c.n_samples()).sum();
    let run = || {
        let shape = Shape {
            ppsd_length_s: 3600.0,
            overlap: 0.5,
            smoothing_width_octaves: 1.0,
            step_octaves: 0.125,
            period_limits: None,
        };
        let response = Response {
            channels: "*".into(),
            paz: sts2(),
            acceleration: true,
        };
        let mut p = Ppsd::new(shape, false, vec![response]).unwrap();
        for c in &chunks {
            p.process(c).unwrap();
        }
        p.rows()
    };
    let rows = run();
    eprintln!(
        "ppsd input: {} channels, {samples} samples: {} segments",
        chunks.len(),
        rows.len()
    );
    let mut g = c.benchmark_group("ppsd");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples as u64));
    g.bench_function("steim2_6ch_3h_hour_segments", |b| {
        b.iter(|| black_box(run()))
    });
    g.finish();
}

criterion_group!(benches, bench_ppsd);
criterion_main!(benches);
