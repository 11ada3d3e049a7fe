//! The `xcorr` operator: known answers (delays, the sign convention, uncorrelated and diffuse
//! noise), streaming equal to batch bit for bit, and the product's layout.

use ndarray::{s, Array2};
use proptest::prelude::*;
use seisreduce::model::{sample_time, ChannelMeta, Chunk, CorrBlock, SampleRate, SeedId};
use seisreduce::ops::xcorr::params::{FftLength, StackMethod, Whiten};
use seisreduce::ops::xcorr::{Xcorr, XcorrConfig};
use seisreduce::synthetic::signal::Rng;

const RATE: f64 = 20.0;
/// 2024-03-01T00:00:00Z: windows and periods start on the hour.
const T0: i64 = 1_709_251_200_000_000_000;

fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal() as f32).collect()
}

fn meta(sta: &str) -> ChannelMeta {
    ChannelMeta {
        source_id: SeedId::new("XX", sta, "00", "HHZ").to_source_id(),
        distance_m: None,
    }
}

fn block(start: i64, chans: &[(&str, &[f32])]) -> Chunk {
    let n = chans[0].1.len();
    let mut data = Array2::zeros((chans.len(), n));
    for (i, (_, x)) in chans.iter().enumerate() {
        data.row_mut(i)
            .iter_mut()
            .zip(x.iter())
            .for_each(|(d, v)| *d = *v);
    }
    Chunk {
        stream: "XX.NET".into(),
        start,
        rate: SampleRate(RATE),
        channels: chans.iter().map(|(s, _)| meta(s)).collect(),
        data,
        das: None,
        units: None,
    }
}

fn small() -> XcorrConfig {
    XcorrConfig {
        cc_len_s: 200.0,
        step_s: 100.0,
        maxlag_s: 20.0,
        freqmin: 0.1,
        freqmax: 5.0,
        whiten: Whiten::None,
        substacks: vec!["1h".into()],
        ..XcorrConfig::default()
    }
}

fn run(cfg: &XcorrConfig, blocks: &[Chunk]) -> Vec<CorrBlock> {
    let mut x = Xcorr::<f32>::new(cfg, "xc").unwrap();
    let mut out = Vec::new();
    for b in blocks {
        x.push(b, &mut out).unwrap();
    }
    x.finish(&mut out);
    out
}

/// Lag (samples, fractional by a parabola through the three highest) of a row's peak.
fn peak(row: &[f32], max_lag: usize) -> f64 {
    let (i, _) = row
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    let (a, b, c) = (row[i - 1] as f64, row[i] as f64, row[i + 1] as f64);
    i as f64 - max_lag as f64 + 0.5 * (a - c) / (a - 2.0 * b + c)
}

#[test]
fn a_rolled_copy_peaks_at_plus_its_shift() {
    let n = 3600 * RATE as usize;
    let x = noise(n, 1);
    let mut y = x.clone();
    y.rotate_right(30); // np.roll(x, 30): the receiver hears it 30 samples later
    let out = run(&small(), &[block(T0, &[("A", &x), ("B", &y)])]);
    let stack = out.iter().find(|b| b.method == "linear").unwrap();
    assert_eq!(stack.pairs.len(), 1);
    assert_eq!(stack.pairs[0].source, meta("A").source_id);
    let row: Vec<f32> = stack.data.row(0).to_vec();
    let k = stack.max_lag;
    let (imax, _) = row
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert_eq!(
        imax as i64 - k as i64,
        30,
        "np.roll(x, 30) against x peaks at +30"
    );
    assert_eq!(stack.lag_s(imax), 1.5);
    // 35 windows of 200 s every 100 s fit the hour (the last ones are partly empty: rejected).
    assert!(stack.windows[0] >= 30, "{:?}", stack.windows);
}

#[test]
fn a_fractional_delay_is_found_to_a_fraction_of_a_sample() {
    // The receiver is the same noise recorded 7.3 samples later: its samples are labelled
    // 0.3 samples later, and shifted 7 whole samples.
    let n = 3600 * RATE as usize;
    let x = noise(n + 100, 2);
    let mut r = Rng::new(9);
    let y: Vec<f32> = (0..n)
        .map(|i| x[i + 100 - 7] + 0.5 * r.normal() as f32)
        .collect();
    let x = &x[100..];
    let dt = (1e9 / RATE) as i64;
    // Minute blocks of each, as a live feed delivers them.
    let minute = 60 * RATE as usize;
    let blocks: Vec<Chunk> = (0..n / minute)
        .flat_map(|m| {
            let r = m * minute..(m + 1) * minute;
            let t = T0 + m as i64 * 60_000_000_000;
            [
                block(t, &[("A", &x[r.clone()])]),
                block(t + 3 * dt / 10, &[("B", &y[r])]),
            ]
        })
        .collect();
    let cfg = XcorrConfig {
        freqmax: 4.0,
        ..small()
    };
    let out = run(&cfg, &blocks);
    let stack = out.iter().find(|b| b.method == "linear").unwrap();
    let p = peak(stack.data.row(0).as_slice().unwrap(), stack.max_lag);
    assert!((p - 7.3).abs() < 0.1, "peak at {p} samples, want 7.3");
}

#[test]
fn uncorrelated_noise_stays_low_and_diffuse_noise_is_symmetric() {
    let n = 3600 * RATE as usize;
    let a = noise(n, 3);
    let b = noise(n, 4);
    let out = run(&small(), &[block(T0, &[("A", &a), ("B", &b)])]);
    let st = out.iter().find(|b| b.method == "linear").unwrap();
    let auto = run(
        &XcorrConfig {
            autocorr: true,
            ..small()
        },
        &[block(T0, &[("A", &a), ("B", &b)])],
    );
    let aa = auto.iter().find(|b| b.method == "linear").unwrap();
    let zero = aa.data[[0, aa.max_lag]] as f64;
    let cross_max = st.data.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
    assert!(
        cross_max < 0.05 * zero,
        "uncorrelated: max {cross_max} vs autocorrelation {zero}"
    );

    // Two noise fields crossing both stations, one from each side, 40 samples apart.
    let d = 40;
    let left = noise(n + d, 5);
    let right = noise(n + d, 6);
    let sa: Vec<f32> = (0..n).map(|i| left[i + d] + right[i]).collect();
    let sb: Vec<f32> = (0..n).map(|i| left[i] + right[i + d]).collect();
    let out = run(&small(), &[block(T0, &[("A", &sa), ("B", &sb)])]);
    let st = out.iter().find(|b| b.method == "linear").unwrap();
    let row = st.data.row(0);
    let k = st.max_lag;
    let (pos, neg) = (row[k + d], row[k - d]);
    let off = row
        .iter()
        .enumerate()
        .filter(|(j, _)| {
            (*j as i64 - (k + d) as i64).abs() > 3 && (*j as i64 - (k - d) as i64).abs() > 3
        })
        .fold(0.0f32, |m, (_, v)| m.max(v.abs()));
    assert!(
        pos > 5.0 * off && neg > 5.0 * off,
        "peaks {pos} {neg}, elsewhere {off}"
    );
    assert!((pos - neg).abs() < 0.15 * pos, "symmetric: {pos} vs {neg}");
}

fn pieces(blocks: &Chunk, cuts: &[usize]) -> Vec<Chunk> {
    let n = blocks.n_samples();
    let mut at: usize = 0;
    let mut out = Vec::new();
    for &len in cuts.iter().chain(std::iter::once(&usize::MAX)) {
        let end = at.saturating_add(len).min(n);
        if end > at {
            let mut c = blocks.clone();
            c.start = sample_time(blocks.start, at as i64, RATE);
            c.data = blocks.data.slice(s![.., at..end]).to_owned();
            out.push(c);
        }
        at = end;
        if at == n {
            break;
        }
    }
    out
}

fn everything() -> XcorrConfig {
    XcorrConfig {
        stack: vec![StackMethod::Linear, StackMethod::Pws, StackMethod::Robust],
        substacks: vec!["30m".into(), "1h".into()],
        per_window: true,
        autocorr: true,
        whiten: Whiten::Rma,
        fft_length: FftLength::Window,
        spectral_demean: true,
        ..small()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn streaming_equals_batch_bit_for_bit(cuts in prop::collection::vec(1usize..20_000, 1..12)) {
        let n = 3000 * RATE as usize;
        let (a, b, c) = (noise(n, 11), noise(n, 12), noise(n, 13));
        let whole = block(T0 + 250_000_000_000, &[("A", &a), ("B", &b), ("C", &c)]);
        let cfg = everything();
        let batch = run(&cfg, std::slice::from_ref(&whole));
        let streamed = run(&cfg, &pieces(&whole, &cuts));
        prop_assert!(batch.len() > 10);
        prop_assert_eq!(batch.len(), streamed.len());
        for (x, y) in batch.iter().zip(&streamed) {
            prop_assert_eq!(x, y);
        }
    }
}

#[test]
fn products_have_the_documented_shape() {
    let n = 7200 * RATE as usize;
    let (a, b) = (noise(n, 21), noise(n, 22));
    let out = run(&everything(), &[block(T0, &[("A", &a), ("B", &b)])]);
    let kinds: std::collections::BTreeSet<String> = out.iter().map(|b| b.product()).collect();
    let want: std::collections::BTreeSet<String> = [
        "window",
        "linear_30m",
        "linear_1h",
        "pws_30m",
        "pws_1h",
        "robust_30m",
        "robust_1h",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(kinds, want);
    for b in &out {
        assert_eq!(b.data.ncols(), 2 * 400 + 1);
        assert_eq!(b.lag_s(0), -20.0);
        assert_eq!(b.lag_s(b.max_lag), 0.0);
        // Three pairs: A-A, A-B, B-B.
        assert_eq!(b.pairs.len(), 3, "{}", b.product());
    }
    let hours: Vec<i64> = out
        .iter()
        .filter(|b| b.product() == "linear_1h")
        .map(|b| b.start)
        .collect();
    assert_eq!(hours, vec![T0, T0 + 3_600_000_000_000]);
    // The hourly linear stack is the mean of its windows.
    let windows: Vec<&CorrBlock> = out
        .iter()
        .filter(|b| b.method == "window" && b.start < T0 + 3_600_000_000_000)
        .collect();
    let h = out.iter().find(|b| b.product() == "linear_1h").unwrap();
    assert_eq!(h.windows[1] as usize, windows.len());
    let mean: Vec<f64> = (0..h.n_lags())
        .map(|j| windows.iter().map(|w| w.data[[1, j]] as f64).sum::<f64>() / windows.len() as f64)
        .collect();
    let peak = mean.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (j, m) in mean.iter().enumerate() {
        assert!((h.data[[1, j]] as f64 - m).abs() < 1e-4 * peak);
    }
}

#[test]
fn bad_windows_are_left_out_and_counted() {
    let n = 3600 * RATE as usize;
    let mut a = noise(n, 31);
    let b = noise(n, 32);
    // A spike in the first window of A; B silent from 600 s to 1800 s.
    a[1000] = 500.0;
    let mut x = Xcorr::<f32>::new(&small(), "xc").unwrap();
    let mut out = Vec::new();
    let minute = 60 * RATE as usize;
    for m in 0..60 {
        let t = T0 + m as i64 * 60_000_000_000;
        let r = m * minute..(m + 1) * minute;
        x.push(&block(t, &[("A", &a[r.clone()])]), &mut out)
            .unwrap();
        if !(10..30).contains(&m) {
            x.push(&block(t, &[("B", &b[r])]), &mut out).unwrap();
        }
    }
    x.finish(&mut out);
    let st = &x.windower.stats;
    assert_eq!(st.late_samples, 0);
    assert_eq!(st.rejected.get("window_amplitude"), Some(&1), "{st:?}");
    // Windows starting 500 s ..= 1700 s miss more than 30 % of B; the last one (both
    // channels) is cut by the end of the data.
    assert_eq!(st.rejected.get("window_gaps"), Some(&13), "{st:?}");
    assert_eq!(st.rejected.get("window_past_end"), Some(&2), "{st:?}");
    let stack = out.iter().find(|b| b.method == "linear").unwrap();
    // 35 windows fit; one has A's spike, 13 miss B.
    assert_eq!(stack.windows, vec![35 - 1 - 13]);
}
