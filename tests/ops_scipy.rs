//! The operators agree with SciPy and NumPy, run by `tests/python/check_ops.py` with the Python
//! that `scripts/setup-python.sh` prepares: Butterworth sections equal `butter(output='sos')`
//! within 1e-10; causal filtering equals `sosfilt` and zero-phase filtering `sosfiltfilt` within
//! 1e-6; decimation with given taps equals `upfirdn` within 1e-5; detrend, integration and
//! differentiation equal `detrend`, `cumulative_trapezoid` and `gradient`.
//!
//! Every operator here is fed in uneven pieces, so the comparison also covers carried state.

mod common;

use common::{feed_in_pieces, joined, run_python};
use ndarray::Array2;
use seisreduce::dsp::butter::Band;
use seisreduce::dsp::cascade::{Plan, Spec};
use seisreduce::model::SampleRate;
use seisreduce::ops::calculus::{calculus, Calculus};
use seisreduce::ops::decimate::decimate_with_taps;
use seisreduce::ops::detrend::{detrend, Trend};
use seisreduce::ops::filter::{design, filter, FilterParams, Phase};
use seisreduce::ops::{GapPolicy, Operator};
use seisreduce::synthetic::{channel, NoiseModel};
use serde_json::{json, Value};
use std::path::Path;

const RATE: f64 = 100.0;
const PIECES: &[usize] = &[1, 999, 17, 4096, 3, 2500];

fn signal(n: usize, seed: u64) -> Vec<f32> {
    channel(n, RATE, seed, &NoiseModel::default())
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f32 + 3000.0 * (i as f32 * 0.37).sin())
        .collect()
}

fn write_f32(dir: &Path, name: &str, v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join(name), bytes).unwrap();
    name.to_string()
}

fn run_op(op: &mut dyn Operator, x: &[f32]) -> Vec<f32> {
    let data = Array2::from_shape_vec((1, x.len()), x.to_vec()).unwrap();
    let out = feed_in_pieces(op, 1_600_000_000_000_000_000, RATE, &data, PIECES);
    joined(&out).row(0).to_vec()
}

fn band_json(b: Band) -> Value {
    match b {
        Band::Lowpass(f) => json!({"btype": "lowpass", "corners": f}),
        Band::Highpass(f) => json!({"btype": "highpass", "corners": f}),
        Band::Bandpass(lo, hi) => json!({"btype": "bandpass", "corners": [lo, hi]}),
    }
}

#[test]
fn operators_agree_with_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let x = signal(12_000, 7);
    let input = write_f32(dir.path(), "x.f32", &x);
    let mut cases = Vec::new();

    // Butterworth designs over orders, bands and corners near both ends of the band.
    let mut designs = Vec::new();
    for order in 1..=10 {
        for band in [
            Band::Lowpass(0.05),
            Band::Lowpass(10.0),
            Band::Lowpass(45.0),
            Band::Highpass(0.01),
            Band::Highpass(1.0),
            Band::Highpass(30.0),
            Band::Bandpass(0.01, 0.1),
            Band::Bandpass(1.0, 20.0),
            Band::Bandpass(0.5, 45.0),
            Band::Bandpass(24.0, 26.0),
        ] {
            let sos = design(order, band, SampleRate(RATE)).unwrap();
            designs.push(json!({"order": order, "band": band_json(band), "fs": RATE, "sos": sos}));
        }
    }

    // Causal and zero-phase filtering, fed in pieces.
    for (i, (order, band)) in [
        (4, Band::Bandpass(1.0, 20.0)),
        (2, Band::Highpass(0.5)),
        (6, Band::Lowpass(8.0)),
        (3, Band::Bandpass(0.1, 2.0)),
    ]
    .into_iter()
    .enumerate()
    {
        for (phase, kind) in [
            (Phase::Causal, "sosfilt"),
            (
                Phase::ZeroPhase {
                    window_s: x.len() as f64 / RATE,
                },
                "sosfiltfilt",
            ),
        ] {
            let mut op = filter(&FilterParams {
                order,
                band,
                phase,
                gaps: GapPolicy::Restart,
            })
            .unwrap();
            let y = run_op(&mut op, &x);
            cases.push(json!({
                "kind": kind, "order": order, "band": band_json(band), "fs": RATE,
                "input": input, "output": write_f32(dir.path(), &format!("{kind}{i}.f32"), &y),
            }));
        }
    }

    // A block of six channels filtered together (four SIMD lanes and a padded group of two):
    // each row equals `sosfilt` on that row alone.
    let rows: Vec<Vec<f32>> = (0..6).map(|c| signal(12_000, 100 + c)).collect();
    let flat: Vec<f32> = rows.concat();
    let data = Array2::from_shape_vec((rows.len(), x.len()), flat).unwrap();
    let mut op = filter(&FilterParams {
        order: 4,
        band: Band::Bandpass(1.0, 20.0),
        phase: Phase::Causal,
        gaps: GapPolicy::Restart,
    })
    .unwrap();
    let out = joined(&feed_in_pieces(
        &mut op,
        1_600_000_000_000_000_000,
        RATE,
        &data,
        PIECES,
    ));
    for (c, row) in rows.iter().enumerate() {
        cases.push(json!({
            "kind": "sosfilt", "order": 4, "band": band_json(Band::Bandpass(1.0, 20.0)), "fs": RATE,
            "input": write_f32(dir.path(), &format!("block{c}.f32"), row),
            "output": write_f32(dir.path(), &format!("block_out{c}.f32"), &out.row(c).to_vec()),
        }));
    }

    // Decimation with our designed taps, compared with upfirdn on the same taps.
    for factor in [2, 3, 4, 5, 10] {
        let plan = Plan::new(factor, Spec::default()).unwrap();
        // A single-stage design of this factor (the plan's last stage has this form).
        let taps: Vec<f32> = if plan.stages.len() == 1 {
            plan.stages[0].taps.iter().map(|&t| t as f32).collect()
        } else {
            seisreduce::dsp::kaiser::lowpass(20 * factor + 1, 0.5 / factor as f64, 5.0)
                .iter()
                .map(|&t| t as f32)
                .collect()
        };
        let y = decimate_with_taps(&taps, factor, &x);
        cases.push(json!({
            "kind": "upfirdn", "factor": factor, "input": input,
            "taps": write_f32(dir.path(), &format!("taps{factor}.f32"), &taps),
            "output": write_f32(dir.path(), &format!("dec{factor}.f32"), &y),
        }));
    }

    // Window operators and calculus.
    let window_s = 40.0;
    for (trend, name) in [(Trend::Mean, "constant"), (Trend::Linear, "linear")] {
        let y = run_op(
            &mut detrend(trend, window_s, GapPolicy::Restart).unwrap(),
            &x,
        );
        cases.push(
            json!({"kind": "detrend", "type": name, "window": (window_s * RATE) as usize,
            "input": input, "output": write_f32(dir.path(), &format!("detrend_{name}.f32"), &y)}),
        );
    }
    for (op, name) in [
        (Calculus::Integrate, "integrate"),
        (Calculus::Differentiate, "differentiate"),
    ] {
        let y = run_op(&mut calculus(op, GapPolicy::Restart), &x);
        cases.push(json!({"kind": name, "fs": RATE, "input": input,
            "output": write_f32(dir.path(), &format!("{name}.f32"), &y)}));
    }

    let manifest = dir.path().join("cases.json");
    std::fs::write(
        &manifest,
        serde_json::to_vec_pretty(&json!({"designs": designs, "cases": cases})).unwrap(),
    )
    .unwrap();
    let report = run_python("check_ops.py", &[manifest.as_os_str()]);
    println!("{report}");
}
