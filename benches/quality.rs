//! Station quality throughput: an hour of 24 channels at 100 Hz in 512-byte Steim2 records
//! (the `mseed_decode` bench's file) through the `quality` operator's windows, hour windows,
//! every record decoded, its flags, coverage and exact value counts kept, rows made at the end.
//! `benches/quality_obspy.py` times ObsPy's `MSEEDMetadata` on the same file and windows;
//! `benches/compare_quality.sh` runs both.
//!
//! Set `SEISREDUCE_BENCH_FILE` to use a given file instead of the generated one.
//!
//! `rsam`: the RSAM operator on 700 stations x 3 channels x 100 Hz.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use seisreduce::formats::mseed::RecordReader;
use seisreduce::ops::quality::{Notes, Quality};
use seisreduce::synthetic::file::{synth_file, SynthSpec};

const S: i64 = 1_000_000_000;

fn bench_quality(c: &mut Criterion) {
    let bytes = match std::env::var("SEISREDUCE_BENCH_FILE") {
        Ok(p) => std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}")),
        Err(_) => synth_file(&SynthSpec::default()).expect("synthetic file").0,
    };
    let records: Vec<(String, &[u8])> = RecordReader::new(&bytes)
        .flatten()
        .map(|r| (r.header.sid.to_string(), r.bytes))
        .collect();
    let samples: usize = RecordReader::new(&bytes)
        .flatten()
        .map(|r| r.header.sample_count)
        .sum();
    let now = 1_800_000_000 * S;
    let run = |spikes: bool| {
        let mut q = Quality::new(3600 * S, 300 * S).with_spikes(spikes);
        let (mut rows, mut notes) = (Vec::new(), Notes::default());
        for (stream, raw) in &records {
            let rec = RecordReader::new(raw).next().unwrap().unwrap();
            q.record(stream, &rec, now, &mut rows, &mut notes).unwrap();
        }
        q.flush(now, &mut rows, &mut notes);
        rows
    };
    let rows = run(true);
    eprintln!(
        "quality input: {} records, {samples} samples, {} streams: {} rows",
        records.len(),
        rows.iter()
            .map(|r| &r.stream)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        rows.len()
    );
    let mut g = c.benchmark_group("quality");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples as u64));
    // ObsPy's metrics (MSEEDMetadata has no spike count), then with MUSTANG's num_spikes.
    g.bench_function("steim2_24ch_1h_hour_windows", |b| {
        b.iter(|| black_box(run(false)))
    });
    g.bench_function("steim2_24ch_1h_hour_windows_with_spikes", |b| {
        b.iter(|| black_box(run(true)))
    });
    g.finish();
}

/// RSAM on a large network: 700 stations x 3 channels at 100 Hz in 1 s blocks, 1-minute
/// windows; the share of one core it needs is real-time samples/s over its throughput.
fn bench_rsam(c: &mut Criterion) {
    use ndarray::Array2;
    use seisreduce::model::{ChannelMeta, Chunk, SampleRate, SourceId};
    use seisreduce::ops::rsam::Rsam;
    use seisreduce::ops::{Operator, Output};
    let (streams, seconds, rate) = (2100usize, 180i64, 100usize);
    let t0 = 1_735_689_600 * S;
    let mut r = seisreduce::synthetic::signal::Rng::new(9);
    let blocks: Vec<Chunk> = (0..seconds)
        .flat_map(|sec| (0..streams).map(move |k| (sec, k)))
        .map(|(sec, k)| Chunk {
            stream: format!("XX.S{:03}..HH{}", k / 3, ["Z", "N", "E"][k % 3]),
            start: t0 + sec * S,
            rate: SampleRate(rate as f64),
            channels: vec![ChannelMeta {
                source_id: SourceId::from_codes("XX", &format!("S{:03}", k / 3), "", "HHZ"),
                distance_m: None,
            }],
            data: Array2::from_shape_fn((1, rate), |_| (r.normal() * 100.0) as f32),
            das: None,
            units: None,
        })
        .collect();
    let samples = blocks.len() * rate;
    let mut g = c.benchmark_group("rsam");
    g.sample_size(10);
    g.throughput(Throughput::Elements(samples as u64));
    g.bench_function("700x3ch_100hz_1min_windows", |b| {
        b.iter_batched(
            || blocks.clone(),
            |blocks| {
                let mut op = Rsam::new(60, 0.5).unwrap();
                let mut out = Output::default();
                for blk in blocks {
                    op.process(blk, &mut out);
                }
                op.flush(&mut out);
                black_box(out.chunks.len())
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
    eprintln!(
        "rsam: real time is {} samples/s ({streams} channels x {rate} Hz)",
        streams * rate
    );
}

criterion_group!(benches, bench_quality, bench_rsam);
criterion_main!(benches);
