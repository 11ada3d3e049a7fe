//! StationXML written by real station services (`test-data/stationxml/`, IRIS, SeisComP at
//! GEOFON and ORFEUS, GeoNet) read by `seisreduce stations` and evaluated by
//! `seisreduce response`, against ObsPy: coordinates, orientation, rates, sensitivities and
//! units equal to `read_inventory`'s, responses equal to `get_evalresp_response` within 1e-6
//! relative on FFT grids in displacement, velocity and acceleration (a linear polynomial
//! stage as ObsPy 1.5 reads it), and nothing refused that ObsPy evaluates or the reverse.

mod common;

use std::path::{Path, PathBuf};

use common::procs::run;
use common::run_python;
use serde_json::{json, Value};

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v
}

fn stations(file: &Path) -> Value {
    let o = run(&["stations", file.to_str().unwrap(), "--json"], &[]);
    assert!(
        o.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn stationxml_and_responses_equal_obspy() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = serde_json::Map::new();
    let mut evaluated = 0;
    for file in files() {
        let st = stations(&file);
        assert!(
            st["problems"].as_array().unwrap().is_empty(),
            "{}",
            st["problems"]
        );
        let mut responses = Vec::new();
        for c in st["channels"].as_array().unwrap() {
            if c["response"].is_null() {
                continue;
            }
            let id = c["id"].as_str().unwrap();
            let time = c["start"].as_str().unwrap();
            let rate = c["sample_rate"].as_f64().unwrap();
            let units = c["response"]["sensitivity"]["input_units"]["name"]
                .as_str()
                .unwrap_or("")
                .to_ascii_uppercase();
            let outputs: &[&str] = if units.starts_with('M') {
                &["VEL", "DISP", "ACC"]
            } else {
                &["DEF", "VEL"]
            };
            for output in outputs {
                let nfft = 1024usize;
                let t_samp = 1.0 / rate;
                let o = run(
                    &[
                        "response",
                        file.to_str().unwrap(),
                        "--channel",
                        id,
                        "--time",
                        time,
                        "--output",
                        output,
                        "--nfft",
                        &nfft.to_string(),
                        "--json",
                    ],
                    &[],
                );
                let mut q = if o.status.success() {
                    evaluated += 1;
                    serde_json::from_slice(&o.stdout).unwrap()
                } else {
                    json!({"error": String::from_utf8_lossy(&o.stderr).trim()})
                };
                q["channel"] = json!(id);
                q["time"] = json!(time);
                q["output"] = json!(output);
                q["nfft"] = json!(nfft);
                q["t_samp"] = json!(t_samp);
                responses.push(q);
            }
        }
        manifest.insert(
            file.display().to_string(),
            json!({"stations": st, "responses": responses}),
        );
    }
    let path = dir.path().join("manifest.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({"files": manifest})).unwrap(),
    )
    .unwrap();
    let out = run_python("check_stationxml.py", &[path.as_os_str()]);
    eprintln!("{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["files"], files().len(), "{out}");
    assert_eq!(v["epochs_obspy"], v["epochs_matched"], "{out}");
    assert!(v["epochs_matched"].as_u64().unwrap() >= 15, "{out}");
    assert_eq!(v["field_mismatches"], json!([]), "{out}");
    assert_eq!(v["refusal_mismatches"], json!([]), "{out}");
    assert_eq!(v["responses_compared"], evaluated, "{out}");
    assert!(evaluated >= 40, "{out}");
    assert!(v["max_rel_response"].as_f64().unwrap() < 1e-6, "{out}");
}

#[test]
fn bad_metadata_names_the_channel_and_epoch_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml/IU_ANMO_BH.xml"),
    )
    .unwrap();
    // Break one channel's dip.
    let broken = text.replacen("<Dip>0.0</Dip>", "<Dip>flat</Dip>", 1);
    assert!(broken != text, "the file has a <Dip>0.0</Dip> to break");
    let f = dir.path().join("broken.xml");
    std::fs::write(&f, broken).unwrap();
    let o = run(&["stations", f.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(1));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("8 channel epochs"), "{table}");
    let problem = table.lines().find(|l| l.starts_with("problem:")).unwrap();
    assert!(
        problem.contains("broken.xml:")
            && problem.contains("channel IU.ANMO.")
            && problem.contains("epoch from"),
        "{problem}"
    );
    assert!(problem.contains("\"flat\" is not a number"), "{problem}");

    // No epoch at the time asked: named with the epochs there are.
    let o = run(
        &[
            "response",
            f.to_str().unwrap(),
            "--channel",
            "IU.ANMO.00.BHZ",
            "--time",
            "1990-01-01T00:00:00Z",
        ],
        &[],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no epoch of channel IU.ANMO.00.BHZ covers 1990-01-01T00:00:00"),
        "{err}"
    );
    // A file that is not there.
    let o = run(&["stations", "/nonexistent/x.xml"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/x.xml"));
}

/// A station service over HTTP (Python's `http.server` on loopback serving the test files):
/// a query URL reads like the file, and a 404 is "no channels", not an error.
#[test]
fn stationxml_from_a_url() {
    use std::io::{BufRead, BufReader};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml");
    let mut server = std::process::Command::new(common::python())
        .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python http.server");
    // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .split("port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    let url = format!("http://127.0.0.1:{port}/IU_ANMO_BH.xml");
    let o = run(&["stations", &url, "--json"], &[]);
    let missing = run(
        &["stations", &format!("http://127.0.0.1:{port}/absent.xml")],
        &[],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["channels"].as_array().unwrap().len(), 9);
    assert_eq!(v["channels"][0]["origin"], json!(url));
    let text = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(1), "{text}");
    assert!(
        text.contains("0 channel epochs")
            && text.contains("absent.xml: the service has no matching channels"),
        "{text}"
    );
}
