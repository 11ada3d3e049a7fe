//! The `das_stream` source against xdas's own ASN ZeroMQ publisher (`xdas.io.asn`, from
//! PyPI): blocks arrive with exact times and values, the publisher stopped and restarted
//! gives one reported gap and the stream goes on, garbage messages are counted, and the
//! stream → decimate → Zarr store opens in xarray with its (time, distance) axes.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::procs::{bin, free_port, metric, wait_until, write_pipeline, Proc};
use seisreduce::model::parse_iso;

const RATE: f64 = 500.0;
const CHANNELS: usize = 24;
const DX: f64 = 2.5;
const FREQ: f64 = 2.0;

#[test]
fn xdas_publisher_to_zarr_with_a_restart_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let zport = free_port();
    let address = format!("tcp://127.0.0.1:{zport}");
    let (raw, low) = (dir.path().join("raw.zarr"), dir.path().join("low.zarr"));
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"live\"\n\n[sources.fibre]\ntype = \"das_stream\"\naddress = \"{address}\"\nnetwork = \"XF\"\nstall_s = 3\nreconnect_max_s = 0.5\n\n[operators.low]\ntype = \"decimate\"\ninputs = [\"fibre\"]\nfactor = 5\n\n[sinks.raw]\ntype = \"zarr\"\ninputs = [\"fibre\"]\npath = \"{}\"\norigin = \"first\"\ncommit_interval_s = 0.5\n\n[sinks.store]\ntype = \"zarr\"\ninputs = [\"low\"]\npath = \"{}\"\norigin = \"first\"\ncommit_interval_s = 0.5\n",
            raw.display(),
            low.display()
        ),
    );
    let mport = free_port();
    let mut c: Command = bin();
    c.args(["run", p.to_str().unwrap()])
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{mport}"));
    let mut proc = Proc::spawn(c, dir.path().join("run.log"));

    let t0 = parse_iso("2025-06-01T12:00:00.000250").unwrap();
    let amplitudes: Vec<f64> = (0..CHANNELS).map(|c| 50.0 * (1 + c) as f64).collect();
    let spec = serde_json::json!({
        "t0_ns": t0, "rate_hz": RATE, "channels": CHANNELS, "dx": DX, "rows": 50,
        "freq_hz": FREQ, "amplitudes": amplitudes, "dtype": "float32",
        "parts": [[0.0, 4.0], [6.0, 4.0]], "garbage": 3, "pause_s": 1.5, "pace": 1.0,
    });
    let publisher = Command::new(common::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/xdas_publish.py"
        ))
        .args([address.as_str(), &spec.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        publisher.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&publisher.stderr),
        proc.log_text()
    );
    let sent: serde_json::Value = serde_json::from_slice(
        publisher
            .stdout
            .rsplit(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(sent["rows"], 4000, "{sent}");
    let m = |s: &str| metric(mport, s).unwrap_or(-1.0);
    let samples = "seisreduce_samples_out_total{pipeline=\"live\",stage=\"fibre\"}";
    wait_until(
        Duration::from_secs(30),
        "every block through the source",
        || m(samples) == (4000 * CHANNELS) as f64,
    );
    let body = common::procs::http_get(mport, "/metrics").unwrap().1;
    let dropped =
        "seisreduce_dropped_total{pipeline=\"live\",reason=\"unparsable_message\",stage=\"fibre\"}";
    let event = |k: &str| {
        format!("seisreduce_stream_events_total{{kind=\"{k}\",pipeline=\"live\",stage=\"fibre\"}}")
    };
    assert_eq!(m(dropped), 3.0, "{body}");
    assert_eq!(m(&event("gap")), 1.0, "{body}");
    assert_eq!(m(&event("reconnect")), 1.0, "{body}");
    let status = proc.terminate(Duration::from_secs(30));
    let log = proc.log_text();
    assert!(status.success(), "{status}: {log}");
    assert!(
        log.contains("gap of 2 s") && log.contains("unparsable"),
        "{log}"
    );

    let s = |x: f64| t0 + (x * 1e9) as i64;
    let check = |store: &std::path::Path, rate: f64, margin: f64, tol: f64| {
        let spec = serde_json::json!({
            "t0_ns": t0, "rate_hz": rate, "freq_hz": FREQ, "amplitudes": amplitudes,
            "distances": (0..CHANNELS).map(|c| c as f64 * DX).collect::<Vec<_>>(),
            "segments": [[s(0.0), s(4.0)], [s(6.0), s(10.0)]],
            "margin_s": margin, "tolerance": tol,
            "gauge_length_m": null, "format": "OptoDAS stream",
        });
        let out = common::run_python(
            "check_das_zarr.py",
            &[store.as_os_str(), spec.to_string().as_ref()],
        );
        println!("{}: {out}", store.display());
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()
    };
    // As published: every value and time exactly (float32 of the sine), NaN in the gap.
    let r = check(&raw, RATE, 0.0, 1e-6);
    assert_eq!(r["checked"], 4000 * CHANNELS, "{r}");
    assert_eq!(r["gap_samples"], 1000, "{r}");
    // Decimated by 5: still the sine away from the edges.
    check(&low, RATE / 5.0, 0.5, 0.01);
}
