//! The Kafka bus against a real Kafka-protocol broker (tansu, sqlite storage, loopback),
//! with the stages in separate `seisreduce run --stages` processes as in a deployment.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::procs::*;

const MINUTE: Duration = Duration::from_secs(60);

/// A pipeline `ingest` (the file) -> Kafka -> `archive` (SDS under the storage root).
fn pipeline(dir: &Path, name: &str, input: &Path, source_extra: &str, sink_extra: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"[pipeline]
name = "{name}"
bus = "kafka"

[sources.ingest]
type = "mseed"
path = "{}"
{source_extra}

[sinks.archive]
type = "mseed"
inputs = ["ingest"]
path = "archive"
{sink_extra}
"#,
            input.display()
        ),
    )
    .unwrap();
    p
}

struct Stage {
    proc: Proc,
    metrics: u16,
    root: PathBuf,
}

fn stage(pipeline: &Path, stage_name: &str, broker: &Broker, root: &Path, tag: &str) -> Stage {
    stage_with(pipeline, stage_name, broker, root, tag, &[])
}

fn stage_with(
    pipeline: &Path,
    stage_name: &str,
    broker: &Broker,
    root: &Path,
    tag: &str,
    env: &[(&str, &str)],
) -> Stage {
    let metrics = free_port();
    let mut c: Command = bin();
    c.envs(env.iter().copied());
    c.args(["run", pipeline.to_str().unwrap(), "--stages", stage_name])
        .env("SEISREDUCE_KAFKA_BROKERS", broker.address())
        .env("SEISREDUCE_STORAGE_ROOT", root)
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{metrics}"))
        .env("SEISREDUCE_LOG_LEVEL", "info,librdkafka=off,rdkafka=off");
    let log = root
        .parent()
        .unwrap()
        .join(format!("{stage_name}-{tag}.log"));
    Stage {
        proc: Proc::spawn(c, log),
        metrics,
        root: root.to_path_buf(),
    }
}

impl Stage {
    fn records_in(&self) -> f64 {
        metric(self.metrics, "seisreduce_records_in_total{").unwrap_or(0.0)
    }
    fn assigned(&self) -> f64 {
        metric(self.metrics, "seisreduce_kafka_assigned_partitions{").unwrap_or(0.0)
    }
    fn stored(&self) -> Vec<Vec<u8>> {
        records(&self.root.join("archive"))
    }
    fn stored_so_far(&self) -> usize {
        records_so_far(&self.root.join("archive"))
    }
    fn stop(&mut self) {
        let s = self.proc.terminate(MINUTE);
        assert!(s.success(), "{s}: {}", self.proc.log_text());
    }
}

fn ingest(pipeline: &Path, broker: &Broker, dir: &Path) -> Stage {
    let root = dir.join("ingest-root");
    stage(pipeline, "ingest", broker, &root, "run")
}

/// Waits for a stage process to end by itself, successfully.
fn finishes(stage: &mut Stage) {
    let s = stage.proc.wait(2 * MINUTE);
    assert!(s.success(), "{s}: {}", stage.proc.log_text());
}

#[test]
fn files_through_kafka_arrive_intact_in_order_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let input = synth(dir.path(), 6, 1800.0);
    let want = records(&input);
    let p = pipeline(dir.path(), "once", &input, "", "");

    finishes(&mut ingest(&p, &broker, dir.path()));

    let mut sink = stage(&p, "archive", &broker, &dir.path().join("c1"), "a");
    wait_until(
        MINUTE,
        "all records consumed by the owner of all 4 partitions",
        || sink.records_in() as usize >= want.len() && sink.assigned() == 4.0,
    );
    let (code, _) = http_get(sink.metrics, "/readyz").unwrap();
    assert_eq!(code, 200);
    sink.stop();
    assert_same_records(&want, &sink.stored());
}

#[test]
fn two_consumer_processes_split_the_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let input = synth(dir.path(), 12, 900.0);
    let want = records(&input);
    let p = pipeline(dir.path(), "split", &input, "", "");
    // The topics exist before the consumers join (the ingest creates them).
    let mut a = stage(&p, "archive", &broker, &dir.path().join("a"), "a");
    let mut b = stage(&p, "archive", &broker, &dir.path().join("b"), "b");
    wait_until(MINUTE, "both consumers to own partitions", || {
        let (x, y) = (a.assigned(), b.assigned());
        x > 0.0 && y > 0.0 && x + y == 4.0
    });
    finishes(&mut ingest(&p, &broker, dir.path()));
    wait_until(MINUTE, "all records consumed", || {
        (a.records_in() + b.records_in()) as usize >= want.len()
    });
    a.stop();
    b.stop();
    let (ra, rb) = (a.stored(), b.stored());
    assert!(
        !ra.is_empty() && !rb.is_empty(),
        "{} / {}",
        ra.len(),
        rb.len()
    );
    let mut all = ra;
    all.extend(rb);
    assert_same_records(&want, &all);
}

#[test]
fn consumer_killed_midway_resumes_with_every_record_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let input = synth(dir.path(), 12, 3600.0);
    let want = records(&input);
    // Frequent syncs, so the kill lands among many checkpoints, between data and commit.
    let p = pipeline(dir.path(), "kill", &input, "", "commit_interval_s = 0.2");
    finishes(&mut ingest(&p, &broker, dir.path()));

    let root = dir.path().join("c");
    // The restarted process is the same member (as a StatefulSet pod would be), so it takes
    // its partitions back without waiting for the dead one's session to expire.
    let member = [("SEISREDUCE_KAFKA_GROUP_INSTANCE_ID", "archive-0")];
    let first = stage_with(&p, "archive", &broker, &root, "first", &member);
    wait_until(MINUTE, "a quarter consumed", || {
        first.records_in() as usize > want.len() / 4
    });
    first.proc.signal(libc::SIGKILL);
    let mut first = first;
    first.proc.wait(MINUTE);
    let partial = records_so_far(&root.join("archive"));
    assert!(
        partial < want.len(),
        "the consumer finished before it was killed; the test needs a bigger input"
    );

    let mut second = stage_with(&p, "archive", &broker, &root, "second", &member);
    wait_until(MINUTE, "the rest consumed", || {
        second.stored_so_far() >= want.len()
    });
    // Give a duplicate time to show up, then stop cleanly.
    std::thread::sleep(Duration::from_millis(1500));
    second.stop();
    let log = second.proc.log_text();
    let recovered: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("cut back") || l.contains("removed:"))
        .collect();
    eprintln!(
        "recovery after SIGKILL: {} file(s) repaired",
        recovered.len()
    );
    assert_same_records(&want, &second.stored());
}

#[test]
fn broker_restart_mid_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path());
    let input = synth(dir.path(), 6, 3600.0);
    let want = records(&input);
    // An hour of data replayed in about eight seconds, so the broker goes away mid-stream.
    let p = pipeline(
        dir.path(),
        "restart",
        &input,
        "speed = \"realtime\"\nspeedup = 450",
        "",
    );
    let sink = stage(&p, "archive", &broker, &dir.path().join("c"), "a");
    let mut src = ingest(&p, &broker, dir.path());
    wait_until(MINUTE, "data flowing", || sink.records_in() > 100.0);
    broker.kill();
    std::thread::sleep(Duration::from_secs(2));
    broker.restart();
    finishes(&mut src);
    let mut sink = sink;
    wait_until(2 * MINUTE, "every record stored", || {
        sink.stored_so_far() >= want.len()
    });
    std::thread::sleep(Duration::from_millis(1500));
    sink.stop();
    assert_same_records(&want, &sink.stored());
}

/// Sample blocks cross Kafka as Arrow IPC: the same pipeline over Kafka, all stages in one
/// process, archives exactly what it archives over the memory bus.
#[test]
fn blocks_over_kafka_equal_the_memory_bus_run() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let text = |bus: &str| {
        format!(
            "[pipeline]\nname = \"blocks\"\nbus = \"{bus}\"\n\n[sources.noise]\ntype = \"synthetic\"\nchannels = 3\nseconds = 120\nchunk_s = 1.0\n\n[operators.lowrate]\ntype = \"decimate\"\ninputs = [\"noise\"]\nfactor = 10\n\n[sinks.archive]\ntype = \"mseed\"\ninputs = [\"lowrate\"]\npath = \"archive\"\ncommit_interval_s = 0.2\n"
        )
    };
    let mem = dir.path().join("memory.toml");
    std::fs::write(&mem, text("memory")).unwrap();
    let mem_root = dir.path().join("m");
    let o = run(
        &["run", mem.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", mem_root.to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = records(&mem_root.join("archive"));
    assert!(!want.is_empty());

    let kafka = dir.path().join("kafka.toml");
    std::fs::write(&kafka, text("kafka")).unwrap();
    let metrics = free_port();
    let root = dir.path().join("k");
    let mut c: Command = bin();
    c.args(["run", kafka.to_str().unwrap()])
        .env("SEISREDUCE_KAFKA_BROKERS", broker.address())
        .env("SEISREDUCE_STORAGE_ROOT", &root)
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{metrics}"));
    let mut proc = Proc::spawn(c, dir.path().join("kafka-run.log"));
    // 120 one-second blocks × 3 channels reach the decimator, and all it emits the archive.
    let m = |series: &str| metric(metrics, series).unwrap_or(-1.0);
    wait_until(
        MINUTE,
        "every block through the decimator into the archive",
        || {
            let out = m("seisreduce_records_out_total{pipeline=\"blocks\",stage=\"lowrate\"}");
            m("seisreduce_records_in_total{pipeline=\"blocks\",stage=\"lowrate\"}") == 360.0
                && m("seisreduce_records_in_total{pipeline=\"blocks\",stage=\"archive\"}") == out
        },
    );
    let s = proc.terminate(MINUTE);
    assert!(s.success(), "{}", proc.log_text());
    // Record for record what the memory run archived, except the decimator's tail, which the
    // stop flushes into the topic for the archive's next run.
    let got = records(&root.join("archive"));
    let (w, g) = (by_stream(&want), by_stream(&got));
    assert_eq!(w.len(), 3);
    for (sid, wr) in &w {
        let gr = g.get(sid).cloned().unwrap_or_default();
        assert!(
            gr.len() + 1 >= wr.len(),
            "{sid}: {} of {} records",
            gr.len(),
            wr.len()
        );
        assert!(
            gr[..] == wr[..gr.len()],
            "{sid}: records differ from the memory run"
        );
    }
}

/// A second consumer joins while the first is busy: the group rebalances mid-stream, the first
/// drops what it had not committed, and between them the two archives hold every record once.
#[test]
fn rebalance_mid_stream_keeps_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let input = synth(dir.path(), 12, 3600.0);
    let want = records(&input);
    // An hour replayed in about ten seconds: data keeps arriving after the second joins.
    let p = pipeline(
        dir.path(),
        "rebal",
        &input,
        "speed = \"realtime\"\nspeedup = 360",
        "commit_interval_s = 0.5",
    );
    let mut a = stage(&p, "archive", &broker, &dir.path().join("a"), "a");
    let mut src = ingest(&p, &broker, dir.path());
    wait_until(MINUTE, "the first consumer busy", || a.records_in() > 300.0);
    let mut b = stage(&p, "archive", &broker, &dir.path().join("b"), "b");
    finishes(&mut src);
    wait_until(
        2 * MINUTE,
        "every record stored once the group settled",
        || {
            a.assigned() > 0.0
                && b.assigned() > 0.0
                && a.stored_so_far() + b.stored_so_far() >= want.len()
        },
    );
    std::thread::sleep(Duration::from_millis(1500));
    a.stop();
    b.stop();
    let rolled = a
        .proc
        .log_text()
        .matches("dropping what is not yet durable")
        .count();
    eprintln!("first consumer rolled back {rolled} time(s)");
    let (ra, rb) = (a.stored(), b.stored());
    assert!(!rb.is_empty(), "the second consumer got nothing");
    let mut all = ra;
    all.extend(rb);
    assert_same_records(&want, &all);
}

/// A Zarr data array's `zarr.json`: (channels, time length, the least of the channels' ends).
fn zarr_progress(store: &Path, array: &str) -> (u64, u64, u64) {
    let Ok(text) = std::fs::read_to_string(store.join(array).join("zarr.json")) else {
        return (0, 0, 0);
    };
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let dim = |i: usize| doc["shape"][i].as_u64().unwrap_or(0);
    let least_end = doc["attributes"]["channel_end"]
        .as_array()
        .and_then(|e| e.iter().filter_map(|v| v.as_u64()).min())
        .unwrap_or(0);
    (dim(0), dim(1), least_end)
}

#[test]
fn zarr_writer_killed_midway_resumes_with_no_gap_and_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let input = synth(dir.path(), 12, 1800.0);
    let p = dir.path().join("zkill.toml");
    std::fs::write(
        &p,
        format!(
            r#"[pipeline]
name = "zkill"
bus = "kafka"

[sources.ingest]
type = "mseed"
path = "{}"

[operators.decoded]
type = "decode"
inputs = ["ingest"]

[sinks.zarr]
type = "zarr"
inputs = ["decoded"]
path = "store.zarr"
chunk = [4, 2000]
shard = [8, 8000]
commit_interval_s = 0.3
"#,
            input.display()
        ),
    )
    .unwrap();
    finishes(&mut ingest(&p, &broker, dir.path()));

    let root = dir.path().join("z");
    let store = root.join("store.zarr");
    let member = [("SEISREDUCE_KAFKA_GROUP_INSTANCE_ID", "zarr-0")];
    let full = 180_000;
    let first = stage_with(&p, "decoded,zarr", &broker, &root, "first", &member);
    wait_until(2 * MINUTE, "a quarter written", || {
        zarr_progress(&store, "decoded").1 > full / 4
    });
    first.proc.signal(libc::SIGKILL);
    let mut first = first;
    first.proc.wait(MINUTE);
    // Midway means some channel is not finished: the time axis alone reaches its full length
    // as soon as the fastest channel does (partitions are consumed unevenly).
    let (_, at_kill, least_at_kill) = zarr_progress(&store, "decoded");
    assert!(
        least_at_kill < full,
        "every channel finished before the kill; the test needs a bigger input"
    );
    // What a killed writer leaves opens, and holds only right samples.
    common::check_zarr(&store, &input, &["--partial"]);

    let mut second = stage_with(&p, "decoded,zarr", &broker, &root, "second", &member);
    // Every channel to its end (the time axis reaches its length with the first channel).
    wait_until(2 * MINUTE, "everything written", || {
        zarr_progress(&store, "decoded") == (12, full, full)
    });
    second.stop();
    eprintln!("killed at {at_kill} (slowest channel {least_at_kill}) of {full} samples; resumed");
    common::check_zarr(&store, &input, &[]);
}
