//! `seisreduce run` on the memory bus: files and synthetic data through operators into the
//! archive, a clean stop on SIGTERM, and a failing stage named in the exit.

mod common;

use std::process::Command;
use std::time::Duration;

use common::procs::*;
use seisreduce::formats::mseed::read_buffer;

#[test]
fn files_replay_into_the_archive_record_for_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = synth(dir.path(), 6, 600.0);
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"copy\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n[sinks.archive]\ntype = \"mseed\"\ninputs = [\"files\"]\npath = \"sds\"\n",
            input.display()
        ),
    );
    run_in(&p, dir.path());
    let out = dir.path().join("sds");
    assert!(out
        .join("2025/XX/S000/HHZ.D/XX.S000.00.HHZ.D.2025.001")
        .exists());
    assert_same_records(&records(&input), &records(&out));
}

#[test]
fn synthetic_decimated_into_the_archive_on_the_output_grid() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "[pipeline]\nname = \"dec\"\n\n[sources.noise]\ntype = \"synthetic\"\nchannels = 3\nseconds = 600\nchunk_s = 0.7\n\n[operators.lowrate]\ntype = \"decimate\"\ninputs = [\"noise\"]\nfactor = 10\n\n[sinks.archive]\ntype = \"mseed\"\ninputs = [\"lowrate\"]\npath = \"sds\"\n",
    );
    run_in(&p, dir.path());
    let files = seisreduce::paths::expand_paths(&[dir.path().join("sds/2025")]);
    assert_eq!(files.len(), 3, "{files:?}");
    for f in files {
        let a = read_buffer(&std::fs::read(&f).unwrap());
        assert_eq!(a.segments.len(), 1, "{}: one contiguous trace", f.display());
        let s = &a.segments[0];
        assert_eq!(s.rate.hz(), 10.0);
        assert_eq!(s.npts(), 6000);
        assert_eq!(s.start, 1_735_689_600_000_000_000);
    }
}

#[test]
fn sigterm_drains_flushes_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "[pipeline]\nname = \"live\"\n\n[sources.noise]\ntype = \"synthetic\"\nchannels = 6\nrate = 100\nchunk_s = 0.1\nrealtime = true\n\n[operators.lowrate]\ntype = \"decimate\"\ninputs = [\"noise\"]\nfactor = 5\n\n[sinks.archive]\ntype = \"mseed\"\ninputs = [\"lowrate\"]\npath = \"sds\"\n",
    );
    let port = free_port();
    let mut c: Command = bin();
    c.args(["run", p.to_str().unwrap()])
        .env("SEISREDUCE_STORAGE_ROOT", dir.path())
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{port}"));
    let mut proc = Proc::spawn(c, dir.path().join("run.log"));
    wait_until(Duration::from_secs(30), "ready", || {
        http_get(port, "/readyz").is_some_and(|(c, _)| c == 200)
    });
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    assert_eq!(http_get(port, "/nope").unwrap().0, 404);
    let series = "seisreduce_records_in_total{pipeline=\"live\",stage=\"archive\"}";
    wait_until(Duration::from_secs(30), "data at the sink", || {
        metric(port, series).unwrap_or(0.0) >= 20.0
    });
    let body = http_get(port, "/metrics").unwrap().1;
    for name in [
        "seisreduce_samples_out_total{pipeline=\"live\",stage=\"noise\"}",
        "seisreduce_queue_depth{pipeline=\"live\",stage=\"lowrate\"}",
        "seisreduce_data_lag_seconds{pipeline=\"live\",stage=\"archive\"}",
        "seisreduce_bytes_in_total{pipeline=\"live\",stage=\"lowrate\"}",
    ] {
        assert!(body.contains(name), "{name} missing from:\n{body}");
    }
    let status = proc.terminate(Duration::from_secs(20));
    let log = proc.log_text();
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("stopping"), "{log}");
    // The summary is printed on a signal too, and says what was written where.
    assert!(log.contains("live stopped after"), "{log}");
    let sds = dir.path().join("sds");
    assert!(
        log.contains(&format!("{}: SDS archive", sds.display())),
        "{log}"
    );
    // Everything the source made reached the archive: one contiguous trace per channel,
    // flushed through the decimator's delay line.
    let files = seisreduce::paths::expand_paths(&[dir.path().join("sds")]);
    let traces: Vec<_> = files
        .iter()
        .filter(|f| !f.to_string_lossy().contains(".seisreduce"))
        .map(|f| read_buffer(&std::fs::read(f).unwrap()))
        .collect();
    assert_eq!(traces.len(), 6);
    for a in &traces {
        assert_eq!(a.segments.len(), 1);
        assert!(a.segments[0].npts() >= 10, "{}", a.segments[0].npts());
    }
}

#[test]
fn a_failing_stage_is_named_and_the_exit_is_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"bad\"\n\n[sources.noise]\ntype = \"synthetic\"\nseconds = 5\n\n[sinks.archive]\ntype = \"mseed\"\ninputs = [\"noise\"]\npath = \"{}/sds\"\n",
            blocker.display()
        ),
    );
    let o = run(&["run", p.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("stage `archive`") && err.contains("file/sds"),
        "{err}"
    );
}

#[test]
fn sds_archive_as_a_source_selects_streams_and_days() {
    let dir = tempfile::tempdir().unwrap();
    let input = synth(dir.path(), 6, 600.0);
    // First build an SDS archive from the file...
    let copy = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"copy\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n[sinks.archive]\ntype = \"mseed\"\ninputs = [\"files\"]\npath = \"sds\"\n",
            input.display()
        ),
    );
    run_in(&copy, dir.path());
    // ...then replay it, auto-detected as SDS, one station's vertical only, that day only.
    let sds = dir.path().join("sds");
    let replay = dir.path().join("replay.toml");
    std::fs::write(
        &replay,
        format!(
            "[pipeline]\nname = \"replay\"\n\n[sources.sds]\ntype = \"mseed\"\npath = \"{}\"\nstreams = [\"XX.S001.*.?HZ\"]\nstart = \"2025-01-01\"\nend = \"2025-01-02\"\n\n[sinks.out]\ntype = \"mseed\"\ninputs = [\"sds\"]\npath = \"picked\"\n",
            sds.display()
        ),
    )
    .unwrap();
    run_in(&replay, dir.path());
    let want: Vec<Vec<u8>> = records(&input)
        .into_iter()
        .filter(|r| {
            let rec = seisreduce::formats::mseed::RecordReader::new(r)
                .next()
                .unwrap()
                .unwrap();
            rec.header.seed_text() == "XX.S001.00.HHZ"
        })
        .collect();
    assert!(!want.is_empty());
    assert_same_records(&want, &records(&dir.path().join("picked")));
    // A day outside the archive selects nothing.
    std::fs::write(
        &replay,
        std::fs::read_to_string(&replay)
            .unwrap()
            .replace("2025-01-01\"", "2025-02-01\"")
            .replace("2025-01-02\"", "2025-02-02\"")
            .replace("picked", "none"),
    )
    .unwrap();
    run_in(&replay, dir.path());
    assert!(records(&dir.path().join("none")).is_empty());
}
