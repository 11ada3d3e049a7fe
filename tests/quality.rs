//! The `quality` stage against ObsPy's `MSEEDMetadata`, the reference for these metrics: real
//! recordings, ObsPy's own flag and timing-quality test files, and damaged copies of a day
//! (records dropped and repeated, header flags and time corrections set) through
//! `seisreduce run` into the `parquet_table` sink, read back with pandas and compared metric
//! by metric on UTC-day windows and on hour windows; the same over Kafka between two
//! processes; and a live replay with a station going silent, seen on `/metrics` and in the
//! rows.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::procs::*;
use common::run_python;

fn quality_run(dir: &Path, input: &Path, window_s: u64) -> std::path::PathBuf {
    let p = write_named(
        dir,
        &format!("quality-{window_s}"),
        &format!(
            "[pipeline]\nname = \"quality\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n\
             [operators.quality]\ntype = \"quality\"\ninputs = [\"files\"]\nwindow_s = {window_s}\n\n\
             [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"quality\"]\npath = \"tables-{window_s}\"\n",
            input.display()
        ),
    );
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", dir.to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    let out = dir.join(format!("tables-{window_s}"));
    assert!(
        log.contains("quality ("),
        "the run says what it wrote:\n{log}"
    );
    assert!(log.contains(&format!(
        "pandas.read_parquet(\"{}/quality\")",
        out.display()
    )));
    out
}

#[test]
fn quality_rows_equal_obspy_mseedmetadata() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    run_python(
        "check_quality.py",
        &[OsStr::new("prepare"), input.as_os_str()],
    );
    for window_s in [86_400, 3_600] {
        let tables = quality_run(dir.path(), &input, window_s);
        let out = run_python(
            "check_quality.py",
            &[OsStr::new("compare"), input.as_os_str(), tables.as_os_str()],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["mismatches"], 0, "{out}");
        assert_eq!(v["streams"], 9, "{out}");
        assert!(v["values_checked"].as_u64().unwrap() > 500, "{out}");
    }
}

/// Two stations replayed at ten times real time; B stops for 80 s of data (8 s of wall
/// clock) and comes back. On `/metrics`, B's latency rises through the silence and falls when
/// it resumes; in the Parquet table, B's windows say how much came, the silent minute at 0 %.
#[test]
fn a_station_going_silent_and_back_shows_in_metrics_and_rows() {
    use seisreduce::formats::mseed::{encode, EncodeOptions, Samples};
    use seisreduce::model::{SampleRate, SourceId};
    use std::time::{Duration, Instant};

    const S: i64 = 1_000_000_000;
    let t0 = 1_735_689_600 * S; // 2025-01-01T00:00:00Z
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    let opts = EncodeOptions {
        record_length: 512,
        ..Default::default()
    };
    for sec in 0..200i64 {
        for sta in ["A", "B"] {
            if sta == "B" && (50..130).contains(&sec) {
                continue;
            }
            let sid = SourceId::from_codes("XX", sta, "", "HHZ");
            let x: Vec<i32> = (0..100)
                .map(|i| ((sec * 100 + i) % 11 - 5) as i32)
                .collect();
            let r = encode(
                &sid,
                t0 + sec * S,
                SampleRate(100.0),
                &Samples::Int(x),
                &opts,
            )
            .unwrap();
            assert_eq!(r.len(), 1);
            bytes.extend_from_slice(&r[0]);
        }
    }
    let input = dir.path().join("two.mseed");
    std::fs::write(&input, &bytes).unwrap();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"live\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\
             speed = \"realtime\"\nspeedup = 10\n\n\
             [operators.quality]\ntype = \"quality\"\ninputs = [\"files\"]\nwindow_s = 60\ngrace_s = 1\n\n\
             [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"quality\"]\npath = \"tables\"\ncommit_interval_s = 1\n",
            input.display()
        ),
    );
    let port = free_port();
    let mut cmd = bin();
    cmd.args(["run", p.to_str().unwrap()])
        .env("SEISREDUCE_STORAGE_ROOT", dir.path())
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{port}"));
    let mut proc = Proc::spawn(cmd, dir.path().join("run.log"));
    let series = |name: &str| {
        format!("seisreduce_quality_{name}{{pipeline=\"live\",stage=\"quality\",stream=\"FDSN:XX_B__H_H_Z\"}}")
    };
    // Latency of B, sampled through the run: (seconds since start, value).
    let mut seen = Vec::new();
    let start = Instant::now();
    while proc.child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
        if let Some(v) = metric(port, &series("latency_seconds")) {
            seen.push((start.elapsed().as_secs_f64(), v));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let status = proc.wait(Duration::from_secs(30));
    let log = proc.log_text();
    assert!(status.success(), "{log}");
    let peak = seen.iter().map(|s| s.1).fold(0.0, f64::max);
    assert!(
        peak > 5.0 && peak < 12.0,
        "B's latency peaks over the 8 s silence: {seen:?}"
    );
    let i = seen.iter().position(|s| s.1 == peak).unwrap();
    assert!(
        seen[i..].iter().any(|s| s.1 < 2.0),
        "B's latency falls once it resumes: {seen:?}"
    );
    let out = run_python(
        "check_quality.py",
        &[OsStr::new("rows"), dir.path().join("tables").as_os_str()],
    );
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let avail = |sta: &str| -> Vec<f64> {
        rows[format!("XX.{sta}..HHZ")]
            .as_array()
            .unwrap_or_else(|| panic!("rows of {sta}: {out}\n{log}"))
            .iter()
            .map(|v| (v.as_f64().unwrap() * 1000.0).round() / 1000.0)
            .collect()
    };
    assert_eq!(avail("A"), vec![100.0, 100.0, 100.0, 33.333], "{out}");
    assert_eq!(avail("B"), vec![83.333, 0.0, 83.333, 33.333], "{out}");
}

/// Quality rows as a Kafka product: the quality stage in one process publishes its table to
/// a topic of a real Kafka-protocol broker (tansu), the `parquet_table` sink in another
/// consumes it, and the rows stored still equal ObsPy's.
#[test]
fn quality_rows_over_kafka_equal_obspy_mseedmetadata() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let input = dir.path().join("in");
    run_python(
        "check_quality.py",
        &[OsStr::new("prepare"), input.as_os_str()],
    );
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"qk\"\nbus = \"kafka\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n\
             [operators.quality]\ntype = \"quality\"\ninputs = [\"files\"]\n\n\
             [sinks.tables]\ntype = \"parquet_table\"\ninputs = [\"quality\"]\npath = \"tables\"\ncommit_interval_s = 0.5\n",
            input.display()
        ),
    );
    let spawn = |stages: &str, port: u16| {
        let mut c = bin();
        c.args(["run", p.to_str().unwrap(), "--stages", stages])
            .env("SEISREDUCE_KAFKA_BROKERS", broker.address())
            .env("SEISREDUCE_STORAGE_ROOT", dir.path())
            .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{port}"))
            .env("SEISREDUCE_LOG_LEVEL", "info,librdkafka=off,rdkafka=off");
        Proc::spawn(c, dir.path().join(format!("{stages}.log")))
    };
    let minute = Duration::from_secs(60);
    let series = |stage: &str, what: &str| {
        format!("seisreduce_records_{what}_total{{pipeline=\"qk\",stage=\"{stage}\"}}")
    };
    let (pa, pb) = (free_port(), free_port());
    let mut a = spawn("files,quality", pa);
    wait_until(minute, "every record through the quality stage", || {
        let out = metric(pa, &series("files", "out")).unwrap_or(-1.0);
        out > 0.0 && metric(pa, &series("quality", "in")) == Some(out)
    });
    // Stopping the stage closes its open windows: their rows go to the topic.
    let s = a.terminate(minute);
    assert!(s.success(), "{}", a.log_text());
    let rows_out = sent_in_summary(&a.log_text());
    let mut b = spawn("tables", pb);
    wait_until(minute, "every table message stored", || {
        metric(pb, &series("tables", "in")).is_some_and(|n| n as u64 == rows_out)
    });
    let s = b.terminate(minute);
    assert!(s.success(), "{}", b.log_text());
    let out = run_python(
        "check_quality.py",
        &[
            OsStr::new("compare"),
            input.as_os_str(),
            dir.path().join("tables").as_os_str(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["mismatches"], 0, "{out}");
    assert_eq!(v["streams"], 9, "{out}");
}

/// The messages the quality stage sent, from its run summary (`quality ... N out`).
fn sent_in_summary(log: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.trim_start().starts_with("quality ") && l.contains(" out"))
        .unwrap_or_else(|| panic!("no summary line for the quality stage:\n{log}"));
    let before = line.split(" out").next().unwrap();
    let n = before.rsplit([' ', '(']).next().unwrap();
    n.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("{line}"))
}
