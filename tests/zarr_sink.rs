//! The `zarr` and `parquet` sinks, checked with the reference readers: zarr-python 3, xarray,
//! Dask, ObsPy and pandas (`tests/python/check_zarr.py`), on local disk and through a real
//! S3-protocol server (s3s-fs, installed by `scripts/setup-s3.sh`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::procs::*;
use common::test_data;

fn run_ok(p: &Path, env: &[(&str, &str)]) -> String {
    let o = run(&["run", p.to_str().unwrap()], env);
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{log}");
    log
}

fn check(store: &Path, mseed: &Path, extra: &[&str]) -> serde_json::Value {
    common::check_zarr(store, mseed, extra)
}

/// A synthetic station file and a real one with gaps, each into Zarr stores with every codec.
#[test]
fn xarray_reads_exact_times_and_values_with_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let synth = synth(dir.path(), 6, 600.0);
    let gappy = test_data().join("mseed/gaps.mseed");
    let mut text = format!(
        r#"[pipeline]
name = "zarrcheck"

[sources.synth]
type = "mseed"
path = "{}"

[sources.gappy]
type = "mseed"
path = "{}"

[operators.decoded]
type = "decode"
inputs = ["synth"]

[operators.gappy_decoded]
type = "decode"
inputs = ["gappy"]

[sinks.gaps]
type = "zarr"
inputs = ["gappy_decoded"]
path = "gaps.zarr"
chunk = [1, 4000]
shard = []

[sinks.availability]
type = "parquet"
inputs = ["gappy"]
path = "availability"
"#,
        synth.display(),
        gappy.display()
    );
    for (name, codec) in [
        ("zstd", "codec = \"zstd\""),
        ("blosc", "codec = \"blosc\""),
        ("pcodec", "codec = \"pcodec\""),
        ("bitround", "codec = \"zstd\"\nbitround_keepbits = 6"),
    ] {
        text += &format!(
            "\n[sinks.{name}]\ntype = \"zarr\"\ninputs = [\"decoded\"]\npath = \"{name}.zarr\"\nchunk = [2, 1000]\nshard = [4, 8000]\n{codec}\n"
        );
    }
    let p = write_pipeline(dir.path(), &text);
    run_ok(&p, &[("SEISREDUCE_STORAGE_ROOT", root.to_str().unwrap())]);

    for codec in ["zstd", "blosc", "pcodec"] {
        let s = check(&root.join(format!("{codec}.zarr")), &synth, &[]);
        assert_eq!(s["channels"], 6, "{codec}: {s}");
        assert_eq!(s["samples"], 6 * 60_000, "{codec}: {s}");
        assert_eq!(s["time"], 60_000, "{codec}: {s}");
        assert_eq!(s["shards"], serde_json::json!([4, 8000]), "{codec}: {s}");
    }
    check(&root.join("bitround.zarr"), &synth, &["--keepbits", "6"]);
    let s = check(
        &root.join("gaps.zarr"),
        &gappy,
        &["--parquet", root.join("availability").to_str().unwrap()],
    );
    assert_eq!(s["gaps"], 3, "{s}");

    // Lossy bit rounding pays: smaller than the lossless store of the same data.
    let size = |d: &str| dir_size(&root.join(d));
    assert!(size("bitround.zarr") < size("zstd.zarr"));
}

fn dir_size(p: &Path) -> u64 {
    walk(p)
        .iter()
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Stations that appear later extend the channel axis; a second run over the same input
/// (what a restart re-delivers) leaves the store byte for byte as it was.
#[test]
fn new_channels_extend_the_axis_and_rewrites_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let first = synth(dir.path(), 3, 300.0);
    let text = |path: &Path| {
        format!(
            "[pipeline]\nname = \"grow\"\n[sources.f]\ntype = \"mseed\"\npath = \"{}\"\n[operators.d]\ntype = \"decode\"\ninputs = [\"f\"]\n[sinks.z]\ntype = \"zarr\"\ninputs = [\"d\"]\npath = \"grow.zarr\"\nchunk = [2, 1000]\nshard = [4, 4000]\n",
            path.display()
        )
    };
    let env = [("SEISREDUCE_STORAGE_ROOT", root.to_str().unwrap())];
    run_ok(&write_pipeline(dir.path(), &text(&first)), &env);
    let store = root.join("grow.zarr");
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&store)
        .into_iter()
        .filter(|f| !f.ends_with("zarr.json"))
        .map(|f| (f.clone(), std::fs::read(&f).unwrap()))
        .collect();
    // Same data again: identical chunk bytes.
    run_ok(&write_pipeline(dir.path(), &text(&first)), &env);
    for (f, bytes) in &before {
        assert!(
            &std::fs::read(f).unwrap() == bytes,
            "{} changed",
            f.display()
        );
    }
    // Six channels now: three more rows, the first three untouched.
    let more = synth(dir.path(), 6, 300.0);
    run_ok(&write_pipeline(dir.path(), &text(&more)), &env);
    let s = check(&store, &more, &[]);
    assert_eq!(s["channels"], 6, "{s}");
    assert_eq!(s["samples"], 6 * 30_000, "{s}");
}

/// The records of a channel-by-channel file in time order, as a network arrives in real time.
fn in_time_order(file: &Path, out: &Path) {
    let bytes = std::fs::read(file).unwrap();
    let records = seisreduce::synthetic::file::in_time_order(&bytes).unwrap();
    std::fs::write(out, records).unwrap();
}

/// A network in real time (records of every channel interleaved in time) is encoded while it
/// streams in, once no new channel appears; the store is byte for byte the one the same records
/// make channel after channel, and reads back exact.
#[test]
fn records_in_time_order_make_the_same_store_as_channel_by_channel() {
    let dir = tempfile::tempdir().unwrap();
    let by_channel = synth(dir.path(), 6, 300.0);
    let by_time = dir.path().join("by-time.mseed");
    in_time_order(&by_channel, &by_time);
    let stores: Vec<PathBuf> = [&by_channel, &by_time]
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let root = dir.path().join(format!("out{i}"));
            let text = format!(
                "[pipeline]\nname = \"order\"\n[sources.f]\ntype = \"mseed\"\npath = \"{}\"\n[operators.d]\ntype = \"decode\"\ninputs = [\"f\"]\n[sinks.z]\ntype = \"zarr\"\ninputs = [\"d\"]\npath = \"net.zarr\"\nchunk = [2, 1000]\nshard = [4, 8000]\n",
                input.display()
            );
            let env = [("SEISREDUCE_STORAGE_ROOT", root.to_str().unwrap())];
            run_ok(&write_pipeline(dir.path(), &text), &env);
            root.join("net.zarr")
        })
        .collect();
    let objects = |store: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut v: Vec<_> = walk(&store.join("d/c"))
            .into_iter()
            .map(|f| {
                (
                    f.strip_prefix(store).unwrap().to_path_buf(),
                    std::fs::read(&f).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (a, b) = (objects(&stores[0]), objects(&stores[1]));
    assert!(a.len() >= 8, "{} objects", a.len());
    assert_eq!(
        a.iter().map(|o| &o.0).collect::<Vec<_>>(),
        b.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{} differs between the two orders", path.display());
    }
    let s = check(&stores[1], &by_channel, &[]);
    assert_eq!(s["samples"], 6 * 30_000, "{s}");
}

/// The same sink writing through the S3 protocol to a real server on loopback.
#[test]
fn writes_to_s3_compatible_storage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("s3");
    std::fs::create_dir_all(data.join("seismic")).unwrap();
    let port = free_port();
    let mut server = Proc::spawn(
        {
            let mut c = Command::new(s3s_fs());
            c.args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                "test-key",
                "--secret-key",
                "test-secret",
            ])
            .arg(&data);
            c
        },
        dir.path().join("s3s.log"),
    );
    wait_until(Duration::from_secs(30), "the S3 server listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let input = synth(dir.path(), 6, 300.0);
    let p = write_pipeline(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"s3\"\n[sources.f]\ntype = \"mseed\"\npath = \"{}\"\n[operators.d]\ntype = \"decode\"\ninputs = [\"f\"]\n[sinks.z]\ntype = \"zarr\"\ninputs = [\"d\"]\npath = \"network/stations.zarr\"\nchunk = [2, 1000]\nshard = [4, 8000]\n",
            input.display()
        ),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    run_ok(
        &p,
        &[
            // The storage root on S3: the store under it, its catalogues beside.
            ("SEISREDUCE_STORAGE_ROOT", "s3://seismic/products"),
            ("SEISREDUCE_STORAGE_S3_ENDPOINT", &endpoint),
            ("SEISREDUCE_STORAGE_S3_ALLOW_HTTP", "true"),
            ("SEISREDUCE_STORAGE_S3_ACCESS_KEY_ID", "test-key"),
            ("SEISREDUCE_STORAGE_S3_SECRET_ACCESS_KEY", "test-secret"),
        ],
    );
    server.terminate(Duration::from_secs(10));
    // s3s-fs keeps each object as a file named by its key: the bucket is a Zarr directory.
    let root = data.join("seismic/products");
    let s = check(&root.join("network/stations.zarr"), &input, &[]);
    assert_eq!(s["samples"], 6 * 30_000, "{s}");
    let item: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("stac/network-stations.zarr.json")).unwrap(),
    )
    .unwrap();
    let asset = &item["assets"]["zarr"];
    assert_eq!(asset["href"], "../network/stations.zarr", "{item}");
    assert_eq!(
        asset["xarray:storage_options"]["client_kwargs"]["endpoint_url"],
        serde_json::json!(endpoint),
        "{item}"
    );
    assert!(!item.to_string().contains("test-secret"), "{item}");
    let catalogue = std::fs::read_to_string(root.join("catalog.json")).unwrap();
    assert!(
        catalogue.contains("./stac/network-stations.zarr.json"),
        "{catalogue}"
    );
    let intake = std::fs::read_to_string(root.join("catalog.yaml")).unwrap();
    assert!(
        intake.contains("urlpath: \"{{ CATALOG_DIR }}/network/stations.zarr\""),
        "{intake}"
    );
}

fn s3s_fs() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    let p = Path::new(&home).join(".cargo/bin/s3s-fs");
    assert!(
        p.exists(),
        "s3s-fs is missing: run scripts/setup-s3.sh (scripts/test.sh does)"
    );
    p
}
