//! Every file of the shared miniSEED test data read as the reference readers read it:
//! `mseed/TRUTH.json` is ObsPy 1.5.1's view (traces after joining), `mseed3/TRUTH.json` is
//! libmseed 3's (one entry per record).

mod common;

use seisreduce::inspect::{read_file, records_json, traces_json, FileOutcome};
use seisreduce::model::time::parse_iso;
use serde_json::Value;

fn key(t: &Value) -> (String, i64) {
    let id = t["id"].as_str().unwrap_or_default().to_string();
    let start = parse_iso(t["start"].as_str().unwrap_or_default()).unwrap_or_default();
    (id, start)
}

/// ObsPy prints times rounded to the microsecond; ours are exact to the nanosecond.
fn same_time(ours: &Value, theirs: &Value) -> bool {
    let a = parse_iso(ours.as_str().unwrap_or_default()).expect("our time parses");
    let b = parse_iso(theirs.as_str().unwrap_or_default()).expect("truth time parses");
    (a - b).abs() <= 1_000
}

#[test]
fn mseed2_files_match_obspy() {
    let truth = common::truth("mseed");
    let dir = common::test_data().join("mseed");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, expected) in truth.as_object().expect("object") {
        let path = dir.join(name);
        let outcome = read_file(&path);
        let ours = traces_json(&path, &outcome);
        if let Some(err) = expected.get("error") {
            // The reference rejects this file: we must reject it too, or read the whole
            // records and report what we could not read.
            let reported = match &outcome {
                FileOutcome::Error(msg) => {
                    assert!(msg.contains(name.as_str()) && msg.contains("byte"), "{msg}");
                    true
                }
                FileOutcome::Read(a) => !a.errors.is_empty(),
            };
            if !reported {
                failures.push(format!("{name}: ObsPy says {err}, we reported nothing"));
            }
            checked += 1;
            continue;
        }
        let Some(ours_traces) = ours.get("traces").and_then(Value::as_array) else {
            failures.push(format!("{name}: we failed: {ours}"));
            continue;
        };
        let mut ours_traces = ours_traces.clone();
        let mut want = expected["traces"].as_array().expect("traces").clone();
        ours_traces.sort_by_key(key);
        want.sort_by_key(key);
        if ours_traces.len() != want.len() {
            failures.push(format!(
                "{name}: {} traces, ObsPy {}",
                ours_traces.len(),
                want.len()
            ));
            continue;
        }
        for (a, b) in ours_traces.iter().zip(&want) {
            let mut diff = |what: &str, ok: bool| {
                if !ok {
                    failures.push(format!("{name} {}: {what}: ours {a} truth {b}", b["id"]));
                }
            };
            diff("id", a["id"] == b["id"]);
            diff("start", same_time(&a["start"], &b["start"]));
            diff("end", same_time(&a["end"], &b["end"]));
            let (ra, rb) = (
                a["sampling_rate"].as_f64().unwrap(),
                b["sampling_rate"].as_f64().unwrap(),
            );
            diff("rate", (ra - rb).abs() <= 1e-9 * rb.abs().max(1.0));
            diff("npts", a["npts"] == b["npts"]);
            diff("encoding", a["encoding"] == b["encoding"]);
            diff("record_length", a["record_length"] == b["record_length"]);
            let sha = b["sha256_samples"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            diff("samples", a["sha256_samples"].as_str() == Some(sha));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every miniSEED file in the folder is covered by the truth file.
    let files = std::fs::read_dir(&dir).unwrap().count() - 1;
    assert_eq!(
        checked,
        files,
        "a file in {} is missing from TRUTH.json",
        dir.display()
    );
}

fn libmseed_encoding(description: &str) -> &str {
    match description {
        "STEIM-1 integer compression" => "STEIM1",
        "STEIM-2 integer compression" => "STEIM2",
        "16-bit integer" => "INT16",
        "32-bit integer" => "INT32",
        "32-bit float (IEEE single)" => "FLOAT32",
        "64-bit float (IEEE double)" => "FLOAT64",
        "Text" => "ASCII",
        other => other,
    }
}

#[test]
fn mseed3_records_match_libmseed() {
    let truth = common::truth("mseed3");
    let dir = common::test_data().join("mseed3");
    let mut failures = Vec::new();
    let mut n = 0;
    for (name, expected) in truth.as_object().expect("object") {
        let ours = records_json(&dir.join(name));
        let got = ours["records"].as_array().cloned().unwrap_or_default();
        let want = expected["records"].as_array().expect("records");
        if got.len() != want.len() || ours.get("errors").is_some() {
            failures.push(format!(
                "{name}: {} records, libmseed {}: {ours}",
                got.len(),
                want.len()
            ));
            continue;
        }
        for (a, b) in got.iter().zip(want) {
            n += 1;
            let mut check = |what: &str, ok: bool| {
                if !ok {
                    failures.push(format!("{name}: {what}: ours {a} truth {b}"));
                }
            };
            check("sourceid", a["sourceid"] == b["sourceid"]);
            check("start_ns", a["start_ns"] == b["start_ns"]);
            check("samprate", a["samprate"].as_f64() == b["samprate"].as_f64());
            check("numsamples", a["numsamples"] == b["numsamples"]);
            check("reclen", a["reclen"] == b["reclen"]);
            check("pubversion", a["pubversion"] == b["pubversion"]);
            check("formatversion", a["formatversion"] == b["formatversion"]);
            check(
                "encoding",
                a["encoding"].as_str() == Some(libmseed_encoding(b["encoding"].as_str().unwrap())),
            );
            let extra = |v: &Value| {
                v.as_str()
                    .map(|s| serde_json::from_str::<Value>(s).unwrap())
            };
            check("extra", extra(&a["extra"]) == extra(&b["extra"]));
            if let Some(sha) = b.get("sha256_samples") {
                check("samples", &a["sha256_samples"] == sha);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n > 30, "only {n} records compared");
}
