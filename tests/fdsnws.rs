//! The `fdsnws` source against a real FDSN dataselect server (EarthScope's
//! portable-fdsnws-dataselect, in `.venv-fdsnws`, serving an archive this test writes and
//! indexes in mseedindex's `tsindex` schema), across a SIGKILL of the pipeline; and against
//! a scripted HTTP server for the answers a busy node gives (429 with Retry-After, 503, 413,
//! 204, 404, truncated replies, a refusal).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::procs::*;
use seisreduce::formats::mseed::{encode, EncodeOptions, Samples};
use seisreduce::model::{Iso, SampleRate, SeedId};

const MINUTE: Duration = Duration::from_secs(60);
const DAY_NS: i64 = 86_400_000_000_000;

/// Day-long Steim2 records of a random walk for one channel: the day's records only, so
/// a day's file holds nothing of the next (as an SDS archive's day files do).
fn day_records(sid: &SeedId, day0: i64, day: i64, rate: f64, seed: u64) -> Vec<Vec<u8>> {
    let n = (86_400.0 * rate) as usize;
    let mut x: i64 = 0;
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ day as u64;
    let samples: Vec<i32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            x += (s % 2001) as i64 - 1000;
            x = x.clamp(-5_000_000, 5_000_000);
            x as i32
        })
        .collect();
    encode(
        &sid.to_source_id(),
        day0 + day * DAY_NS,
        SampleRate(rate),
        &Samples::Int(samples),
        &EncodeOptions {
            record_length: 4096,
            ..EncodeOptions::default()
        },
    )
    .unwrap()
}

fn bulk_time(t: i64) -> String {
    Iso(t).to_string().trim_end_matches('Z').to_string()
}

/// Writes the archive (one file per channel and day) and its tsindex; returns every record.
fn archive(d: &Path, ids: &[SeedId], day0: i64, days: i64, rate: f64) -> Vec<Vec<u8>> {
    let root = d.join("served");
    std::fs::create_dir_all(&root).unwrap();
    let mut rows = Vec::new();
    let mut all = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        for day in 0..days {
            let recs = day_records(id, day0, day, rate, i as u64 + 1);
            let file = root.join(format!("{id}.{day}"));
            std::fs::write(&file, recs.concat()).unwrap();
            let start = day0 + day * DAY_NS;
            let last = start + ((86_400.0 * rate - 1.0) * 1e9 / rate) as i64;
            rows.push(serde_json::json!({
                "network": id.network, "station": id.station, "location": id.location,
                "channel": id.channel, "quality": "D",
                "starttime": bulk_time(start), "endtime": bulk_time(last),
                "samplerate": rate, "filename": file.display().to_string(),
                "bytes": std::fs::metadata(&file).unwrap().len(),
            }));
            all.extend(recs);
        }
    }
    let json = d.join("rows.json");
    std::fs::write(&json, serde_json::to_vec(&rows).unwrap()).unwrap();
    common::run_python(
        "tsindex.py",
        &[json.as_os_str(), d.join("index.sqlite").as_os_str()],
    );
    all
}

/// portable-fdsnws-dataselect on a loopback port, serving the index.
fn dataselect_server(d: &Path) -> (Proc, u16) {
    let port = free_port();
    let ini = d.join("server.ini");
    std::fs::write(
        &ini,
        format!(
            "[index_db]\npath = {}\ntable = tsindex\nsummary_table = tsindex_summary\n\n\
             [server]\ninterface = 127.0.0.1\nport = {port}\n\n\
             [logging]\npath = {}\nlevel = INFO\n",
            d.join("index.sqlite").display(),
            d.join("dataselect.log").display()
        ),
    )
    .unwrap();
    let exe = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".venv-fdsnws/bin/portable-fdsnws-dataselect");
    assert!(
        exe.exists(),
        "{} is missing: run scripts/setup-python.sh",
        exe.display()
    );
    let mut c = std::process::Command::new(exe);
    c.arg(&ini);
    let mut p = Proc::spawn(c, d.join("dataselect-stdout.log"));
    wait_until(MINUTE, "the dataselect server to listen", || {
        if let Some(s) = p.child.try_wait().unwrap() {
            panic!(
                "the dataselect server exited ({s}):\n{}{}",
                p.log_text(),
                std::fs::read_to_string(d.join("dataselect.log")).unwrap_or_default()
            );
        }
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (p, port)
}

fn backfill_pipeline(
    d: &Path,
    url: &str,
    streams: &str,
    start: &str,
    end: &str,
    extra: &str,
) -> PathBuf {
    write_named(
        d,
        "backfill",
        &format!(
            r#"[pipeline]
name = "backfill"
bus = "{bus}"

[sources.fdsn]
type = "fdsnws"
url = "{url}"
streams = [{streams}]
start = "{start}"
end = "{end}"
state = "{state}"
commit_interval_s = 0.2
{extra}

[sinks.archive]
type = "mseed"
inputs = ["fdsn"]
path = "archive"
commit_interval_s = 0.2
"#,
            bus = if extra.contains("#kafka") {
                "kafka"
            } else {
                "memory"
            },
            state = d.join("fdsnws-state.json").display(),
        ),
    )
}

/// Runs a memory-bus backfill pipeline to its end; its log, and whether it succeeded.
fn run_backfill(d: &Path, p: &Path) -> (bool, String) {
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", d.to_str().unwrap())],
    );
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Requests the state file counts as done.
fn done(d: &Path) -> usize {
    std::fs::read(d.join("fdsnws-state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map_or(0, |v| v["done"].as_array().map_or(0, |a| a.len()))
}

/// Twelve 1 Hz channels (one station with an empty location) over ten days, served by a
/// real dataselect server, backfilled into Kafka and an SDS archive a request per channel
/// and day; the pipeline is SIGKILLed mid-backfill and run again: the archive holds every
/// record once, in order.
#[test]
fn backfill_from_a_real_dataselect_server_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eprintln!("in {}", d.display());
    let broker = Broker::start(d);
    let mut ids = Vec::new();
    for sta in ["S01", "S02", "S03", "S04"] {
        let loc = if sta == "S04" { "" } else { "00" };
        for cha in ["LHZ", "LHN", "LHE"] {
            ids.push(SeedId::new("XX", sta, loc, cha));
        }
    }
    let day0 = seisreduce::model::parse_iso("2024-02-27T00:00:00").unwrap();
    let days = 10;
    let want = archive(d, &ids, day0, days, 1.0);
    let (_server, port) = dataselect_server(d);
    let url = format!("http://127.0.0.1:{port}/fdsnws/dataselect/1/");
    let p = backfill_pipeline(
        d,
        &url,
        r#""XX.S0[1-3].00.LH?", "XX.S04.--.LH*""#.replace("[1-3]", "?").as_str(),
        "2024-02-27",
        "2024-03-08",
        "group = 1\npause_s = 0.25\n#kafka",
    );
    let spawn = |tag: &str| {
        let mut c = bin();
        c.args(["run", p.to_str().unwrap()]);
        c.env("SEISREDUCE_KAFKA_BROKERS", broker.address())
            .env("SEISREDUCE_STORAGE_ROOT", d.display().to_string())
            .env("SEISREDUCE_KAFKA_GROUP_INSTANCE_ID", "backfill-0")
            .env("SEISREDUCE_LOG_LEVEL", "info,librdkafka=off,rdkafka=off");
        Proc::spawn(c, d.join(format!("run-{tag}.log")))
    };
    // Two wildcard selections per day, each asked as its own request (group = 1).
    let planned = 2 * days as usize;
    let mut first = spawn("1");
    wait_until(MINUTE, "a quarter of the backfill", || {
        done(d) >= planned / 4
    });
    let at_kill = done(d);
    first.signal(libc::SIGKILL);
    first.wait(MINUTE);
    assert!(
        at_kill < planned,
        "the kill must land mid-backfill ({at_kill} of {planned} done)"
    );
    eprintln!("killed with {at_kill} of {planned} requests done");
    // A Kafka pipeline runs until it is stopped: once the backfill is done and archived.
    let mut second = spawn("2");
    let archive = d.join("archive");
    wait_until(Duration::from_secs(300), "the backfill to finish", || {
        done(d) == planned && records_so_far(&archive) >= want.len()
    });
    second.log_text();
    wait_until(MINUTE, "the source to say it is done", || {
        second.log_text().contains("backfill done")
    });
    let status = second.terminate(MINUTE);
    let log = second.log_text();
    assert!(status.success(), "second run failed:\n{log}");
    assert!(
        log.contains("resuming: requests already done are skipped"),
        "{log}"
    );
    assert_same_records(&want, &records(&archive));
}

/// What the scripted server answers, in order; the last one repeats.
#[derive(Clone)]
enum Reply {
    Status(u16, &'static str),
    TooMany(u64),
    /// 200 with the records, the body cut after `keep` bytes: with the full
    /// Content-Length (the connection drops) or without one (the reply just ends).
    Cut {
        keep: usize,
        announced: bool,
    },
    Records,
}

struct Seen {
    at: Instant,
    body: String,
}

/// A one-connection-at-a-time HTTP/1.1 server answering `replies` in order.
fn scripted_server(replies: Vec<Reply>, records: Vec<u8>) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (i, conn) in l.incoming().enumerate() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(Seen {
                at: Instant::now(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let reply = replies[i.min(replies.len() - 1)].clone();
            let head = |status: &str, extra: &str, len: Option<usize>| {
                let cl = len.map_or(String::new(), |n| format!("Content-Length: {n}\r\n"));
                format!("HTTP/1.1 {status}\r\nConnection: close\r\n{extra}{cl}\r\n")
            };
            let out: Vec<u8> = match reply {
                Reply::Status(code, text) => {
                    let b = format!("Error {code}: {text}\n");
                    [
                        head(&format!("{code} {text}"), "", Some(b.len())).into_bytes(),
                        b.into_bytes(),
                    ]
                    .concat()
                }
                Reply::TooMany(after) => {
                    let b = "Error 429: Too Many Requests\n";
                    [
                        head(
                            "429 Too Many Requests",
                            &format!("Retry-After: {after}\r\n"),
                            Some(b.len()),
                        )
                        .into_bytes(),
                        b.as_bytes().to_vec(),
                    ]
                    .concat()
                }
                Reply::Cut { keep, announced } => {
                    let cl = announced.then_some(records.len());
                    [
                        head("200 OK", "Content-Type: application/vnd.fdsn.mseed\r\n", cl)
                            .into_bytes(),
                        records[..keep].to_vec(),
                    ]
                    .concat()
                }
                Reply::Records => [
                    head(
                        "200 OK",
                        "Content-Type: application/vnd.fdsn.mseed\r\n",
                        Some(records.len()),
                    )
                    .into_bytes(),
                    records.clone(),
                ]
                .concat(),
            };
            let _ = s.write_all(&out);
            let _ = s.flush();
        }
    });
    (port, seen)
}

/// Every answer a busy node gives, in one backfill of two channels over two days: the data
/// arrive once, each retry waits as told, 413 splits the request, and a refusal fails the
/// run naming the request.
#[test]
fn busy_node_answers_are_retried_split_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = SeedId::new("XX", "S01", "00", "LHZ");
    let day0 = seisreduce::model::parse_iso("2024-02-27T00:00:00").unwrap();
    let recs = day_records(&id, day0, 0, 1.0, 7);
    let body = recs.concat();
    let replies = vec![
        Reply::TooMany(2), // 1: both streams, day 1: come back in 2 s
        Reply::Status(503, "Service Unavailable"), // 2: backoff
        Reply::Status(413, "Payload Too Large"), // 3: split into LHZ and LHN
        Reply::Cut {
            keep: body.len() / 2,
            announced: true,
        }, // 4: LHZ, connection drops
        Reply::Cut {
            keep: body.len() - 100,
            announced: false,
        }, // 5: LHZ, ends inside a record
        Reply::Records,    // 6: LHZ
        Reply::Status(204, "No Content"), // 7: LHN
        Reply::Status(404, "Not Found"), // 8: both, day 2
    ];
    let (port, seen) = scripted_server(replies, body);
    let url = format!("http://127.0.0.1:{port}/fdsnws/dataselect/1/");
    let p = backfill_pipeline(
        d,
        &url,
        r#""XX.S01.00.LHZ", "XX.S01.00.LHN""#,
        "2024-02-27",
        "2024-02-29",
        "backoff_min_s = 0.3\nquality = \"D\"",
    );
    let (ok, log) = run_backfill(d, &p);
    assert!(ok, "{log}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 8, "{log}");
    let lines = |i: usize| -> Vec<String> {
        seen[i]
            .body
            .lines()
            .filter(|l| l.starts_with("XX"))
            .map(str::to_string)
            .collect()
    };
    assert!(seen[0].body.starts_with("quality=D\n"));
    assert_eq!(
        lines(0),
        [
            "XX S01 00 LHZ 2024-02-27T00:00:00.000000 2024-02-27T23:59:59.999999",
            "XX S01 00 LHN 2024-02-27T00:00:00.000000 2024-02-27T23:59:59.999999"
        ]
    );
    let gap = |i: usize| seen[i].at.duration_since(seen[i - 1].at).as_secs_f64();
    assert!(
        gap(1) >= 1.9,
        "Retry-After: 2 honoured, waited {:.2} s",
        gap(1)
    );
    assert!(gap(2) >= 0.25, "backoff after 503: {:.2} s", gap(2));
    assert_eq!(lines(3).len(), 1, "413 halves the request");
    assert!(lines(3)[0].contains("LHZ") && lines(5)[0].contains("LHZ"));
    assert!(lines(6)[0].contains("LHN"));
    assert!(lines(7)[0].contains("2024-02-28T00:00:00.000000"));
    for what in [
        "HTTP 429",
        "HTTP 503",
        "too large (413)",
        "cut short",
        "ends inside a record",
    ] {
        assert!(log.contains(what), "the log says {what:?}:\n{log}");
    }
    assert_same_records(&recs, &records(&d.join("archive")));

    // A node that refuses (400): the run fails naming the request; nothing is marked done.
    let d2 = d.join("refused");
    std::fs::create_dir_all(&d2).unwrap();
    let (port, _) = scripted_server(vec![Reply::Status(400, "Bad Request")], Vec::new());
    let p = backfill_pipeline(
        &d2,
        &format!("http://127.0.0.1:{port}/fdsnws/dataselect/1/query"),
        r#""XX.S01.00.LHZ""#,
        "2024-02-27",
        "2024-02-28",
        "",
    );
    let (ok, err) = run_backfill(&d2, &p);
    assert!(!ok, "{err}");
    assert!(
        err.contains("HTTP 400")
            && err.contains(
                "2024-02-27T00:00:00.000000Z to 2024-02-28T00:00:00.000000Z, XX.S01.00.LHZ"
            ),
        "{err}"
    );
    assert_eq!(done(&d2), 0);
}

/// A run killed inside a request saved how many of its records were durable: the next run
/// asks again and passes on only the rest.
#[test]
fn a_request_under_way_resumes_after_its_durable_records() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = SeedId::new("XX", "S01", "00", "LHZ");
    let day0 = seisreduce::model::parse_iso("2024-02-27T00:00:00").unwrap();
    let recs = day_records(&id, day0, 0, 1.0, 3);
    let (port, seen) = scripted_server(vec![Reply::Records], recs.concat());
    let url = format!("http://127.0.0.1:{port}/fdsnws/dataselect/1/");
    // FNV-1a, as the source keeps it for the last durable record.
    let fnv = |b: &[u8]| format!("{:016x}", seisreduce::model::hash::fnv1a(b.iter().copied()));
    let state = serde_json::json!({
        "url": url,
        "done": [],
        "current": {
            "key": "2024-02-27T00:00:00.000000 2024-02-28T00:00:00.000000 XX.S01.00.LHZ",
            "records": 10,
            "last": fnv(&recs[9]),
        }
    });
    std::fs::write(d.join("fdsnws-state.json"), state.to_string()).unwrap();
    let p = backfill_pipeline(
        d,
        &url,
        r#""XX.S01.00.LHZ""#,
        "2024-02-27",
        "2024-02-28",
        "",
    );
    let (ok, log) = run_backfill(d, &p);
    assert!(ok, "{log}");
    assert!(!log.contains("differs"), "{log}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_same_records(&recs[10..], &records(&d.join("archive")));
    assert_eq!(done(d), 1);
}
