//! The bus: records/s and MB/s through the memory bus (thread to thread) and through a Kafka
//! broker on loopback (tansu, started here; the Kafka group is skipped with a note when tansu
//! is not installed), and the Arrow IPC encoding of blocks.
//!
//! `cargo bench --bench bus`

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/process.rs"]
mod process;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use seisreduce::bus::kafka::KafkaBus;
use seisreduce::bus::memory::MemoryBus;
use seisreduce::bus::{Bus, Payload, Recv};
use seisreduce::formats::arrow::{decode_chunk, encode_chunk};
use seisreduce::formats::mseed::RecordReader;
use seisreduce::model::{ChannelMeta, Chunk, SampleRate, SeedId};
use seisreduce::settings::KafkaSettings;
use seisreduce::synthetic::file::{synth_file, SynthSpec};

/// Real Steim2 records (512 bytes, realistic noise), with their stream ids.
fn records(n_channels: usize, seconds: f64) -> Vec<(String, Bytes)> {
    let (bytes, _) = synth_file(&SynthSpec {
        channels: n_channels,
        seconds,
        ..Default::default()
    })
    .unwrap();
    RecordReader::new(&bytes)
        .map(|r| {
            let r = r.unwrap();
            (r.header.sid.to_string(), Bytes::copy_from_slice(r.bytes))
        })
        .collect()
}

fn block(channels: usize, samples: usize) -> Chunk {
    Chunk {
        stream: "XX.DAS".into(),
        start: 1_735_689_600_000_000_000,
        rate: SampleRate(1000.0),
        channels: (0..channels)
            .map(|c| ChannelMeta {
                source_id: SeedId::new("XX", &format!("{c:05}"), "", "HSF").to_source_id(),
                distance_m: Some(c as f64 * 2.0),
            })
            .collect(),
        data: Array2::from_shape_fn((channels, samples), |(c, t)| {
            ((c * 31 + t * 7) % 1000) as f32
        }),
        das: None,
        units: None,
    }
}

fn memory_bus(c: &mut Criterion) {
    let recs = records(24, 600.0);
    let bytes: usize = recs.iter().map(|(_, b)| b.len()).sum();
    let mut g = c.benchmark_group("memory_bus");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function(format!("records_512B_x{}", recs.len()), |b| {
        b.iter(|| {
            let bus = MemoryBus::new(&[("a".into(), "b".into())], 64);
            let mut tx = bus.publisher("a").unwrap().unwrap();
            let mut rx = bus.subscriber("b", &["a".into()]).unwrap();
            // Only the publisher may hold the sending ends, so that its drop closes the channel.
            drop(bus);
            std::thread::scope(|s| {
                s.spawn(|| {
                    for (k, r) in &recs {
                        tx.send(k, &Payload::Record(r.clone())).unwrap();
                    }
                    drop(tx);
                });
                let mut n = 0;
                while let Recv::Message(_) = rx.recv(Duration::from_secs(5)) {
                    n += 1;
                }
                assert_eq!(n, recs.len());
            });
        })
    });
    g.finish();
    eprintln!(
        "memory_bus: {} records, {:.1} MB per iteration",
        recs.len(),
        bytes as f64 / 1e6
    );
}

fn arrow_blocks(c: &mut Criterion) {
    let chunk = block(1000, 1000);
    let mut g = c.benchmark_group("arrow_ipc");
    g.throughput(Throughput::Bytes((chunk.data.len() * 4) as u64));
    g.bench_function("encode_1000ch_x_1000", |b| {
        b.iter(|| encode_chunk(&chunk, "strain rate").unwrap())
    });
    let msg = encode_chunk(&chunk, "strain rate").unwrap();
    g.bench_function("decode_1000ch_x_1000", |b| {
        b.iter(|| decode_chunk(&msg).unwrap())
    });
    g.finish();
}

fn kafka_loopback(c: &mut Criterion) {
    // The protocol path with the broker keeping messages in memory, then tansu's durable
    // sqlite storage (whose fetches bound the consumer: a librdkafka consumer in Python reads
    // at the same rate from it).
    kafka_with(c, "memory", "memory://tansu/", 1200.0);
    kafka_with(c, "sqlite", "sqlite://broker.db", 120.0);
}

fn kafka_with(c: &mut Criterion, name: &str, storage: &str, seconds: f64) {
    let Some((_broker, address)) = process::tansu(storage) else {
        eprintln!("kafka_loopback: skipped, tansu not found (scripts/setup-kafka.sh installs it)");
        return;
    };
    let settings = KafkaSettings {
        brokers: address,
        ..Default::default()
    };
    let recs = Arc::new(records(24, seconds));
    let bytes: u64 = recs.iter().map(|(_, b)| b.len() as u64).sum();
    let mut g = c.benchmark_group(format!("kafka_loopback_{name}"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(recs.len() as u64));
    let mut round = 0;
    g.bench_function(format!("produce_then_consume_512B_x{}", recs.len()), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let pipeline = format!("bench{round}");
                let topic = seisreduce::bus::kafka::topic_name(&pipeline, "a");
                let bus = KafkaBus::connect(&settings, &pipeline, &[topic], Duration::from_secs(20)).unwrap();
                let t0 = Instant::now();
                let mut tx = bus.publisher("a").unwrap().unwrap();
                for (k, r) in recs.iter() {
                    tx.send(k, &Payload::Record(r.clone())).unwrap();
                }
                tx.flush().unwrap();
                let produced = t0.elapsed();
                let mut rx = bus.subscriber("b", &["a".into()]).unwrap();
                // Timed from the first message: joining the group is not throughput.
                let joined = Instant::now();
                let mut t1 = None;
                let mut n = 0;
                while n < recs.len() {
                    if let Recv::Message(_) = rx.recv(Duration::from_millis(500)) {
                        t1.get_or_insert_with(Instant::now);
                        n += 1;
                    }
                    assert!(joined.elapsed() < Duration::from_secs(120), "consumed {n}");
                }
                let consumed = t1.map_or(Duration::ZERO, |t| t.elapsed());
                eprintln!(
                    "kafka_loopback_{name}: produce {:.0} records/s ({:.1} MB/s), consume {:.0} records/s ({:.1} MB/s)",
                    recs.len() as f64 / produced.as_secs_f64(),
                    bytes as f64 / 1e6 / produced.as_secs_f64(),
                    recs.len() as f64 / consumed.as_secs_f64(),
                    bytes as f64 / 1e6 / consumed.as_secs_f64(),
                );
                total += produced + consumed;
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, memory_bus, arrow_blocks, kafka_loopback);
criterion_main!(benches);
