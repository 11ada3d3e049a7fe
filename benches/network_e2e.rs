//! A seismic network end to end through the real binary: 700 stations × 3 channels × 100 Hz
//! of Steim2 miniSEED (512-byte records, as archives hold them) → decode → anti-alias
//! decimation ÷5 → an SDS miniSEED archive and a Zarr v3 array (zstd), on the memory bus in one
//! process; then the same over Kafka (tansu, memory storage) with ingest and reduction in
//! separate processes, as deployed.
//!
//! Reports each as times real time and MB/s of miniSEED, with the resident memory sampled over
//! the run. `cargo bench --bench network_e2e` (20 minutes of data, ≈ 400 MB); under
//! `cargo test` a few stations for a minute, as a smoke test. The Kafka run is skipped, with a
//! note, when tansu is not installed (`scripts/setup-kafka.sh`).

#[path = "common/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use seisreduce::synthetic::file::{synth_file, SynthSpec};

/// Stations per file: one file per group, records of each channel together, as an FDSN
/// dataselect answer or a day file holds them.
const STATIONS_PER_FILE: usize = 25;

struct Input {
    dir: PathBuf,
    seconds: f64,
    channels: usize,
    records: u64,
    bytes: u64,
}

/// Writes `stations` stations of synthetic noise with events, two files at a time.
fn write_input(dir: &Path, stations: usize, seconds: f64) -> Input {
    let files = stations.div_ceil(STATIONS_PER_FILE);
    std::fs::create_dir_all(dir).unwrap();
    let sizes: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                s.spawn(move || {
                    let mut bytes = 0;
                    for f in (t..files).step_by(2) {
                        let n = STATIONS_PER_FILE.min(stations - f * STATIONS_PER_FILE);
                        let prefix: String = [b'A' + (f / 26) as u8, b'A' + (f % 26) as u8]
                            .map(char::from)
                            .iter()
                            .collect();
                        let spec = SynthSpec {
                            station_prefix: prefix,
                            channels: 3 * n,
                            seconds,
                            seed: 1000 * f as u64,
                            ..Default::default()
                        };
                        let (data, _) = synth_file(&spec).unwrap();
                        bytes += data.len() as u64;
                        std::fs::write(dir.join(format!("net_{f:03}.mseed")), data).unwrap();
                    }
                    bytes
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let bytes: u64 = sizes.iter().sum();
    Input {
        dir: dir.to_path_buf(),
        seconds,
        channels: 3 * stations,
        records: bytes / 512,
        bytes,
    }
}

fn pipeline(dir: &Path, input: &Input, bus: &str) -> PathBuf {
    let p = dir.join(format!("network-{bus}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"[pipeline]
name = "network-{bus}"
bus = "{bus}"

[sources.ingest]
type = "mseed"
path = "{}"
progress = false

[operators.decode]
type = "decode"
inputs = ["ingest"]

[operators.low]
type = "decimate"
inputs = ["decode"]
factor = 5

[sinks.archive]
type = "mseed"
inputs = ["low"]
path = "archive"

[sinks.array]
type = "zarr"
inputs = ["low"]
path = "network.zarr"
codec = "zstd"
origin = "first"
"#,
            input.dir.display()
        ),
    )
    .unwrap();
    p
}

fn binary(pipeline: &Path, root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_seisreduce"));
    c.args(["run", pipeline.to_str().unwrap()])
        .env("SEISREDUCE_STORAGE_ROOT", root)
        .env("SEISREDUCE_LOG_LEVEL", "warn,librdkafka=off,rdkafka=off")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn report(what: &str, input: &Input, wall: f64, rss: &str, target: f64) {
    let x = input.seconds / wall;
    println!(
        "{what}: {:.0} s of {} ch x 100 Hz ({:.0} MB of Steim2) in {wall:.2} s = {x:.0}x real time ({:.0} MB/s of miniSEED, {:.0} M samples/s); RSS MiB by fifths: {rss} {}",
        input.seconds,
        input.channels,
        input.bytes as f64 / 1e6,
        input.bytes as f64 / wall / 1e6,
        input.seconds * 100.0 * input.channels as f64 / wall / 1e6,
        if target == 0.0 {
            String::new()
        } else if x >= target {
            format!("(>= {target}x: OK)")
        } else {
            format!("(BELOW the {target}x target)")
        }
    );
}

/// The same records as one file in time order (ties in file order): what a SeedLink feed of
/// the whole network delivers, every channel's records interleaved.
fn in_time_order(input: &Input, dir: &Path) -> Input {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&input.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let bytes: Vec<u8> = files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    std::fs::create_dir_all(dir).unwrap();
    let records = seisreduce::synthetic::file::in_time_order(&bytes).unwrap();
    std::fs::write(dir.join("network.mseed"), records).unwrap();
    Input {
        dir: dir.to_path_buf(),
        ..*input
    }
}

fn memory_run(dir: &Path, input: &Input, run: &str, target: f64) {
    // A fresh root per run, nothing deleted before the end: ext4 without a journal skips the
    // inodes freed in the last half minute when it creates files, and an archive's first day
    // creates thousands (a just-emptied file system is not where an archive lives).
    let root = dir.join(format!("memory-root-{run}"));
    let p = pipeline(dir, input, "memory");
    let (wall, rss) = process::run_sampled(binary(&p, &root), "network pipeline");
    let what = if run == "by-time" {
        "network in time order (as in real time), memory bus, one process"
    } else {
        "network, memory bus, one process"
    };
    report(what, input, wall, &process::fifths(&rss), target);
    assert!(root.join("network.zarr/zarr.json").exists());
    assert!(root.join("archive").exists());
}

fn kafka_run(dir: &Path, input: &Input) {
    let Some((_broker, address)) = process::tansu("memory://tansu/") else {
        println!(
            "network over Kafka: skipped, tansu not found (scripts/setup-kafka.sh installs it)"
        );
        return;
    };
    let p = pipeline(dir, input, "kafka");
    let start = |stages: &str, root: &str, metrics: u16| {
        let mut c = binary(&p, &dir.join(root));
        c.args(["--stages", stages])
            .env("SEISREDUCE_KAFKA_BROKERS", &address)
            .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{metrics}"));
        process::Killed(c.spawn().unwrap())
    };
    let t0 = Instant::now();
    let mut ingest = start("ingest", "kafka-ingest", process::free_port());
    let reduce_metrics = process::free_port();
    let mut reduce = start("decode,low,archive,array", "kafka-reduce", reduce_metrics);
    let (mut rss_in, mut rss_red) = (Vec::new(), Vec::new());
    let mut ingest_wall = None;
    loop {
        if ingest_wall.is_none() {
            if let Some(st) = ingest.0.try_wait().unwrap() {
                assert!(st.success(), "the ingest process failed: {st}");
                ingest_wall = Some(t0.elapsed().as_secs_f64());
            } else {
                process::sample(&ingest.0, &mut rss_in);
            }
        }
        process::sample(&reduce.0, &mut rss_red);
        assert!(
            reduce.0.try_wait().unwrap().is_none(),
            "the reduce process ended early"
        );
        let taken = process::counter(
            reduce_metrics,
            "seisreduce_records_in_total",
            "stage=\"decode\"",
        )
        .unwrap_or(0.0);
        if taken as u64 >= input.records {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(1800),
            "the reduction did not catch up: {taken} of {} records",
            input.records
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let wall = t0.elapsed().as_secs_f64();
    // A stop on SIGTERM: the reduction writes what it holds and ends cleanly.
    unsafe { libc::kill(reduce.0.id() as i32, libc::SIGTERM) };
    let st = reduce.0.wait().unwrap();
    assert!(
        st.success(),
        "the reduce process did not stop cleanly: {st}"
    );
    let ingest_wall = ingest_wall.unwrap_or(wall);
    println!(
        "network over Kafka: ingest process {ingest_wall:.2} s ({:.0}x real time, RSS MiB {}); ingest + reduction caught up:",
        input.seconds / ingest_wall,
        process::fifths(&rss_in)
    );
    report(
        "network over Kafka, two processes",
        input,
        wall,
        &process::fifths(&rss_red),
        0.0,
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (stations, seconds) = if full { (700, 1200.0) } else { (4, 60.0) };
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    // NETWORK_E2E_INPUT=DIR keeps the input there, to profile the binary on it afterwards.
    let kept = std::env::var_os("NETWORK_E2E_INPUT").map(std::path::PathBuf::from);
    let input = write_input(
        &kept.unwrap_or_else(|| dir.path().join("input")),
        stations,
        seconds,
    );
    println!(
        "wrote {} stations x 3 ch x {seconds} s ({} records, {:.0} MB) in {:.1} s",
        stations,
        input.records,
        input.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    // The first run also warms the page cache.
    memory_run(dir.path(), &input, "warm-up", 0.0);
    if full {
        memory_run(dir.path(), &input, "measured", 200.0);
    }
    // Records of every channel interleaved, as a live network arrives: the Zarr sink encodes
    // its parts while the records stream in instead of when a column is written.
    let by_time = in_time_order(&input, &dir.path().join("input-by-time"));
    memory_run(dir.path(), &by_time, "by-time", 0.0);
    kafka_run(dir.path(), &input);
}
