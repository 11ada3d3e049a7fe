//! TDMS and SEG-Y reads side by side with the Python readers people use on the same files,
//! in one run: DASCore and npTDMS on a TDMS file (Silixa's example, its data chunks
//! repeated to `seconds` of data), DASCore and segyio on a SEG-Y file DASCore writes. Each
//! reader makes a float32 (channel, time) array of the whole file; the medians of `runs`
//! reads are compared. `benches/das_layouts_read.py` makes the files and times the peers.
//!
//! `cargo bench --bench das_layouts` (2,000 traces × 30 s, 2,000 × 1152 × 30 s); under
//! `cargo test` it runs once on small files as a smoke test.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use seisreduce::formats::das::DasFile;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ours(path: &Path, runs: usize) -> (f64, (usize, usize)) {
    let mut times = Vec::new();
    let mut shape = (0, 0);
    for _ in 0..runs {
        let t = Instant::now();
        let f = DasFile::open(path).unwrap();
        let a = f.read(0..f.info.n_time, 0..f.info.n_distance).unwrap();
        times.push(t.elapsed().as_secs_f64());
        shape = a.dim();
    }
    (median(times), shape)
}

fn main() {
    // As the binary runs (`seisreduce run` and `inspect` call it first): freed blocks are
    // reused instead of being faulted in afresh for every read.
    seisreduce::memory::keep_freed_memory();
    let full = std::env::args().any(|a| a == "--bench");
    let (channels, seconds, runs) = if full { (2000, 30, 5) } else { (50, 2, 1) };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let python = root.join(".venv/bin/python");
    let silixa = root.join("../shared/test-data/das-more/iDAS005_tdms_example.626.tdms");
    let out = Command::new(&python)
        .arg(root.join("benches/das_layouts_read.py"))
        .arg(dir.path())
        .args([channels.to_string(), seconds.to_string(), runs.to_string()])
        .arg(&silixa)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/setup-python.sh)", python.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peers: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .find(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    for (layout, file, bytes, shape, readers) in [
        (
            "TDMS",
            "tdms",
            "tdms_bytes",
            "tdms_shape",
            [("DASCore", "dascore_tdms_s"), ("npTDMS", "nptdms_s")],
        ),
        (
            "SEG-Y",
            "segy",
            "segy_bytes",
            "segy_shape",
            [("DASCore", "dascore_segy_s"), ("segyio", "segyio_s")],
        ),
    ] {
        let path = Path::new(peers[file].as_str().unwrap());
        let (t, dim) = ours(path, runs);
        let want: (usize, usize) = serde_json::from_value(peers[shape].clone()).unwrap();
        assert_eq!(dim, want, "{layout}: the same array as the peers");
        let mb = peers[bytes].as_f64().unwrap() / 1e6;
        let mut line = format!(
            "{layout} {} x {} ({mb:.0} MB): seisreduce {:.1} ms ({:.0} MB/s)",
            dim.0,
            dim.1,
            t * 1e3,
            mb / t
        );
        for (name, key) in readers {
            let p = peers[key].as_f64().unwrap();
            line.push_str(&format!("; {name} {:.1} ms ({:.1}x)", p * 1e3, p / t));
        }
        println!("{line}");
    }
}
