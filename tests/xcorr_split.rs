//! A correlation split across processes on a real Kafka-protocol broker (tansu): one process
//! reads the files and computes each window's spectra once (`xcorr_spectra`), two `xcorr`
//! instances each correlate their share of the pairs from the spectra topic, a fourth stores
//! both in one Zarr; the stacks equal a one-process run's.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::procs::*;
use seisreduce::formats::mseed::{encode, EncodeOptions, Samples};
use seisreduce::model::{SampleRate, SeedId};
use seisreduce::synthetic::signal::Rng;

const MINUTE: Duration = Duration::from_secs(60);
const T0: i64 = 1_735_689_600_000_000_000;

const KEYS: &str = r#"cc_len_s = 300
step_s = 150
maxlag_s = 10
freqmin = 0.2
freqmax = 4.0
substacks = ["30m"]
# Over Kafka the channels come a partition at a time: wait for all four, up to an hour.
channels = 4
wait_s = 3600"#;

fn write_stations(dir: &Path) {
    let rate = 20.0;
    let n = (3600.0 * rate) as usize;
    let mut r = Rng::new(8);
    let field: Vec<f64> = (0..n + 200).map(|_| r.normal()).collect();
    for (sta, d) in [("STA", 0usize), ("STB", 20), ("STC", 50), ("STD", 90)] {
        let x: Vec<i32> = (0..n)
            .map(|i| ((field[i + 200 - d] + 0.5 * r.normal()) * 1000.0) as i32)
            .collect();
        let sid = SeedId::new("XX", sta, "00", "HHZ").to_source_id();
        let recs = encode(
            &sid,
            T0,
            SampleRate(rate),
            &Samples::Int(x),
            &EncodeOptions::default(),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{sta}.mseed")), recs.concat()).unwrap();
    }
}

fn metric_of(port: u16, series: &str) -> f64 {
    metric(port, series).unwrap_or(0.0)
}

struct Running {
    proc: Proc,
    metrics: u16,
}

fn start(pipeline: &Path, stages: &str, broker: &Broker, root: &Path) -> Running {
    let metrics = free_port();
    let mut c: Command = bin();
    c.args(["run", pipeline.to_str().unwrap(), "--stages", stages])
        .env("SEISREDUCE_KAFKA_BROKERS", broker.address())
        .env("SEISREDUCE_STORAGE_ROOT", root)
        .env("SEISREDUCE_METRICS_LISTEN", format!("127.0.0.1:{metrics}"))
        .env("SEISREDUCE_LOG_LEVEL", "info,librdkafka=off,rdkafka=off");
    let log = root.join(format!("{}.log", stages.replace(',', "-")));
    Running {
        proc: Proc::spawn(c, log),
        metrics,
    }
}

#[test]
fn two_xcorr_processes_make_the_stacks_one_process_makes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_stations(&data);
    let source = format!(
        "[sources.files]\ntype = \"mseed\"\npath = \"{}\"\nspeed = \"realtime\"\nspeedup = 1000000\n\n[operators.samples]\ntype = \"decode\"\ninputs = [\"files\"]\n",
        data.display()
    );

    // One process, memory bus: the reference.
    let one = write_pipeline(
        root,
        &format!(
            "[pipeline]\nname = \"one\"\n\n{source}\n[operators.xc]\ntype = \"xcorr\"\ninputs = [\"samples\"]\n{KEYS}\n\n[sinks.ccf]\ntype = \"zarr\"\ninputs = [\"xc\"]\npath = \"one.zarr\"\n"
        ),
    );
    let o = run(
        &["run", one.to_str().unwrap()],
        &[("SEISREDUCE_STORAGE_ROOT", root.to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Split over Kafka: spectra once, two instances, one sink for both.
    let split = root.join("split.toml");
    std::fs::write(
        &split,
        format!(
            "[pipeline]\nname = \"split\"\nbus = \"kafka\"\n\n{source}\n[operators.spectra]\ntype = \"xcorr_spectra\"\ninputs = [\"samples\"]\n{KEYS}\n\n\
             [operators.xc0]\ntype = \"xcorr\"\ninputs = [\"spectra\"]\ninstance = 0\ninstances = 2\n{KEYS}\n\n\
             [operators.xc1]\ntype = \"xcorr\"\ninputs = [\"spectra\"]\ninstance = 1\ninstances = 2\n{KEYS}\n\n\
             [sinks.ccf]\ntype = \"zarr\"\ninputs = [\"xc0\", \"xc1\"]\npath = \"split.zarr\"\n"
        ),
    )
    .unwrap();
    let broker = Broker::start(root);
    let mut xc0 = start(&split, "xc0", &broker, root);
    let mut xc1 = start(&split, "xc1", &broker, root);
    let mut sink = start(&split, "ccf", &broker, root);
    let mut spectra_proc = start(&split, "samples,spectra", &broker, root);
    let mut ingest = start(&split, "files", &broker, root);
    let s = ingest.proc.wait(2 * MINUTE);
    assert!(s.success(), "{}", ingest.proc.log_text());
    // 23 whole windows fit the hour (the one the data end inside is counted, not sent), for
    // each of the 4 channels: every instance takes every spectrum. The windows still open
    // when the input stops go out when the spectra process stops.
    let spectra = 23.0 * 4.0;
    wait_until(MINUTE, "the spectra of all complete windows", || {
        metric_of(xc0.metrics, "seisreduce_records_in_total{") >= 4.0 * 20.0
    });
    let s = spectra_proc.proc.terminate(MINUTE);
    assert!(s.success(), "{}", spectra_proc.proc.log_text());
    for x in [&xc0, &xc1] {
        wait_until(MINUTE, "each instance to take every spectrum", || {
            metric_of(x.metrics, "seisreduce_records_in_total{") >= spectra
        });
    }
    // The last period is stacked when the instances stop (as at the end of a file run).
    let out0 = {
        let s = xc0.proc.terminate(MINUTE);
        assert!(s.success(), "{}", xc0.proc.log_text());
        xc0.proc.log_text()
    };
    let s = xc1.proc.terminate(MINUTE);
    assert!(s.success(), "{}", xc1.proc.log_text());
    assert!(out0.contains("channel windows correlated"), "{out0}");
    // Two periods from each instance: 4 blocks only if both had a share of the pairs.
    wait_until(MINUTE, "the sink to take both instances' stacks", || {
        metric_of(sink.metrics, "seisreduce_records_in_total{") >= 4.0
    });
    std::thread::sleep(Duration::from_millis(1500));
    let s = sink.proc.terminate(MINUTE);
    assert!(s.success(), "{}", sink.proc.log_text());

    let out = common::run_python(
        "compare_ccf_zarr.py",
        &[
            root.join("one.zarr").as_os_str(),
            root.join("split.zarr").as_os_str(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    eprintln!("{v:#}");
    let g = &v["linear_30m"];
    assert_eq!(g["pairs_a"].as_array().unwrap().len(), 6);
    assert_eq!(g["pairs_a"], g["pairs_b"]);
    assert_eq!(g["times_a"], g["times_b"]);
    assert_eq!(g["windows_equal"], true);
    assert_eq!(g["max_rel_diff"], 0.0, "the same stacks, bit for bit");
}
