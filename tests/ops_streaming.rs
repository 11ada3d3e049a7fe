//! Streaming behaviour of the operators: any split of a stream gives bit-for-bit the output of
//! feeding it whole; gaps, overlaps and changes are handled by policy and reported; streams and
//! channels do not influence each other.

mod common;

use common::{chunk, feed_in_pieces, joined};
use ndarray::{s, Array2};
use proptest::prelude::*;
use seisreduce::dsp::butter::Band;
use seisreduce::ops::calculus::{calculus, Calculus};
use seisreduce::ops::decimate::{decimate, Align, DecimateParams, OutputKind};
use seisreduce::ops::detrend::{detrend, Trend};
use seisreduce::ops::filter::{filter, FilterParams, Phase};
use seisreduce::ops::taper::taper;
use seisreduce::ops::{Event, GapPolicy, Operator, Output};

const RATE: f64 = 100.0;
const T0: i64 = 1_700_000_000_000_000_000;

fn decimator(factor: usize, gaps: GapPolicy) -> Box<dyn Operator> {
    Box::new(
        decimate(&DecimateParams {
            factor,
            gaps,
            ..DecimateParams::default()
        })
        .unwrap(),
    )
}

/// Every operator kind, freshly built.
fn all_operators() -> Vec<(&'static str, Box<dyn Operator>)> {
    let g = GapPolicy::Restart;
    let bp = |phase| FilterParams {
        order: 4,
        band: Band::Bandpass(1.0, 10.0),
        phase,
        gaps: g,
    };
    vec![
        ("decimate 2", decimator(2, g)),
        ("decimate 3", decimator(3, g)),
        ("decimate 10", decimator(10, g)),
        ("decimate 100", decimator(100, g)),
        (
            "filter causal",
            Box::new(filter(&bp(Phase::Causal)).unwrap()),
        ),
        (
            "filter zero-phase",
            Box::new(filter(&bp(Phase::ZeroPhase { window_s: 7.0 })).unwrap()),
        ),
        ("detrend", Box::new(detrend(Trend::Linear, 3.3, g).unwrap())),
        ("taper", Box::new(taper(0.1, 5.0, g).unwrap())),
        ("integrate", Box::new(calculus(Calculus::Integrate, g))),
        (
            "differentiate",
            Box::new(calculus(Calculus::Differentiate, g)),
        ),
    ]
}

fn data(channels: usize, n: usize, seed: u64) -> Array2<f32> {
    Array2::from_shape_fn((channels, n), |(c, i)| {
        let x = (i as u64 ^ seed)
            .wrapping_mul(6364136223846793005)
            .wrapping_add((c as u64).wrapping_mul(1442695040888963407));
        ((x >> 40) as f32 / 16777216.0 - 0.5) * 1000.0 + (i as f32 * 0.05 + c as f32).sin() * 300.0
    })
}

fn bits(out: &Output) -> (Vec<i64>, Vec<u32>) {
    let starts = out.chunks.iter().map(|c| c.start).collect::<Vec<_>>();
    let values = if out.chunks.is_empty() {
        Vec::new()
    } else {
        joined(out).iter().map(|v| v.to_bits()).collect()
    };
    (vec![starts.first().copied().unwrap_or(0)], values)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_split_gives_the_whole_output(
        channels in 1usize..4,
        n in 1usize..3000,
        seed in any::<u64>(),
        cuts in proptest::collection::vec(1usize..700, 0..12),
    ) {
        let x = data(channels, n, seed);
        let whole_ops = all_operators();
        let split_ops = all_operators();
        for ((name, mut whole), (_, mut split)) in whole_ops.into_iter().zip(split_ops) {
            let a = feed_in_pieces(whole.as_mut(), T0, RATE, &x, &[]);
            let b = feed_in_pieces(split.as_mut(), T0, RATE, &x, &cuts);
            prop_assert_eq!(bits(&a), bits(&b), "{} differs when split at {:?}", name, cuts);
        }
    }
}

fn first_sample_decimator(factor: usize) -> Box<dyn Operator> {
    Box::new(
        decimate(&DecimateParams {
            factor,
            align: Align::FirstSample,
            ..DecimateParams::default()
        })
        .unwrap(),
    )
}

#[test]
fn a_gap_restarts_the_filter_and_is_reported() {
    let x = data(2, 4000, 1);
    let mut op = first_sample_decimator(10);
    let mut out = Output::default();
    op.process(
        chunk(T0, RATE, x.slice(s![.., ..1500]).to_owned()),
        &mut out,
    );
    // 37 samples missing.
    let resume = T0 + (1500 + 37) * 10_000_000;
    op.process(
        chunk(resume, RATE, x.slice(s![.., 1500..]).to_owned()),
        &mut out,
    );
    op.flush(&mut out);
    assert_eq!(
        out.events,
        vec![Event::Gap {
            stream: "XX.OPS".into(),
            start: T0 + 1500 * 10_000_000,
            end: resume,
            samples: 37,
            filled: false,
        }]
    );
    // Two segments: 150 outputs from the first 1500 samples, 250 from the 2500 after the gap,
    // the second starting at the resumption time.
    let firsts: Vec<i64> = out.chunks.iter().map(|c| c.start).collect();
    assert!(firsts.contains(&resume), "{firsts:?}");
    let total: usize = out.chunks.iter().map(|c| c.n_samples()).sum();
    assert_eq!(total, 150 + 250);
    // Each segment equals that segment decimated on its own.
    let mut alone = first_sample_decimator(10);
    let second = feed_in_pieces(
        alone.as_mut(),
        resume,
        RATE,
        &x.slice(s![.., 1500..]).to_owned(),
        &[],
    );
    let tail: Vec<f32> = out
        .chunks
        .iter()
        .filter(|c| c.start >= resume)
        .flat_map(|c| c.data.row(0).to_vec())
        .collect();
    assert_eq!(tail, joined(&second).row(0).to_vec());
}

#[test]
fn short_gaps_are_interpolated_and_reported() {
    let x = data(1, 3000, 2);
    let mut op = decimator(4, GapPolicy::Interpolate { max_samples: 10 });
    let mut out = Output::default();
    op.process(
        chunk(T0, RATE, x.slice(s![.., ..1000]).to_owned()),
        &mut out,
    );
    op.process(
        chunk(
            T0 + 1005 * 10_000_000,
            RATE,
            x.slice(s![.., 1005..]).to_owned(),
        ),
        &mut out,
    );
    op.flush(&mut out);
    assert!(
        matches!(
            out.events[..],
            [Event::Gap {
                samples: 5,
                filled: true,
                ..
            }]
        ),
        "{:?}",
        out.events
    );
    // The same as decimating the signal with the five samples replaced by the straight line.
    let mut bridged = x.clone();
    let (a, b) = (x[[0, 999]], x[[0, 1005]]);
    for k in 0..5 {
        bridged[[0, 1000 + k]] = (a as f64 + (b as f64 - a as f64) * (k + 1) as f64 / 6.0) as f32;
    }
    let mut reference = decimator(4, GapPolicy::Restart);
    let want = feed_in_pieces(reference.as_mut(), T0, RATE, &bridged, &[]);
    assert_eq!(joined(&out), joined(&want));
}

#[test]
fn overlapping_samples_are_dropped_and_reported() {
    let x = data(1, 2000, 3);
    let mut op = decimator(5, GapPolicy::Restart);
    let mut out = Output::default();
    op.process(
        chunk(T0, RATE, x.slice(s![.., ..1200]).to_owned()),
        &mut out,
    );
    // The next chunk repeats 200 samples.
    op.process(
        chunk(
            T0 + 1000 * 10_000_000,
            RATE,
            x.slice(s![.., 1000..]).to_owned(),
        ),
        &mut out,
    );
    op.flush(&mut out);
    assert!(
        matches!(out.events[..], [Event::Overlap { dropped: 200, .. }]),
        "{:?}",
        out.events
    );
    let mut reference = decimator(5, GapPolicy::Restart);
    let want = feed_in_pieces(reference.as_mut(), T0, RATE, &x, &[]);
    assert_eq!(joined(&out), joined(&want));
}

#[test]
fn a_rate_change_restarts_and_is_reported() {
    let mut op = decimator(2, GapPolicy::Restart);
    let mut out = Output::default();
    op.process(chunk(T0, 100.0, data(1, 100, 4)), &mut out);
    op.process(chunk(T0 + 1_000_000_000, 50.0, data(1, 100, 5)), &mut out);
    op.flush(&mut out);
    assert!(matches!(&out.events[..], [Event::Restart { reason, .. }] if reason.contains("rate")));
    let rates: Vec<f64> = out.chunks.iter().map(|c| c.rate.hz()).collect();
    assert!(rates.contains(&50.0) && rates.contains(&25.0), "{rates:?}");
}

#[test]
fn streams_are_independent() {
    let (x, y) = (data(2, 2500, 6), data(3, 1800, 7));
    let mut op = decimator(10, GapPolicy::Restart);
    let mut out = Output::default();
    for i in 0..5 {
        let mut a = chunk(
            T0 + i * 5_000_000_000,
            RATE,
            x.slice(s![.., i as usize * 500..(i as usize + 1) * 500])
                .to_owned(),
        );
        a.stream = "A".into();
        op.process(a, &mut out);
        if i < 3 {
            let mut b = chunk(
                T0 + i * 6_000_000_000,
                RATE,
                y.slice(s![.., i as usize * 600..(i as usize + 1) * 600])
                    .to_owned(),
            );
            b.stream = "B".into();
            op.process(b, &mut out);
        }
    }
    op.flush(&mut out);
    for (name, src) in [("A", &x), ("B", &y)] {
        let mine = Output {
            chunks: out
                .chunks
                .iter()
                .filter(|c| c.stream == name)
                .cloned()
                .collect(),
            events: Vec::new(),
        };
        let mut alone = decimator(10, GapPolicy::Restart);
        let want = feed_in_pieces(alone.as_mut(), T0, RATE, src, &[]);
        assert_eq!(joined(&mine), joined(&want), "stream {name}");
    }
}

#[test]
fn many_channels_in_parallel_equal_each_channel_alone() {
    // Big enough for the parallel path (64 x 4096 samples).
    let x = data(64, 4096, 8);
    let mut op = decimator(10, GapPolicy::Restart);
    let all = joined(&feed_in_pieces(op.as_mut(), T0, RATE, &x, &[1000]));
    for c in [0, 17, 63] {
        let mut one = decimator(10, GapPolicy::Restart);
        let row = x.slice(s![c..c + 1, ..]).to_owned();
        let alone = joined(&feed_in_pieces(one.as_mut(), T0, RATE, &row, &[1000]));
        assert_eq!(all.row(c), alone.row(0), "channel {c}");
    }
}

#[test]
fn integer_output_is_rounded() {
    let mut op = decimate(&DecimateParams {
        factor: 4,
        output: OutputKind::Integer,
        ..DecimateParams::default()
    })
    .unwrap();
    let out = feed_in_pieces(&mut op, T0, RATE, &data(1, 1000, 9), &[]);
    let y = joined(&out);
    assert!(y.iter().all(|v| v.fract() == 0.0));
    assert!(y.iter().any(|v| *v != 0.0));
}

#[test]
fn outputs_fall_on_the_epoch_grid_of_the_output_rate() {
    // Streams starting 3 and 7 samples past a whole second, and one resuming after a gap:
    // every output time is a whole multiple of 100 ms (10 Hz), so they share one grid.
    let x = data(1, 2000, 10);
    let mut op = decimator(10, GapPolicy::Restart);
    let mut out = Output::default();
    for (name, offset) in [("A", 3), ("B", 7)] {
        let mut c = chunk(T0 + offset * 10_000_000, RATE, x.clone());
        c.stream = name.into();
        op.process(c, &mut out);
    }
    let mut resumed = chunk(T0 + 25_130_000_000, RATE, x.slice(s![.., ..500]).to_owned());
    resumed.stream = "A".into();
    op.process(resumed, &mut out);
    op.flush(&mut out);
    assert_eq!(out.events.len(), 1, "the gap in A");
    for c in &out.chunks {
        assert_eq!(c.rate.hz(), 10.0);
        for j in 0..c.n_samples() as i64 {
            assert_eq!(
                c.time_of(j) % 100_000_000,
                0,
                "{} sample {j} at {}",
                c.stream,
                c.time_of(j)
            );
        }
    }
    // The first output of B is at the whole second before its first sample (7 samples of
    // lead-in), and the 2000 samples plus lead-in give ceil(2007 / 10) outputs.
    let b: Vec<_> = out.chunks.iter().filter(|c| c.stream == "B").collect();
    assert_eq!(b[0].start, T0);
    assert_eq!(b.iter().map(|c| c.n_samples()).sum::<usize>(), 201);
}
