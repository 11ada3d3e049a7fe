//! SeedLink latency on loopback: from the moment our server accepts a record to the moment
//! it leaves a client, for our client (v4 and v3) and for ObsPy's (`easyseedlink`, v3) on the
//! same server in the same run. Each record's start time is its acceptance time, so every
//! client measures now − start on the same clock.
//!
//! `cargo bench --bench seedlink_latency` (COUNT records at 20 per second; default 400).
//! Under `cargo test` (no `--bench`) it runs 40 records, as a smoke test.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use seisreduce::formats::mseed::{encode, EncodeOptions, Samples};
use seisreduce::model::{now, SampleRate, SourceId};
use seisreduce::seedlink::client::{ClientOptions, Connection, Event, Protocol};
use seisreduce::seedlink::ring::{Limits, Ring};
use seisreduce::seedlink::select::Pattern;
use seisreduce::seedlink::server::{Server, ServerOptions};

fn record(t: i64) -> Bytes {
    let sid = SourceId::from_codes("LT", "LAT", "", "HHZ");
    let opts = EncodeOptions {
        record_length: 512,
        ..Default::default()
    };
    let s = Samples::Int((0..100).map(|i| (i * 37) % 501).collect());
    Bytes::from(
        encode(&sid, t, SampleRate(100.0), &s, &opts)
            .unwrap()
            .remove(0),
    )
}

fn client(port: u16, v: Protocol, n: usize) -> std::thread::JoinHandle<Vec<f64>> {
    let opts = ClientOptions {
        server: format!("127.0.0.1:{port}"),
        protocol: v,
        connect_timeout: Duration::from_secs(5),
        stall_timeout: Duration::from_secs(30),
        keepalive: Duration::from_secs(10),
        useragent: "latency-bench".into(),
    };
    let mut c = Connection::open(&opts).unwrap();
    c.start(
        &[Pattern::parse("LT_LAT").unwrap()],
        &Default::default(),
        None,
        None,
        false,
    )
    .unwrap();
    std::thread::spawn(move || {
        let mut lat = Vec::new();
        while lat.len() < n {
            if let Ok(Some(Event::Packet { payload, .. })) = c.next_event() {
                let h = seisreduce::formats::mseed::RecordReader::new(&payload)
                    .next()
                    .unwrap()
                    .unwrap()
                    .header;
                lat.push((now() - h.start) as f64 / 1e9);
            }
        }
        lat
    })
}

fn summary(name: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize] * 1e3;
    println!(
        "{name:<28} n={:<4} p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
        v.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 400 } else { 40 });
    let ring = Arc::new(Ring::new(Limits {
        max_bytes: 64 << 20,
        max_age_ns: 3_600_000_000_000,
    }));
    let server = Server::start(
        ServerOptions {
            listen: "127.0.0.1:0".into(),
            max_clients: 8,
            organization: "bench".into(),
            write_timeout: Duration::from_secs(10),
        },
        ring.clone(),
    )
    .unwrap();
    let port = server.addr.port();
    let python = std::env::var("SEISREDUCE_PYTHON").unwrap_or_else(|_| ".venv/bin/python".into());
    let mut obspy = Command::new(&python)
        .args([
            "benches/seedlink_latency_obspy.py",
            &format!("127.0.0.1:{port}"),
            &n.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python with ObsPy (scripts/setup-python.sh)");
    let mut out = BufReader::new(obspy.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let ours4 = client(port, Protocol::V4, n);
    let ours3 = client(port, Protocol::V3, n);
    // ObsPy's client negotiates after `run()`; give it a moment before the first record.
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..n {
        ring.push(record(now()), None).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut text = String::new();
    out.read_line(&mut text).unwrap();
    let _ = obspy.wait();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let obspy_lat: Vec<f64> = v["latencies_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    println!("SeedLink latency on loopback, record accepted by the server -> out of the client, {n} records at 20/s");
    summary("seisreduce client, v4", ours4.join().unwrap());
    summary("seisreduce client, v3", ours3.join().unwrap());
    summary("ObsPy easyseedlink, v3", obspy_lat);
}
