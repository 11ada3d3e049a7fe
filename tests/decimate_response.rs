//! Measured response of `decimate`, with tones and chirps through the whole cascade, for the
//! factors the specification names: passband flat within 0.01 dB up to 80% of the new Nyquist,
//! no phase shift (the delay is removed), and at least 100 dB of rejection of every frequency
//! that would alias into that band.
//!
//! Frequencies are in cycles per input sample. A tone at `f` aliases to `|f - k/M|` for the
//! nearest whole `k`; sampled at the output times `j M` it is the same cosine, so one
//! least-squares fit at the input frequency measures both the passband gain and the alias left.

mod common;

use common::{feed_in_pieces, joined};
use ndarray::Array2;
use seisreduce::dsp::cascade::{Plan, Spec};
use seisreduce::ops::decimate::{decimate, DecimateParams};

const FACTORS: [usize; 7] = [2, 3, 4, 5, 10, 100, 1000];
const RIPPLE_DB: f64 = 0.01;
const REJECTION_DB: f64 = 100.0;
/// Output samples measured after the start-up transient.
const STEADY: usize = 300;

/// Input samples the cascade needs before (and after) its output is in steady state.
fn transient(plan: &Plan) -> usize {
    let mut rate_step = 1;
    let mut span = 0;
    for s in &plan.stages {
        span += s.taps.len() * rate_step;
        rate_step *= s.factor;
    }
    span
}

/// Decimates `x` (one channel) by `factor`, fed in uneven pieces; returns the output.
fn run(factor: usize, x: Vec<f32>) -> Vec<f32> {
    let mut op = decimate(&DecimateParams {
        factor,
        ..DecimateParams::default()
    })
    .unwrap();
    let n = x.len();
    let data = Array2::from_shape_vec((1, n), x).unwrap();
    let out = feed_in_pieces(&mut op, 0, 1000.0, &data, &[n / 3, 7, n / 5]);
    assert_eq!(
        out.chunks[0].start, 0,
        "the first output is at the first input's time"
    );
    let y = joined(&out).row(0).to_vec();
    assert_eq!(y.len(), n.div_ceil(factor), "ceil(n / factor) outputs");
    y
}

/// Least-squares amplitude and phase of a cosine at `f` (cycles per input sample) in the
/// outputs `y[j]`, sampled at input index `j * factor`, over `js`.
fn fit(y: &[f32], factor: usize, f: f64, js: std::ops::Range<usize>) -> (f64, f64) {
    let w = 2.0 * std::f64::consts::PI * f * factor as f64;
    // The phase of output j mod 2 pi: if it does not move, the tone aliased to DC.
    let step = (w / (2.0 * std::f64::consts::PI)).fract();
    if step.abs() < 1e-12 || (1.0 - step).abs() < 1e-12 {
        let mean = js.clone().map(|j| y[j] as f64).sum::<f64>() / js.len() as f64;
        return (mean.abs(), 0.0);
    }
    let (mut cc, mut ss, mut cs, mut yc, mut ys) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for j in js {
        let (s, c) = (w * j as f64).sin_cos();
        let v = y[j] as f64;
        cc += c * c;
        ss += s * s;
        cs += c * s;
        yc += v * c;
        ys += v * s;
    }
    let det = cc * ss - cs * cs;
    let a = (yc * ss - ys * cs) / det;
    let b = (ys * cc - yc * cs) / det;
    ((a * a + b * b).sqrt(), b.atan2(a))
}

fn tone(f: f64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (2.0 * std::f64::consts::PI * f * i as f64).cos() as f32)
        .collect()
}

/// What a test of one factor needs: the input length, the steady-state outputs to measure, and
/// the passband edge (80% of the output Nyquist) in cycles per input sample.
struct Setup {
    n: usize,
    js: std::ops::Range<usize>,
    fp: f64,
}

fn setup(factor: usize) -> Setup {
    let plan = Plan::new(factor, Spec::default()).unwrap();
    let t = transient(&plan).div_ceil(factor) + 1;
    Setup {
        n: factor * (STEADY + 2 * t),
        js: t..t + STEADY,
        fp: 0.8 * 0.5 / factor as f64,
    }
}

#[test]
fn passband_is_flat_and_phase_free() {
    for factor in FACTORS {
        let Setup { n, js, fp } = setup(factor);
        let mut worst_db: f64 = 0.0;
        let mut worst_phase: f64 = 0.0;
        for frac in [0.0, 0.05, 0.2, 0.37, 0.5, 0.71, 0.9, 1.0] {
            let y = run(factor, tone(frac * fp, n));
            let (amp, phase) = fit(&y, factor, frac * fp, js.clone());
            worst_db = worst_db.max((20.0 * amp.log10()).abs());
            worst_phase = worst_phase.max(phase.abs());
        }
        println!("÷{factor}: passband deviation {worst_db:.2e} dB, phase {worst_phase:.1e} rad");
        assert!(
            worst_db <= RIPPLE_DB,
            "÷{factor}: passband deviation {worst_db} dB"
        );
        assert!(
            worst_phase < 1e-4,
            "÷{factor}: phase shift {worst_phase} rad"
        );
    }
}

#[test]
fn everything_that_would_alias_into_the_passband_is_rejected() {
    for factor in FACTORS {
        let Setup { n, js, fp } = setup(factor);
        let m = factor as f64;
        let mut ks = vec![1, 2, 3, factor / 4, factor / 2 - 1, factor / 2];
        ks.retain(|&k| k >= 1 && k <= factor / 2);
        ks.sort_unstable();
        ks.dedup();
        let mut worst = f64::NEG_INFINITY;
        let mut tested = 0;
        for k in ks {
            for off in [-1.0, -0.6, -0.25, 0.0, 0.25, 0.6, 1.0] {
                let f = k as f64 / m + off * fp;
                if f <= fp || f > 0.5 {
                    continue;
                }
                let y = run(factor, tone(f, n));
                let db = 20.0 * fit(&y, factor, f, js.clone()).0.max(1e-300).log10();
                worst = worst.max(db);
                tested += 1;
            }
        }
        println!("÷{factor}: {tested} alias tones, worst {worst:.1} dB");
        assert!(worst <= -REJECTION_DB, "÷{factor}: an alias at {worst} dB");
    }
}

/// A linear chirp from `f0` to `f1` over `n` samples, with cosine ramps over the first and last
/// `ramp` samples so that its spectrum stays within the sweep.
fn chirp(f0: f64, f1: f64, n: usize, ramp: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let t = i as f64;
            let phase =
                2.0 * std::f64::consts::PI * (f0 * t + (f1 - f0) * t * t / (2.0 * n as f64));
            let edge = i.min(n - 1 - i);
            let env = if edge < ramp {
                0.5 * (1.0 - (std::f64::consts::PI * edge as f64 / ramp as f64).cos())
            } else {
                1.0
            };
            env * phase.cos()
        })
        .collect()
}

#[test]
fn chirps_through_the_passband_come_out_unchanged() {
    let tolerance = 10f64.powf(RIPPLE_DB / 20.0) - 1.0;
    for factor in FACTORS {
        let Setup { n, js, fp } = setup(factor);
        let x = chirp(0.0, 0.95 * fp, n, n / 10);
        let y = run(factor, x.iter().map(|&v| v as f32).collect());
        let err = js
            .map(|j| (y[j] as f64 - x[j * factor]).abs())
            .fold(0.0, f64::max);
        println!("÷{factor}: passband chirp max error {err:.2e} (spec {tolerance:.2e})");
        assert!(err <= tolerance, "÷{factor}: chirp error {err}");
    }
}

#[test]
fn chirps_through_the_first_alias_band_are_rejected() {
    for factor in FACTORS {
        let Setup { n, js, fp } = setup(factor);
        let m = factor as f64;
        // Everything from here to 1/M + fp folds into [0, fp].
        let f0 = 1.0 / m - 0.95 * fp;
        let f1 = (1.0 / m + fp).min(0.5);
        // Slow enough that the sweep's own spectral spread stays inside the alias band.
        let len = (n * 4).max(400_000);
        let x = chirp(f0, f1, len, len / 8);
        let y = run(factor, x.iter().map(|&v| v as f32).collect());
        let js = js.start..y.len() - js.start;
        let peak = js.map(|j| (y[j] as f64).abs()).fold(0.0, f64::max);
        let db = 20.0 * peak.max(1e-300).log10();
        println!("÷{factor}: alias-band chirp peak {db:.1} dB");
        assert!(db <= -REJECTION_DB, "÷{factor}: chirp leaks at {db} dB");
    }
}
