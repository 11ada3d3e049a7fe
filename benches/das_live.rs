//! The live `das_stream` source sustaining an interrogator's stream from xdas's own ASN
//! ZeroMQ publisher on loopback: 10,000 channels × 1 kHz int16 in 0.1 s messages, published
//! at 3× real time (and then as fast as the publisher goes), into a `null` sink and through
//! a ×10 decimation, with the process's resident memory sampled over the run. Every row must
//! arrive (a dropped message would show as a gap): then the source sustained the rate.
//!
//! `cargo bench --bench das_live` (60 s of data per run); under `cargo test` it runs once on
//! 200 channels × 3 s as a smoke test.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn metric(port: u16, series: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.lines()
        .find(|l| l.starts_with(series))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// One run: returns (rows the source emitted, publisher wall seconds, RSS samples).
fn run(
    dir: &Path,
    channels: usize,
    seconds: f64,
    pace: f64,
    operators: &str,
    sink: &str,
) -> (f64, f64, Vec<f64>, f64) {
    let zport = free_port();
    let mport = free_port();
    let address = format!("tcp://127.0.0.1:{zport}");
    let pipeline = dir.join("live.toml");
    std::fs::write(
        &pipeline,
        format!(
            "[pipeline]\nname = \"live\"\n\n[sources.fibre]\ntype = \"das_stream\"\naddress = \"{address}\"\nqueue = 32\n\n{operators}\n[sinks.out]\ntype = \"null\"\ninputs = [\"{sink}\"]\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seisreduce"))
        .args(["run", pipeline.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{mport}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let spec = serde_json::json!({
        "t0_ns": 1_700_000_000_000_000_000i64, "rate_hz": 1000.0, "channels": channels,
        "dx": 1.0, "rows": 100, "freq_hz": 1.0, "amplitudes": [], "dtype": "int16",
        "noise": true, "parts": [[0.0, seconds]], "pace": pace,
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut publisher = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/python/xdas_publish.py"))
        .args([address.as_str(), &spec.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut rss = Vec::new();
    while publisher.try_wait().unwrap().is_none() {
        rss.extend(rss_mib(child.id()));
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = publisher.wait_with_output().unwrap();
    let sent: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .expect("publisher summary"),
    )
    .unwrap();
    let series = "seisreduce_samples_out_total{pipeline=\"live\",stage=\"fibre\"}";
    let want = sent["rows"].as_f64().unwrap() * channels as f64;
    let t = Instant::now();
    let mut got = 0.0;
    while t.elapsed() < Duration::from_secs(20) {
        got = metric(mport, series).unwrap_or(0.0);
        if got >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(&mut child);
    (
        got / channels as f64,
        sent["wall_s"].as_f64().unwrap(),
        rss,
        sent["rows"].as_f64().unwrap(),
    )
}

fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn report(what: &str, channels: usize, rows: f64, sent: f64, wall: f64, rss: &[f64]) {
    let x = sent / 1000.0 / wall;
    let fifth = |k: usize| {
        let n = rss.len();
        if n == 0 {
            return 0.0;
        }
        rss[(n * k / 5).min(n - 1)..(n * (k + 1) / 5).clamp(1, n)]
            .iter()
            .copied()
            .fold(0.0, f64::max)
    };
    println!(
        "{what}: {:.0} of {:.0} rows of {channels} ch x 1 kHz int16 arrived, published in {wall:.1} s = {x:.1}x real time ({:.0} MB/s); RSS MiB by fifths: {:.0} {:.0} {:.0} {:.0} {:.0} {}",
        rows,
        sent,
        sent * channels as f64 * 2.0 / wall / 1e6,
        fifth(0),
        fifth(1),
        fifth(2),
        fifth(3),
        fifth(4),
        if rows >= sent && x >= 3.0 { "(all rows, >= 3x: OK)" } else if rows >= sent { "(all rows)" } else { "(ROWS LOST)" }
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (channels, seconds) = if full { (10_000, 60.0) } else { (200, 3.0) };
    let dir = tempfile::tempdir().unwrap();
    let (rows, wall, rss, sent) = run(dir.path(), channels, seconds, 3.0, "", "fibre");
    report("das_stream -> null at 3x", channels, rows, sent, wall, &rss);
    if full {
        let (rows, wall, rss, sent) = run(dir.path(), channels, seconds, 0.0, "", "fibre");
        report(
            "das_stream -> null, publisher flat out",
            channels,
            rows,
            sent,
            wall,
            &rss,
        );
        let dec = "[operators.low]\ntype = \"decimate\"\ninputs = [\"fibre\"]\nfactor = 10\n";
        let (rows, wall, rss, sent) = run(dir.path(), channels, seconds, 3.0, dec, "low");
        report(
            "das_stream -> decimate x10 -> null at 3x",
            channels,
            rows,
            sent,
            wall,
            &rss,
        );
    }
}
