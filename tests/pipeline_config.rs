//! Bad pipeline files and settings: one test each, through `seisreduce check` as a user
//! would meet them. Every error names the file, the line, the stage and the key, and says
//! what would be valid.

mod common;

use std::path::{Path, PathBuf};

use common::procs::run;

const GOOD: &str = r#"[pipeline]
name = "demo"

[sources.noise]
type = "synthetic"
channels = 3
seconds = 10

[operators.lowrate]
type = "decimate"
inputs = ["noise"]
factor = 10

[sinks.archive]
type = "mseed"
inputs = ["lowrate"]
path = "demo"
"#;

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("p.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `check` on `text` with `env`: (exit code, stderr).
fn check_env(text: &str, env: &[(&str, &str)]) -> (i32, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), text);
    let o = run(&["check", p.to_str().unwrap()], env);
    let err = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    (o.status.code().unwrap_or(-1), err, p)
}

/// Asserts `check` fails and its message holds every one of `parts`.
fn fails(text: &str, parts: &[&str]) -> String {
    let (code, err, _) = check_env(text, &[]);
    assert_eq!(code, 2, "{err}");
    for p in parts {
        assert!(err.contains(p), "missing {p:?} in: {err}");
    }
    err
}

#[test]
fn good_file_passes() {
    let (code, out, _) = check_env(GOOD, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("lowrate (operator decimate) <- noise"),
        "{out}"
    );
}

#[test]
fn unknown_key_names_line_stage_key_and_valid_keys() {
    let err = fails(
        &GOOD.replace("factor = 10", "factor = 10\nfactr = 3"),
        &[
            "p.toml:13:",
            "stage `lowrate`",
            "key `factr`",
            "unknown field",
            "`factor`",
            "`atten_db`",
        ],
    );
    assert!(err.contains("besides `type` and `inputs`"), "{err}");
}

#[test]
fn unknown_type_lists_valid_types_and_suggests() {
    fails(
        &GOOD.replace("type = \"decimate\"", "type = \"decimat\""),
        &[
            "p.toml:10:",
            "stage `lowrate`",
            "key `type`",
            "did you mean `decimate`",
            "decode, decimate, filter",
        ],
    );
}

#[test]
fn type_in_the_wrong_section_is_explained() {
    fails(
        &GOOD.replace("type = \"decimate\"", "type = \"null\""),
        &["unknown operator type `null`", "`null` is a sink type"],
    );
}

#[test]
fn missing_input_suggests_the_closest_stage() {
    fails(
        &GOOD.replace("inputs = [\"noise\"]", "inputs = [\"nois\"]"),
        &[
            "p.toml:11:",
            "stage `lowrate`",
            "key `inputs`",
            "no stage named `nois`",
            "did you mean `noise`",
            "stages: ",
        ],
    );
}

#[test]
fn operator_without_inputs_is_refused() {
    fails(
        &GOOD.replace("inputs = [\"noise\"]\n", ""),
        &["stage `lowrate`", "key `inputs`", "missing"],
    );
}

#[test]
fn cycle_is_listed() {
    let text = GOOD.replace("inputs = [\"noise\"]", "inputs = [\"back\"]")
        + "\n[operators.back]\ntype = \"detrend\"\ninputs = [\"lowrate\"]\n";
    fails(
        &text,
        &["cycle:", "back -> lowrate -> back", "key `inputs`"],
    );
}

#[test]
fn wrong_kind_of_data_names_the_fix() {
    let text = GOOD.replace(
        "type = \"synthetic\"\nchannels = 3\nseconds = 10",
        "type = \"mseed\"\npath = \".\"",
    );
    fails(
        &text,
        &[
            "stage `lowrate`",
            "`noise` (source `mseed`) gives miniSEED records",
            "takes sample blocks",
            "`decode`",
        ],
    );
}

#[test]
fn bad_value_names_the_key() {
    fails(
        &GOOD.replace("factor = 10", "factor = \"ten\""),
        &[
            "p.toml:12:",
            "stage `lowrate`",
            "key `factor`",
            "invalid type",
        ],
    );
}

#[test]
fn invalid_operator_parameter_is_caught_before_running() {
    fails(
        &GOOD.replace(
            "type = \"decimate\"\ninputs = [\"noise\"]\nfactor = 10",
            "type = \"filter\"\ninputs = [\"noise\"]\nkind = \"bandpass\"\nfreqmin = 1.0",
        ),
        &["stage `lowrate`", "key `freqmax`", "required"],
    );
}

#[test]
fn unknown_section_and_missing_header() {
    fails(
        &(GOOD.to_string() + "\n[sink.x]\ntype = \"null\"\n"),
        &["p.toml:", "unknown field `sink`", "`sinks`"],
    );
    fails(
        &GOOD.replace("[pipeline]\nname = \"demo\"\n", ""),
        &["missing the [pipeline] table"],
    );
}

#[test]
fn duplicate_stage_names_across_sections() {
    fails(
        &(GOOD.to_string() + "\n[sinks.noise]\ntype = \"null\"\ninputs = [\"lowrate\"]\n"),
        &["stage `noise`", "name already used by the source on line 4"],
    );
}

#[test]
fn missing_source_path_is_named() {
    fails(
        &GOOD
            .replace(
                "type = \"synthetic\"\nchannels = 3\nseconds = 10",
                "type = \"mseed\"\npath = \"/no/such/archive\"",
            )
            .replace(
                "type = \"decimate\"\ninputs = [\"noise\"]\nfactor = 10",
                "type = \"decode\"\ninputs = [\"noise\"]",
            ),
        &[
            "stage `noise`",
            "key `path`",
            "/no/such/archive does not exist",
        ],
    );
}

#[test]
fn unknown_setting_in_a_config_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), GOOD);
    let cfg = dir.path().join("site.toml");
    std::fs::write(&cfg, "[kafka]\nbrokers = \"k:9092\"\nbroker = \"x\"\n").unwrap();
    let o = run(
        &[
            "check",
            p.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("site.toml:3:")
            && err.contains("unknown field `broker`")
            && err.contains("`brokers`"),
        "{err}"
    );
}

#[test]
fn unknown_environment_variable_is_named_with_the_valid_ones() {
    let (code, err, _) = check_env(GOOD, &[("SEISREDUCE_KAFKA_BROKER", "x:1")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("SEISREDUCE_KAFKA_BROKER:") && err.contains("SEISREDUCE_KAFKA_BROKERS"),
        "{err}"
    );
    let (code, err, _) = check_env(GOOD, &[("SEISREDUCE_KAFKA_PARTITIONS", "many")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("SEISREDUCE_KAFKA_PARTITIONS") && err.contains("whole number"),
        "{err}"
    );
}

#[test]
fn secrets_are_never_printed() {
    let env = [
        ("SEISREDUCE_KAFKA_SASL_PASSWORD", "hunter2-secret"),
        ("SEISREDUCE_KAFKA_SASL_USERNAME", "alice"),
        ("SEISREDUCE_KAFKA_SSL_KEY_PASSWORD", "keypass-secret"),
    ];
    let (code, out, _) = check_env(GOOD, &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("alice") && out.contains("***"), "{out}");
    assert!(
        !out.contains("hunter2") && !out.contains("keypass"),
        "{out}"
    );
    // The run logs its settings at start; a run that fails on its pipeline still starts logging.
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), &GOOD.replace("seconds = 10", "seconds = 1"));
    let mut env = env.to_vec();
    let root = dir.path().to_str().unwrap().to_string();
    env.push(("SEISREDUCE_STORAGE_ROOT", &root));
    env.push(("SEISREDUCE_LOG_LEVEL", "debug"));
    let o = run(&["run", p.to_str().unwrap()], &env);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    assert!(
        log.contains("sasl_password") && !log.contains("hunter2") && !log.contains("keypass"),
        "{log}"
    );
}

#[test]
fn stages_subset_needs_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), GOOD);
    let o = run(&["run", p.to_str().unwrap(), "--stages", "noise"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("--stages") && err.contains("bus = \"kafka\""),
        "{err}"
    );
    let o = run(&["run", p.to_str().unwrap(), "--stages", "nosie"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no stage named `nosie`") && err.contains("did you mean `noise`"),
        "{err}"
    );
}

#[test]
fn shipped_pipelines_pass_check() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cases: &[(&str, &[&str])] = &[
        ("pipelines/quickstart.toml", &[]),
        ("pipelines/synthetic-demo.toml", &[]),
        ("pipelines/noise-correlation.toml", &[]),
        ("pipelines/seedlink-resif.toml", &[]),
        ("pipelines/resif-backfill.toml", &[]),
        ("pipelines/station-quality.toml", &[]),
        ("pipelines/volcano-rsam.toml", &[]),
        // The processing side of a split pipeline: the acquisition host's archive is not here.
        (
            "pipelines/network-kafka.toml",
            &["--stages", "decode,lowrate,archive"],
        ),
    ];
    for (file, extra) in cases {
        let mut c = common::procs::bin();
        c.current_dir(&root).args(["check", file]).args(*extra);
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Run where the archive should be, the ingest stage's missing path is named.
    let o = run(
        &[
            "check",
            root.join("pipelines/network-kafka.toml").to_str().unwrap(),
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("stage `ingest`") && err.contains("key `path`"),
        "{err}"
    );
}
