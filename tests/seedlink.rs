//! SeedLink in both roles against real peers: ObsPy's and EarthScope's clients against our
//! server; our client against our server across kills of either; a stalled and a malformed
//! server against our client.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::procs::*;
use seisreduce::formats::mseed::RecordReader;

const MINUTE: Duration = Duration::from_secs(60);

fn serve(dir: &Path, input: &Path, port: u16, bus: &str, source_extra: &str) -> PathBuf {
    write_named(
        dir,
        "serve",
        &format!(
            r#"[pipeline]
name = "serve"
bus = "{bus}"

[sources.feed]
type = "mseed"
path = "{}"
{source_extra}

[sinks.sl]
type = "seedlink"
inputs = ["feed"]
listen = "127.0.0.1:{port}"
state_dir = "{}"
linger_s = 300
commit_interval_s = 0.2
"#,
            input.display(),
            dir.join("ring").display()
        ),
    )
}

fn spawn(pipeline: &Path, stages: Option<&str>, env: &[(&str, String)], log: PathBuf) -> Proc {
    let mut c: Command = bin();
    c.args(["run", pipeline.to_str().unwrap()]);
    if let Some(s) = stages {
        c.args(["--stages", s]);
    }
    c.env("SEISREDUCE_LOG_LEVEL", "info,librdkafka=off,rdkafka=off");
    for (k, v) in env {
        c.env(k, v);
    }
    Proc::spawn(c, log)
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The input's records of the streams `keep` selects that overlap [start, end), in order.
fn expected(input: &Path, keep: impl Fn(&str) -> bool, start: &str, end: &str) -> Vec<Vec<u8>> {
    let (a, b) = (
        seisreduce::model::parse_iso(start).unwrap(),
        seisreduce::model::parse_iso(end).unwrap(),
    );
    let bytes = std::fs::read(input).unwrap();
    RecordReader::new(&bytes)
        .map(|r| r.unwrap())
        .filter(|r| {
            let h = &r.header;
            let e = h.start + (h.sample_count as f64 * 1e9 / h.rate.hz()) as i64;
            keep(&h.sid.to_string()) && e > a && h.start < b
        })
        .map(|r| r.bytes.to_vec())
        .collect()
}

#[test]
fn third_party_clients_receive_exactly_the_records_served() {
    let dir = tempfile::tempdir().unwrap();
    let input = synth(dir.path(), 6, 120.0);
    let port = free_port();
    let p = serve(dir.path(), &input, port, "memory", "");
    let server = spawn(&p, None, &[], dir.path().join("serve.log"));
    wait_until(MINUTE, "the server to take its input", || {
        server.log_text().contains("still serving")
    });
    let (start, end) = ("2025-01-01T00:00:10", "2025-01-01T00:00:40");
    let out = common::run_python(
        "seedlink_peers.py",
        &[
            format!("127.0.0.1:{port}").as_ref(),
            dir.path().as_os_str(),
            start.as_ref(),
            end.as_ref(),
        ],
    );
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    eprintln!("{summary:#}");
    let got = |name: &str| records(&dir.path().join(format!("{name}.mseed")));
    // ObsPy (v3): one channel; EarthScope's client: v3 one station's three channels, v4 a
    // wildcard station and one component. Bytes equal, in order per stream.
    assert_same_records(
        &expected(&input, |s| s == "FDSN:XX_S000_00_H_H_Z", start, end),
        &got("obspy_v3"),
    );
    assert_same_records(
        &expected(
            &input,
            |s| s.starts_with("FDSN:XX_S001_00_H_H_"),
            start,
            end,
        ),
        &got("slc_v3"),
    );
    assert_same_records(
        &expected(&input, |s| s.ends_with("_H_H_Z"), start, end),
        &got("slc_v4"),
    );
    assert_eq!(
        summary["obspy"]["stations"],
        serde_json::json!(["XX.S000", "XX.S001"])
    );
    assert_eq!(summary["obspy"]["channels"], 6);
    assert_eq!(
        summary["obspy"]["traces"][0],
        "XX.S000.00.HHZ 2025-01-01T00:00:10.000000Z 3001"
    );
    for v in ["3", "4"] {
        let s = &summary[format!("slc_v{v}")];
        assert_eq!(s["protocol"], v);
        assert_eq!(s["seq_increasing"], true);
        assert!(s["info"].as_str().unwrap().contains("S001"), "{s}");
    }
    // Our own INFO reader, both versions.
    for proto in ["3", "4"] {
        let o = run(
            &[
                "seedlink",
                "info",
                &format!("127.0.0.1:{port}"),
                "--level",
                "streams",
                "--json",
                "--protocol",
                proto,
            ],
            &[],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let st = v["station"].as_array().unwrap();
        assert_eq!(st.len(), 2, "{v}");
        assert_eq!(st[0]["stream"].as_array().unwrap().len(), 3, "{v}");
    }
}

fn client_pipeline(dir: &Path, name: &str, port: u16, protocol: &str) -> PathBuf {
    write_named(
        dir,
        name,
        &format!(
            r#"[pipeline]
name = "{name}"
bus = "kafka"

[sources.sl]
type = "seedlink"
server = "127.0.0.1:{port}"
streams = ["XX_*"]
protocol = "{protocol}"
start = "2025-01-01T00:00:00"
state = "{}"
stall_timeout_s = 5
keepalive_s = 1
backoff_min_s = 0.2
backoff_max_s = 1
commit_interval_s = 0.2

[sinks.archive]
type = "mseed"
inputs = ["sl"]
path = "archive"
commit_interval_s = 0.2
"#,
            dir.join(format!("{name}-state.json")).display()
        ),
    )
}

/// 24 stations replayed in real time into Kafka, served by a server process, taken by a v3
/// and a v4 client process each archiving what it gets. The v3 client is SIGKILLed and
/// restarted mid-stream, then the server is: both archives end up equal to the input.
#[test]
fn our_client_resumes_across_kills_of_client_and_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eprintln!("in {}", d.display());
    let broker = Broker::start(d);
    let input = synth(d, 72, 40.0);
    let want = records(&input);
    // One file per channel, as a datalogger archive holds them: the real-time replay
    // interleaves files by time, so all 72 channels flow at once.
    let folder = d.join("feed-files");
    std::fs::create_dir_all(&folder).unwrap();
    for (sid, recs) in by_stream(&want) {
        std::fs::write(
            folder.join(format!("{}.mseed", sid.replace(':', "_"))),
            recs.concat(),
        )
        .unwrap();
    }
    let port = free_port();
    let p = serve(
        d,
        &folder,
        port,
        "kafka",
        "speed = \"realtime\"\nspeedup = 2",
    );
    // Restarted processes come back as the same group members (as StatefulSet pods do), so
    // they take their partitions back without waiting for the dead one's session to expire.
    let env = |root: &str| {
        vec![
            ("SEISREDUCE_KAFKA_BROKERS", broker.address()),
            (
                "SEISREDUCE_STORAGE_ROOT",
                d.join(root).display().to_string(),
            ),
            ("SEISREDUCE_KAFKA_GROUP_INSTANCE_ID", format!("{root}-0")),
        ]
    };
    let mut server = spawn(&p, Some("sl"), &env("sl"), d.join("sl-1.log"));
    wait_until(MINUTE, "the server to listen", || listening(port));
    let clients: Vec<(PathBuf, PathBuf)> = ["3", "4"]
        .iter()
        .map(|v| {
            let name = format!("clv{v}");
            (client_pipeline(d, &name, port, v), d.join(&name))
        })
        .collect();
    let start_client = |i: usize, tag: &str| {
        let (p, root) = &clients[i];
        let e = vec![
            ("SEISREDUCE_KAFKA_BROKERS", broker.address()),
            ("SEISREDUCE_STORAGE_ROOT", root.display().to_string()),
            ("SEISREDUCE_KAFKA_GROUP_INSTANCE_ID", format!("client{i}-0")),
        ];
        spawn(p, None, &e, d.join(format!("client{i}-{tag}.log")))
    };
    let archived = |i: usize| records_so_far(&clients[i].1.join("archive"));
    // Packets a client has taken and made durable: the sequence numbers in its state (the
    // server numbers each station's packets from 1).
    let taken = |i: usize| -> usize {
        let f = d.join(format!("clv{}-state.json", ["3", "4"][i]));
        std::fs::read(f)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map_or(0, |v| {
                v["stations"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|s| s.as_u64().unwrap() as usize)
                    .sum()
            })
    };
    let mut c3 = start_client(0, "1");
    let mut c4 = start_client(1, "1");
    for i in 0..2 {
        let log = d.join(format!("client{i}-1.log"));
        wait_until(MINUTE, "the clients to connect", || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("SeedLink connected")
        });
    }
    // The feed starts once both listen, so the kills below land mid-feed.
    let feed = spawn(&p, Some("feed"), &env("feed"), d.join("feed.log"));
    let t_start = Instant::now();
    let progress = |what: &str| {
        eprintln!(
            "{:>5.1} s {what}: taken {} and {}, archived {} and {}, of {}",
            t_start.elapsed().as_secs_f64(),
            taken(0),
            taken(1),
            archived(0),
            archived(1),
            want.len()
        )
    };
    wait_until(MINUTE, "the v3 client to take an eighth", || {
        taken(0) > want.len() / 8
    });
    progress("v3 client killed");
    c3.signal(libc::SIGKILL);
    c3.wait(MINUTE);
    let mut c3 = start_client(0, "2");
    wait_until(MINUTE, "a third taken", || taken(1) > want.len() / 3);
    progress("server killed");
    server.signal(libc::SIGKILL);
    server.wait(MINUTE);
    std::thread::sleep(Duration::from_millis(500));
    let mut server = spawn(&p, Some("sl"), &env("sl"), d.join("sl-2.log"));
    let t0 = Instant::now();
    while archived(0) < want.len() || archived(1) < want.len() {
        if t0.elapsed() > Duration::from_secs(120) {
            for f in ["sl-2.log", "client0-2.log", "client1-1.log", "feed.log"] {
                eprintln!(
                    "--- {f}:\n{}",
                    std::fs::read_to_string(d.join(f)).unwrap_or_default()
                );
            }
            std::mem::forget(dir);
            panic!(
                "archives hold {} and {} of {} records",
                archived(0),
                archived(1),
                want.len()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    progress("complete");
    // Let anything extra (a duplicate) arrive before judging.
    std::thread::sleep(Duration::from_secs(2));
    for c in [&mut c3, &mut c4] {
        let s = c.terminate(MINUTE);
        assert!(s.success(), "{s}: {}", c.log_text());
    }
    let log3 = c3.log_text();
    assert!(log3.contains("resuming each station"), "{log3}");
    server.terminate(MINUTE);
    let log_sl = server.log_text();
    eprintln!("restarted server:\n{log_sl}\nrestarted v3 client:\n{log3}");
    // It was killed mid-feed: it read its ring back and took the rest of the feed.
    assert!(log_sl.contains("SeedLink ring read back"), "{log_sl}");
    assert!(!log_sl.contains(": 0 packets taken"), "{log_sl}");
    drop(feed);
    for (i, (_, root)) in clients.iter().enumerate() {
        eprintln!("client {i}");
        assert_same_records(&want, &records(&root.join("archive")));
    }
    let log4 = c4.log_text();
    assert!(
        log4.contains("SeedLink connected") && log4.matches("SeedLink connected").count() >= 2,
        "{log4}"
    );
}

/// What the fake server does with one connection once the client has said END.
type Act = Box<dyn FnOnce(&mut TcpStream) + Send>;

/// A fake server for failure cases: answers the negotiation, then runs `then` on the socket.
fn fake_server(then: Vec<Act>) -> (u16, std::thread::JoinHandle<Vec<Instant>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut accepted = Vec::new();
        for f in then {
            let (mut s, _) = l.accept().unwrap();
            accepted.push(Instant::now());
            // Answer the negotiation line by line until END.
            let mut buf = Vec::new();
            let mut b = [0u8; 512];
            'talk: loop {
                let n = s.read(&mut b).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&b[..n]);
                while let Some(i) = buf.iter().position(|&c| c == b'\r' || c == b'\n') {
                    let line = String::from_utf8_lossy(&buf[..i]).to_string();
                    buf.drain(..=i);
                    if line.is_empty() {
                        continue;
                    }
                    if line.starts_with("HELLO") {
                        s.write_all(b"SeedLink v3.1 (fake) :: SLPROTO:3.1\r\nfake\r\n")
                            .unwrap();
                    } else if line == "END" {
                        break 'talk;
                    } else {
                        s.write_all(b"OK\r\n").unwrap();
                    }
                }
            }
            f(&mut s);
        }
        accepted
    });
    (port, h)
}

#[test]
fn stalled_and_malformed_servers_are_detected_and_left() {
    let dir = tempfile::tempdir().unwrap();
    let input = synth(dir.path(), 3, 10.0);
    let rec = records(&input).remove(0);
    let mut packet = b"SL000001".to_vec();
    packet.extend_from_slice(&rec);
    let (p1, p2) = (packet.clone(), packet.clone());
    let stalled_at = std::sync::Arc::new(std::sync::Mutex::new(None));
    let sa = stalled_at.clone();
    let (port, h) = fake_server(vec![
        // One packet, then silence (keepalives unanswered) until the client hangs up.
        Box::new(move |s| {
            s.write_all(&p1).unwrap();
            let t0 = Instant::now();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut b = [0u8; 256];
            while matches!(s.read(&mut b), Ok(n) if n > 0) {}
            *sa.lock().unwrap() = Some(t0.elapsed());
        }),
        // A packet, then bytes that are no packet.
        Box::new(move |s| {
            s.write_all(&p2).unwrap();
            s.write_all(b"XXgarbage that is not a SeedLink packet")
                .unwrap();
            std::thread::sleep(Duration::from_secs(2));
        }),
        Box::new(|_| std::thread::sleep(Duration::from_millis(100))),
    ]);
    let p = write_named(
        dir.path(),
        "c",
        &format!(
            r#"[pipeline]
name = "client"

[sources.sl]
type = "seedlink"
server = "127.0.0.1:{port}"
streams = ["XX_S000"]
protocol = "3"
stall_timeout_s = 2
keepalive_s = 0.5
backoff_min_s = 0.1
backoff_max_s = 0.2

[sinks.out]
type = "null"
inputs = ["sl"]
"#
        ),
    );
    let mut c = spawn(&p, None, &[], dir.path().join("client.log"));
    let accepted = h.join().unwrap();
    c.terminate(MINUTE);
    let log = c.log_text();
    eprintln!("{log}");
    assert_eq!(accepted.len(), 3, "the client came back after each failure");
    let detected = stalled_at.lock().unwrap().unwrap();
    assert!(
        detected >= Duration::from_secs(2) && detected < Duration::from_millis(3500),
        "stall noticed after {detected:?} (stall_timeout_s = 2)"
    );
    assert!(log.contains("no packet and no keepalive answer"), "{log}");
    assert!(
        log.contains("malformed data after station XX_S000 sequence 1"),
        "{log}"
    );
    // The same packet twice (sequence 1 again after the reconnect) is passed on once.
    assert!(
        log.contains("1 dropped") || log.contains("seedlink_repeated"),
        "{log}"
    );
}

/// The soak of `benches/seedlink_soak.py` for one minute: 700 stations x 3 channels x 100 Hz
/// served in real time and followed by our client: no sequence gap, latency not growing,
/// the server's memory flat once its ring is full.
#[test]
fn a_resif_sized_network_streams_for_a_minute_without_gaps() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/seedlink_soak.py");
    let out = Command::new(common::python())
        .arg(&script)
        .args([
            "--seconds",
            "60",
            "--ring-mb",
            "8",
            "--json",
            "--bin",
            env!("CARGO_BIN_EXE_seisreduce"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let rows = s["rows"].as_array().unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&rows).unwrap());
    assert_eq!(s["sequence_gaps"], 0.0, "{s}");
    // 2100 channels at 100 Hz in STEIM2 records of a few hundred samples each.
    assert!(s["packets_per_s"].as_f64().unwrap() > 400.0, "{s}");
    let lat = |r: &serde_json::Value| r["worst_latency_s"].as_f64().unwrap_or(f64::INFINITY);
    assert!(
        lat(&rows[rows.len() - 1]) < 10.0 && lat(&rows[rows.len() - 1]) <= lat(&rows[1]) + 2.0,
        "latency grew: {s}"
    );
    // The 8 MiB ring is full after about 25 s; from then on the server holds steady.
    let rss = |i: usize| rows[i]["rss_server_mib"].as_f64().unwrap();
    let (mid, last) = (rss(rows.len() / 2), rss(rows.len() - 1));
    assert!(
        last < mid * 1.25 + 8.0,
        "server RSS {mid} MiB at 30 s, {last} MiB at 60 s"
    );
}
