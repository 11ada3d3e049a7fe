//! Ambient-noise correlation throughput. `benches/compare_xcorr.sh` runs NoisePy on the same
//! workload in the same run (`benches/xcorr_noisepy.py`).
//!
//! - `network`: 24 channels, 4 h at 100 Hz, all 276 pairs, cc_len 1800 s, step 450 s, maxlag
//!   200 s, linear daily stack, NoisePy's whitening: the whole operator, blocks of 60 s in;
//!   and the FFT work alone (every window's forward transform and every pair's inverse), to
//!   say how close the operator gets to it. Run with `RAYON_NUM_THREADS=1` for one core.
//! - `das_virtual_source`: 5,000 channels at 250 Hz against one source, 60 s windows, hourly
//!   stacks, 1 s blocks: × real time on all cores.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use realfft::RealFftPlanner;
use seisreduce::model::{ChannelMeta, Chunk, SampleRate, SeedId};
use seisreduce::ops::xcorr::params::Mode;
use seisreduce::ops::xcorr::{Plan, Xcorr, XcorrConfig};
use seisreduce::synthetic::signal::Rng;

/// 2024-03-01T00:00:00Z.
const T0: i64 = 1_709_251_200_000_000_000;

fn noise(channels: usize, n: usize, seed: u64) -> Array2<f32> {
    let mut r = Rng::new(seed);
    let common: Vec<f32> = (0..n + 1000).map(|_| r.normal() as f32).collect();
    Array2::from_shape_fn((channels, n), |(c, i)| {
        common[i + 1000 - (c * 37) % 1000] + 0.5 * ((i * 7919 + c * 104_729) % 1000) as f32 / 500.0
    })
}

fn blocks(data: &Array2<f32>, rate: f64, block_s: f64, ids: &[ChannelMeta]) -> Vec<Chunk> {
    let len = (block_s * rate) as usize;
    (0..data.ncols() / len)
        .map(|b| Chunk {
            stream: "bench".into(),
            start: T0 + (b as f64 * block_s * 1e9) as i64,
            rate: SampleRate(rate),
            channels: ids.to_vec(),
            data: data
                .slice(ndarray::s![.., b * len..(b + 1) * len])
                .to_owned(),
            das: None,
            units: None,
        })
        .collect()
}

fn ids(n: usize, cha: &str) -> Vec<ChannelMeta> {
    (0..n)
        .map(|i| ChannelMeta {
            source_id: SeedId::new("XX", &format!("S{i:04}"), "00", cha).to_source_id(),
            distance_m: None,
        })
        .collect()
}

fn network(c: &mut Criterion) {
    let rate = 100.0;
    let hours = 4.0;
    let n = (hours * 3600.0 * rate) as usize;
    let data = noise(24, n, 1);
    let chans = ids(24, "HHZ");
    let input = blocks(&data, rate, 60.0, &chans);
    let cfg = XcorrConfig::default();
    let mut g = c.benchmark_group("xcorr");
    g.sample_size(10);
    g.throughput(Throughput::Elements((24 * n) as u64));
    let mut pair_windows = 0;
    g.bench_function("network_24ch_4h_100Hz_all_pairs", |b| {
        b.iter(|| {
            let mut x = Xcorr::<f32>::new(&cfg, "bench").unwrap();
            let mut out = Vec::new();
            for blk in &input {
                x.push(blk, &mut out).unwrap();
            }
            x.finish(&mut out);
            pair_windows = x.pair_windows();
            out
        })
    });
    eprintln!("network: {pair_windows} pair-windows per run");
    // The FFT work alone: each channel's window forward, each pair's period inverse.
    let plan = Plan::<f32>::new(&cfg, rate).unwrap();
    let windows = ((hours * 3600.0 - cfg.cc_len_s) / cfg.step_s) as usize + 1;
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(plan.nfft);
    let inv = planner.plan_fft_inverse(plan.nfft);
    let (mut t, mut s) = (fwd.make_input_vec(), fwd.make_output_vec());
    let mut scratch = fwd.make_scratch_vec();
    let mut iscratch = inv.make_scratch_vec();
    g.bench_function("network_fft_work_alone", |b| {
        b.iter(|| {
            for _ in 0..24 * windows {
                t.iter_mut().for_each(|v| *v = 1.0);
                fwd.process_with_scratch(&mut t, &mut s, &mut scratch)
                    .unwrap();
            }
            for _ in 0..276 {
                s[0].im = 0.0;
                let last = s.len() - 1;
                s[last].im = 0.0;
                inv.process_with_scratch(&mut s, &mut t, &mut iscratch)
                    .unwrap();
            }
        })
    });
    g.finish();
}

fn das_virtual_source(c: &mut Criterion) {
    let rate = 250.0;
    let channels = 5000;
    let seconds = 180.0;
    // A 10 s pool of noise, cycled: the arithmetic is the same whatever the samples.
    let pool = noise(channels, (10.0 * rate) as usize, 2);
    let chans: Vec<ChannelMeta> = (0..channels)
        .map(|i| ChannelMeta {
            source_id: SeedId::new("XX", &format!("{i:05}"), "", "HSF").to_source_id(),
            distance_m: Some(i as f64 * 2.0),
        })
        .collect();
    let per = rate as usize;
    let input: Vec<Chunk> = (0..seconds as usize)
        .map(|s| Chunk {
            stream: "fibre".into(),
            start: T0 + s as i64 * 1_000_000_000,
            rate: SampleRate(rate),
            channels: chans.clone(),
            data: pool
                .slice(ndarray::s![.., (s % 10) * per..(s % 10 + 1) * per])
                .to_owned(),
            das: None,
            units: None,
        })
        .collect();
    let cfg = XcorrConfig {
        cc_len_s: 60.0,
        step_s: 60.0,
        maxlag_s: 2.0,
        freqmin: 1.0,
        freqmax: 50.0,
        mode: Mode::Sources,
        sources: vec![chans[2500].source_id.to_string()],
        substacks: vec!["1h".into()],
        ..XcorrConfig::default()
    };
    let mut g = c.benchmark_group("xcorr");
    g.sample_size(10);
    g.throughput(Throughput::Elements(
        (channels as f64 * seconds * rate) as u64,
    ));
    g.bench_function("das_virtual_source_5000ch_250Hz_180s", |b| {
        b.iter(|| {
            let mut x = Xcorr::<f32>::new(&cfg, "bench").unwrap();
            let mut out = Vec::new();
            for blk in &input {
                x.push(blk, &mut out).unwrap();
            }
            x.finish(&mut out);
            out
        })
    });
    g.finish();
}

criterion_group!(benches, network, das_virtual_source);
criterion_main!(benches);
