//! Agreement with NoisePy itself (noisepy-seis, installed by scripts/setup-python.sh): the same
//! channels through NoisePy's `compute_fft` and `cross_correlation`, and through `xcorr` with
//! NoisePy's steps (no band-pass of its own: NoisePy band-passes the whole day before cutting,
//! so both get the same already band-limited data; circular transforms of the window's fast
//! length; its spectral mean removal). Per-window correlations and the linear stack must
//! equal NoisePy's within 1e-4 of the peak, once NoisePy's lag labels are corrected.

mod common;

use std::path::Path;

use ndarray::Array2;
use seisreduce::model::{ChannelMeta, Chunk, CorrBlock, SampleRate, SeedId};
use seisreduce::ops::xcorr::params::{FftLength, Precision};
use seisreduce::ops::xcorr::{Xcorr, XcorrConfig};
use seisreduce::synthetic::signal::Rng;

const RATE: f64 = 20.0;
const T0: i64 = 1_709_251_200_000_000_000;

/// Six stations hearing one noise field at different delays, plus their own noise, smoothed
/// so that the spectrum is not flat.
fn network(hours: f64) -> (Vec<String>, Array2<f32>) {
    let n = (hours * 3600.0 * RATE) as usize;
    let mut r = Rng::new(77);
    let pad = 400;
    let field: Vec<f64> = (0..n + pad).map(|_| r.normal()).collect();
    let delays = [0usize, 13, 37, 80, 150, 210];
    let names: Vec<String> = (0..delays.len())
        .map(|i| format!("XX.S{i:02}.00.HHZ"))
        .collect();
    let mut data = Array2::zeros((delays.len(), n));
    for (c, &d) in delays.iter().enumerate() {
        let mut prev = 0.0;
        for i in 0..n {
            let v = field[i + pad - d] + 0.7 * r.normal();
            // one-pole low-pass: a red spectrum, as real noise has
            prev = 0.8 * prev + v;
            data[[c, i]] = prev as f32;
        }
    }
    (names, data)
}

fn read_f32(p: &Path) -> Vec<f32> {
    std::fs::read(p)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn correlations_and_stacks_equal_noisepys() {
    let hours = 4.0;
    let (names, data) = network(hours);
    let dir = tempfile::tempdir().unwrap();
    let meta = serde_json::json!({
        "channels": names, "rate": RATE, "start": T0 as f64 / 1e9, "hours": hours as u32,
        "cc_len": 1800, "step": 450, "maxlag": 200, "freqmin": 0.05, "freqmax": 2.0,
        "smoothspect_n": 10,
    });
    std::fs::write(dir.path().join("meta.json"), meta.to_string()).unwrap();
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.path().join("data.f32"), bytes).unwrap();
    let out = common::run_python("noisepy_xcorr.py", &[dir.path().as_os_str()]);
    eprintln!("NoisePy: {}", out.trim());
    let np: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("np_meta.json")).unwrap()).unwrap();
    let lags: Vec<i64> = np["lags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    // NoisePy's labelled zero holds the lag of -1 sample: the one-sample offset.
    let z = np["labelled_zero_index"].as_u64().unwrap() as usize;
    assert_eq!(
        lags[z], -1,
        "NoisePy's label 0 s holds lag -1 sample (nfft {})",
        np["nfft"]
    );
    let times: Vec<f64> = np["window_times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let nw = times.len();
    let nl = lags.len();
    let np_windows = read_f32(&dir.path().join("np_windows.f32"));
    let np_stack = read_f32(&dir.path().join("np_stack.f32"));

    // NoisePy cuts floor((hours·3600 - cc_len) / step) windows (one fewer than fit): give
    // xcorr the data those windows cover.
    let covered = ((nw - 1) as f64 * 450.0 + 1800.0) * RATE;
    let cfg = XcorrConfig {
        bandpass: false,
        fft_length: FftLength::Window,
        spectral_demean: true,
        per_window: true,
        precision: Precision::F32,
        // NoisePy takes whole windows only (its data have no gaps).
        max_gap_fraction: 0.0,
        ..XcorrConfig::default()
    };
    let chunk = Chunk {
        stream: "XX".into(),
        start: T0,
        rate: SampleRate(RATE),
        channels: names
            .iter()
            .map(|n| ChannelMeta {
                source_id: SeedId::parse(n).unwrap().to_source_id(),
                distance_m: None,
            })
            .collect(),
        data: data.slice(ndarray::s![.., ..covered as usize]).to_owned(),
        das: None,
        units: None,
    };
    let mut x = Xcorr::<f32>::new(&cfg, "xc").unwrap();
    let mut blocks: Vec<CorrBlock> = Vec::new();
    x.push(&chunk, &mut blocks).unwrap();
    x.finish(&mut blocks);
    let windows: Vec<&CorrBlock> = blocks.iter().filter(|b| b.method == "window").collect();
    assert_eq!(windows.len(), nw, "windows");
    let stack = blocks.iter().find(|b| b.method == "linear").unwrap();
    let k = stack.max_lag as i64;
    let pairs = np["pairs"].as_array().unwrap();
    let mut worst: f64 = 0.0;
    for (p, names) in pairs.iter().enumerate() {
        let src = SeedId::parse(names[0].as_str().unwrap())
            .unwrap()
            .to_source_id();
        let rcv = SeedId::parse(names[1].as_str().unwrap())
            .unwrap()
            .to_source_id();
        let row_of = |b: &CorrBlock| {
            b.pairs
                .iter()
                .position(|q| q.source == src && q.receiver == rcv)
                .unwrap()
        };
        let mut compare = |ours: &CorrBlock, theirs: &[f32], what: String| {
            let r = row_of(ours);
            let peak = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
            for (j, &lag) in lags.iter().enumerate() {
                if lag.abs() > k {
                    continue;
                }
                let o = ours.data[[r, (lag + k) as usize]] as f64;
                let e = (o - theirs[j] as f64).abs() / peak;
                worst = worst.max(e);
                assert!(
                    e < 1e-4,
                    "{what} lag {lag}: ours {o}, NoisePy {} (peak {peak})",
                    theirs[j]
                );
            }
        };
        for (w, &t) in times.iter().enumerate() {
            let ours = windows
                .iter()
                .find(|b| (b.start as f64 / 1e9 - t).abs() < 1e-3)
                .expect("the same window starts");
            let at = (p * nw + w) * nl;
            compare(
                ours,
                &np_windows[at..at + nl],
                format!("{names} window {w}"),
            );
        }
        compare(
            stack,
            &np_stack[p * nl..(p + 1) * nl],
            format!("{names} stack"),
        );
    }
    eprintln!(
        "largest difference: {worst:.2e} of the peak over {} pairs",
        pairs.len()
    );
}
