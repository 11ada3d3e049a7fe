//! The `seisreduce` binary as a user runs it.

mod common;

use std::process::Command;

fn seisreduce(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_seisreduce"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn inspect_table_shows_traces_and_gaps() {
    let f = common::test_data().join("mseed/gaps.mseed");
    let (code, out, _) = seisreduce(&["inspect", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("4 trace(s) from 128 record(s)"), "{out}");
    assert!(out.contains("BW.BGLD..EHE | 2007-12-31T23:59:59.915000Z - 2008-01-01T00:00:01.970000Z | 200 Hz, 412 samples | STEIM1"), "{out}");
    assert!(
        out.contains("gap     2008-01-01T00:00:01.970000Z -> 2008-01-01T00:00:04.035000Z"),
        "{out}"
    );
}

#[test]
fn inspect_json_is_keyed_by_file_and_errors_exit_1() {
    let good = common::test_data().join("mseed/two_channels.mseed");
    let bad = common::test_data().join("mseed/not.mseed");
    let (code, out, _) = seisreduce(&[
        "inspect",
        "--json",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(
        code, 1,
        "a file that cannot be read makes the exit status 1"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let traces = v[good.to_str().unwrap()]["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2);
    for key in [
        "id",
        "start",
        "end",
        "sampling_rate",
        "npts",
        "encoding",
        "record_length",
        "sha256_samples",
    ] {
        assert!(traces[0].get(key).is_some(), "missing {key}");
    }
    let err = v[bad.to_str().unwrap()]["error"].as_str().unwrap();
    assert!(err.contains("not.mseed") && err.contains("byte 0"), "{err}");
}

#[test]
fn records_and_synth() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.mseed3");
    let (code, _, err) = seisreduce(&[
        "synth",
        "--out",
        f.to_str().unwrap(),
        "--channels",
        "3",
        "--seconds",
        "60",
        "--format-version",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = seisreduce(&["inspect", "--records", "--json", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let recs = v[f.to_str().unwrap()]["records"].as_array().unwrap();
    let total: u64 = recs.iter().map(|r| r["numsamples"].as_u64().unwrap()).sum();
    assert_eq!(total, 3 * 60 * 100);
    assert!(recs.iter().all(|r| r["formatversion"] == 3));
    let (code, _, err) = seisreduce(&["synth", "--out", f.to_str().unwrap(), "--encoding", "NOPE"]);
    assert_eq!(code, 2);
    assert!(err.contains("--encoding NOPE"), "{err}");
}
