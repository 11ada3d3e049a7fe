//! Station quality throughput: an hour of 24 channels at 100 Hz in 512-byte Steim2 records
//! (the `mseed_decode` bench's file) through the `quality` operator's windows, hour windows,
//! every record decoded, its flags, coverage and exact value counts kept, rows made at the end.
//! `benches/quality_obspy.py` times ObsPy's `MSEEDMetadata` on the same file and windows;
//! `benches/compare_quality.sh` runs both.
//!
//! Set `SEISREDUCE_BENCH_FILE` to use a given file instead of the generated one.

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
    let run = || {
        let mut q = Quality::new(3600 * S, 300 * S);
        let (mut rows, mut notes) = (Vec::new(), Notes::default());
        for (stream, raw) in &records {
            let rec = RecordReader::new(raw).next().unwrap().unwrap();
            q.record(stream, &rec, now, &mut rows, &mut notes).unwrap();
        }
        q.flush(now, &mut rows, &mut notes);
        rows
    };
    let rows = run();
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
    g.bench_function("steim2_24ch_1h_hour_windows", |b| {
        b.iter(|| black_box(run()))
    });
    g.finish();
}

criterion_group!(benches, bench_quality);
criterion_main!(benches);
