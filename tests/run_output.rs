//! What a run tells its user: the closing summary (every drop the counters count, what each
//! sink wrote where), one screen for the quickstart, ISO times; `check`'s memory table, and a
//! measured peak RSS under the bound `check` printed; the stage-type table in the README.

mod common;

use std::path::{Path, PathBuf};

use common::procs::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The number after `label` in `text` (digits with thousands commas).
fn number_after(text: &str, label: &str) -> Option<u64> {
    let at = text.find(label)? + label.len();
    let digits: String = text[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits.parse().ok()
}

#[test]
fn quickstart_fits_one_screen_says_what_it_wrote_and_counts_every_drop() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(
        &root(),
        &["run", "pipelines/quickstart.toml"],
        &[("SEISREDUCE_STORAGE_ROOT", dir.path().to_str().unwrap())],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    let lines = log.lines().count();
    assert!(lines <= 45, "{lines} lines on the terminal:\n{log}");
    // What was written where, and how to open it.
    let etna = dir.path().join("quickstart/etna.zarr");
    assert!(
        log.contains(&format!(
            "{}: array `strain_rate` 3 channels",
            etna.display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("xarray.open_zarr(\"{}\")", etna.display())),
        "{log}"
    );
    assert!(
        log.contains("SDS archive") && log.contains("obspy.read("),
        "{log}"
    );
    assert!(log.contains("pandas.read_parquet("), "{log}");
    // No raw nanosecond integers and no Debug dumps on the terminal.
    assert!(
        !log.contains("position=None") && !log.contains("Settings {"),
        "{log}"
    );
    let raw_ns = log
        .split(|c: char| !c.is_ascii_digit())
        .any(|w| w.len() >= 18);
    assert!(!raw_ns, "a raw nanosecond time in:\n{log}");

    // Every broken record of the shared files, as inspect finds them independently: its
    // per-file errors (record structure and sample data) and the files it cannot read at all
    // (an empty file holds no record to lose). The source counts the structural ones, `decode`
    // those whose samples do not decode.
    let o = run_in(
        &root(),
        &["inspect", "--json", "../shared/test-data/mseed"],
        &[],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let broken: u64 = v
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, f)| {
            let listed = f
                .get("errors")
                .and_then(|e| e.as_array())
                .map_or(0, |e| e.len() as u64);
            let size = std::fs::metadata(root().join(path)).unwrap().len();
            listed + u64::from(f.get("error").is_some() && size > 0)
        })
        .sum();
    let files_line = log
        .lines()
        .find(|l| l.trim_start().starts_with("files "))
        .unwrap_or_else(|| panic!("no summary line for `files`:\n{log}"));
    let decode_line = log
        .lines()
        .find(|l| l.trim_start().starts_with("decode "))
        .unwrap();
    let counted = number_after(files_line, "corrupt_record").unwrap_or(0)
        + number_after(decode_line, "corrupt_record").unwrap_or(0);
    assert_eq!(counted, broken, "{files_line}\n{decode_line}");
    // Every message a stage took is passed on, joined to the one before (contiguous records
    // of a stream become one block) or counted as dropped, with its reason.
    let records_in = number_after(decode_line, "operator decode").unwrap();
    let out = decode_line.split(", ").nth(1).unwrap();
    let records_out = number_after(out, "").unwrap();
    let dropped = number_after(decode_line, "dropped").unwrap_or(0);
    let joined = decode_line
        .split("; ")
        .find_map(|p| p.strip_suffix(" joined records"))
        .map_or(0, |n| n.replace(',', "").parse::<u64>().unwrap());
    assert!(
        joined > 0,
        "the shared files' records are joined: {decode_line}"
    );
    assert_eq!(records_in, records_out + dropped + joined, "{decode_line}");
}

/// Runs the binary in `cwd`.
fn run_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = bin();
    c.current_dir(cwd).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn damage_in_a_file_is_one_line_at_info_each_span_at_debug() {
    let dir = tempfile::tempdir().unwrap();
    let input = synth(dir.path(), 1, 600.0);
    let mut bytes = std::fs::read(&input).unwrap();
    let records = seisreduce::formats::mseed::RecordReader::new(&bytes).count() as u64;
    // Break ten records in the middle of the file.
    for k in 0..10 {
        let at = 512 * (20 + 3 * k);
        bytes[at..at + 8].copy_from_slice(b"garbage!");
    }
    let broken = dir.path().join("broken.mseed");
    std::fs::write(&broken, &bytes).unwrap();
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"d\"\n\n[sources.files]\ntype = \"mseed\"\npath = \"{}\"\n\n[sinks.n]\ntype = \"null\"\ninputs = [\"files\"]\n",
            broken.display()
        ),
    );
    let o = run(&["run", p.to_str().unwrap()], &[]);
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    let mentions = log
        .lines()
        .filter(|l| l.contains("broken.mseed") && l.contains("skipped"))
        .count();
    assert_eq!(mentions, 1, "{log}");
    assert!(
        log.contains("skipped 10 damaged spans between bytes 10240 and"),
        "{log}"
    );
    assert!(log.contains("corrupt_record 10"), "{log}");
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_LOG_LEVEL", "debug")],
    );
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        log.lines().filter(|l| l.contains("broken.mseed")).count() >= 11,
        "{log}"
    );
    // --quiet: nothing but the warning.
    let o = run(&["run", "--quiet", p.to_str().unwrap()], &[]);
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(log.lines().count(), 1, "{log}");
    // JSON logs: the summary is structured too.
    let o = run(&["run", "--log-format", "json", p.to_str().unwrap()], &[]);
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["message"] == "stage summary" && v["stage"] == "files" {
            assert_eq!(v["records_out"], records - 10, "{line}");
        }
    }
    assert!(log.contains("\"stage summary\""), "{log}");
}

#[test]
fn check_prints_memory_bounds_and_run_refuses_above_the_limit() {
    for file in ["pipelines/quickstart.toml", "pipelines/synthetic-demo.toml"] {
        let o = run_in(&root(), &["check", file], &[]);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.contains("memory bound"), "{out}");
        assert!(
            out.lines().any(|l| l.trim_start().starts_with("total")),
            "{out}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write_pipeline(
        dir.path(),
        "[pipeline]\nname = \"big\"\n\n[sources.fibre]\ntype = \"synthetic\"\nlayout = \"array\"\nchannels = 20000\nrate = 1000.0\nseconds = 1\n\n[operators.smooth]\ntype = \"detrend\"\ninputs = [\"fibre\"]\nwindow_s = 60\n\n[sinks.n]\ntype = \"null\"\ninputs = [\"smooth\"]\n",
    );
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_MEMORY_LIMIT", "2GiB")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("limit is 2.0 GiB (memory.limit)")
            && err.contains("holds the most")
            && err.contains("from `smooth`"),
        "{err}"
    );
    let o = run(
        &["run", p.to_str().unwrap()],
        &[("SEISREDUCE_MEMORY_LIMIT", "lots")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("memory.limit = \"lots\": not a size"), "{err}");
}

/// Peak RSS (bytes) of `seisreduce ARGS` run to the end, from the kernel's own account.
fn peak_rss(args: &[&str], env: &[(&str, &str)]) -> u64 {
    let mut c = bin();
    c.args(args).stderr(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    // Reaped by wait4 below (for its rusage), not by `Child::wait`.
    let child = c.spawn().unwrap().id() as i32;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 reaps exactly this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child, &mut status, 0, &mut usage) };
    assert_eq!(pid, child);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    usage.ru_maxrss as u64 * 1024
}

/// The `total` line of `check`'s memory table, in bytes.
fn stated_total(text: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("total"))
        .unwrap();
    let mut w = line.split_whitespace().skip(1);
    let v: f64 = w.next().unwrap().parse().unwrap();
    let unit = match w.next().unwrap() {
        "KiB" => 1u64 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 1,
    };
    (v * unit as f64) as u64
}

#[test]
fn measured_peak_rss_stays_under_the_stated_bound() {
    let dir = tempfile::tempdir().unwrap();
    // A DAS-like array through a decimator and a zero-phase filter into Zarr: the stages whose
    // memory grows with channels, windows and shards.
    let p = write_pipeline(
        dir.path(),
        "[pipeline]\nname = \"rss\"\nqueue = 8\n\n[sources.fibre]\ntype = \"synthetic\"\nlayout = \"array\"\nchannels = 2000\nrate = 1000.0\nseconds = 300\n\n[operators.low]\ntype = \"decimate\"\ninputs = [\"fibre\"]\nfactor = 4\n\n[operators.band]\ntype = \"filter\"\ninputs = [\"low\"]\nkind = \"bandpass\"\nfreqmin = 1.0\nfreqmax = 40.0\nzerophase = true\nwindow_s = 10\n\n[sinks.store]\ntype = \"zarr\"\ninputs = [\"band\"]\npath = \"fibre.zarr\"\n",
    );
    let env = [("SEISREDUCE_STORAGE_ROOT", dir.path().to_str().unwrap())];
    let o = run(&["check", p.to_str().unwrap()], &env);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bound = stated_total(&table);
    let peak = peak_rss(&["run", p.to_str().unwrap()], &env);
    eprintln!("{table}\nmeasured peak RSS {} MiB", peak >> 20);
    assert!(
        peak <= bound,
        "peak RSS {} MiB above the stated {} MiB:\n{table}",
        peak >> 20,
        bound >> 20
    );
    // The bound is a bound, not a guess far above: within 4x of what was used.
    assert!(
        bound <= 4 * peak,
        "bound {} MiB is far above the peak {} MiB:\n{table}",
        bound >> 20,
        peak >> 20
    );
}

#[test]
fn pipeline_readme_lists_every_stage_type() {
    let o = run(&["types", "--markdown"], &[]);
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let readme = std::fs::read_to_string(root().join("pipelines/README.md")).unwrap();
    let begin = readme.find("<!-- types:begin -->\n").unwrap() + "<!-- types:begin -->\n".len();
    let end = readme.find("<!-- types:end -->").unwrap();
    assert_eq!(
        &readme[begin..end],
        table,
        "pipelines/README.md's table differs from `seisreduce types --markdown`"
    );
    for t in seisreduce::pipeline::registry::TYPES {
        // Each type's keys are documented in the keys table too.
        let row = format!("`{}`", t.name);
        assert!(
            readme.matches(&row).count() >= 2,
            "pipelines/README.md does not document the keys of `{}`",
            t.name
        );
    }
}
