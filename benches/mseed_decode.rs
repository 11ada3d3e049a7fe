//! miniSEED decoding throughput on a realistic Steim2 file: an hour of 24 channels at 100 Hz
//! (random walk + noise + transients, about 1.5 bytes per sample), the same file that
//! `benches/obspy_read.py` times ObsPy on (`benches/compare_obspy.sh` runs both).
//!
//! Set `SEISREDUCE_BENCH_FILE` to decode a given file instead of the generated one.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use seisreduce::formats::mseed::{
    encode, read_buffer, EncodeOptions, Encoding, RecordReader, Samples,
};
use seisreduce::synthetic::file::{synth_file, SynthSpec};

fn file_bytes() -> Vec<u8> {
    match std::env::var("SEISREDUCE_BENCH_FILE") {
        Ok(p) => std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}")),
        Err(_) => synth_file(&SynthSpec::default()).expect("synthetic file").0,
    }
}

fn bench_decode(c: &mut Criterion) {
    // As the `seisreduce` binary does at start: keep freed memory for the next file. Set
    // SEISREDUCE_DEFAULT_MALLOC=1 to measure with the C library's defaults instead.
    if std::env::var_os("SEISREDUCE_DEFAULT_MALLOC").is_none() {
        seisreduce::memory::keep_freed_memory();
    }
    let bytes = file_bytes();
    let asm = read_buffer(&bytes);
    let samples: usize = asm.segments.iter().map(|s| s.npts()).sum();
    eprintln!(
        "mseed_decode input: {} bytes, {} records, {} samples, {:.3} bytes/sample",
        bytes.len(),
        asm.records,
        samples,
        bytes.len() as f64 / samples as f64
    );
    let mut g = c.benchmark_group("mseed_decode");
    g.sample_size(20);
    g.throughput(Throughput::Elements(samples as u64));
    g.bench_function("steim2_24ch_1h_traces", |b| {
        b.iter(|| black_box(read_buffer(black_box(&bytes))))
    });
    g.bench_function("steim2_24ch_1h_records_only", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for rec in RecordReader::new(black_box(&bytes)).flatten() {
                n += rec.header.sample_count;
            }
            black_box(n)
        })
    });
    g.finish();

    let one: Vec<i32> = match &asm.segments[0].samples {
        Samples::Int(v) => v.clone(),
        _ => unreachable!("Steim decodes to integers"),
    };
    let mut g = c.benchmark_group("mseed_encode");
    g.sample_size(10);
    g.throughput(Throughput::Elements(one.len() as u64));
    for enc in [Encoding::Steim1, Encoding::Steim2] {
        let opts = EncodeOptions {
            encoding: enc,
            record_length: 4096,
            ..Default::default()
        };
        let sid = asm.segments[0].sid.clone();
        let samples = Samples::Int(one.clone());
        g.bench_function(format!("{enc}_1ch_1h"), |b| {
            b.iter(|| black_box(encode(&sid, 0, asm.segments[0].rate, &samples, &opts).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
