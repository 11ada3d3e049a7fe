//! RSAM (Real-time Seismic Amplitude Measurement, Endo & Murray 1991): the mean absolute
//! amplitude of each channel over fixed windows, after removing the window's mean, as volcano
//! observatories watch it through the night.
//!
//! Windows are `window_s` long and fall on multiples of it since the epoch (a 10-minute RSAM
//! is at :00, :10, ... on every station, after every restart). Each window's value is
//! `mean(|x - mean(x)|)` over the samples whose times fall in it, in float64, labelled with
//! the window's start: the output is a stream of one sample per window (rate `1/window_s`)
//! per channel, so that it can be archived as miniSEED, served over SeedLink or stored as
//! Zarr like any other stream. Band-limited RSAM (5-18 Hz, say) is a `filter` stage before
//! this one. A window with less than `min_coverage` of its samples (a gap, the first partial
//! window of a run) is NaN, so the series stays regular and says where it knows nothing.
//!
//! A window ends when a sample of a later one arrives, or at the end of the input; samples for
//! a window already sent are late and dropped (counted). The mean needs the whole window, so
//! each channel's samples of the open window are held (4 bytes each).
//!
//! The same windows carry the other per-channel [`Statistic`]s of a window that
//! [`crate::ops::health`] offers for DAS channel health (RMS, mean square, dead and saturated
//! flags): one engine, one set of window rules.

use std::collections::HashMap;

use ndarray::Array2;
use serde::Deserialize;

pub use super::rsam_stage::{RsamStage, RsamTableConfig};
use super::{ConfigError, Event, Operator, Output};
use crate::model::{first_at_or_after, ChannelMeta, Chunk, Nanos, SampleRate};
use crate::pipeline::component::{
    key_error, BuildContext, Component, KeyError, Role, StageType, Work,
};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Flow, Need, CHUNK_OVERHEAD};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RsamConfig {
    /// Window length, seconds (whole seconds, 1 s to a day): 60, 600 and 3600 are usual.
    #[serde(default = "default_window")]
    pub window_s: u64,
    /// The share of a window's samples needed for a value; below it the value is NaN.
    #[serde(default = "default_coverage")]
    pub min_coverage: f64,
}

pub(crate) fn default_window() -> u64 {
    600
}

pub(crate) fn default_coverage() -> f64 {
    0.5
}

impl StageType for RsamConfig {
    const NAME: &'static str = "rsam";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "RSAM: mean absolute demeaned amplitude per channel over epoch-aligned windows, one sample per window";
}

impl Component for RsamConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        Rsam::new(self.window_s, self.min_coverage)
            .map(drop)
            .map_err(key_error)
    }

    fn memory(&self, input: &Flow) -> Need {
        window_state(self.window_s, input)
    }

    fn build(&self, _: &BuildContext<'_>) -> Result<Work, StageError> {
        self.stage(false)
    }
}

impl RsamConfig {
    /// The running stage: windows out as blocks, or (`table`) as `rsam` table rows.
    pub(crate) fn stage(&self, table: bool) -> Result<Work, StageError> {
        let rsam = Rsam::new(self.window_s, self.min_coverage)
            .map_err(|e| StageError::Other(e.to_string()))?;
        Ok(Work::Transform(Box::new(RsamStage::new(rsam, table))))
    }
}

/// What the windows hold (every channel's samples of one open window) and what they emit.
pub fn window_state(window_s: u64, input: &Flow) -> Need {
    let per_channel = (window_s as f64 * input.rate_hz).ceil() as u64 * 4;
    let n = input.all_channels();
    let out = Flow {
        message_bytes: input.channels.max(1) * 4 + CHUNK_OVERHEAD,
        rate_hz: 1.0 / window_s as f64,
        ..*input
    };
    Need::new(
        n * per_channel,
        format!("{n} ch x one {window_s} s window of samples"),
        out,
    )
}

/// What a window's samples of one channel become.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// RSAM: `mean(|x - mean(x)|)`.
    MeanAbsDemeaned,
    /// `sqrt(mean((x - mean(x))²))`.
    Rms,
    /// `mean(x²)`: the energy of a band when a band-pass `filter` comes before.
    MeanSquare,
    /// 1 when the demeaned RMS is at most the threshold (a channel that records nothing), else 0.
    Dead { max_rms: f64 },
    /// 1 when at least `fraction` of the samples reach `|x| >= level` (the digitiser's or the
    /// interrogator's full scale), else 0.
    Saturated { level: f64, fraction: f64 },
}

impl Statistic {
    /// The window value's units given the samples': amplitudes keep them (RSAM in m/s
    /// after `remove_sensitivity`), energies square them, flags have none.
    fn units(&self, samples: Option<String>) -> Option<String> {
        let u = samples?;
        match self {
            Statistic::MeanAbsDemeaned | Statistic::Rms => Some(u),
            Statistic::MeanSquare => Some(format!("({u})**2")),
            Statistic::Dead { .. } | Statistic::Saturated { .. } => None,
        }
    }

    pub fn of(self, x: &[f32]) -> f64 {
        match self {
            Statistic::MeanAbsDemeaned => mean_abs_demeaned(x),
            Statistic::Rms => rms_demeaned(x),
            Statistic::MeanSquare => {
                x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / x.len() as f64
            }
            Statistic::Dead { max_rms } => (rms_demeaned(x) <= max_rms) as u8 as f64,
            Statistic::Saturated { level, fraction } => {
                let n = x.iter().filter(|&&v| (v as f64).abs() >= level).count();
                (n as f64 >= fraction * x.len() as f64) as u8 as f64
            }
        }
    }
}

/// `sqrt(mean((x - mean(x))²))` in float64, two passes (no cancellation for large offsets).
pub fn rms_demeaned(x: &[f32]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// One stream's open window.
struct Open {
    t0: Nanos,
    rate: SampleRate,
    channels: Vec<ChannelMeta>,
    das: Option<std::sync::Arc<crate::model::DasMeta>>,
    units: Option<String>,
    /// Each channel's samples of the window, in order.
    samples: Vec<Vec<f32>>,
}

/// How many samples each channel's value of a closed window rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    pub samples: Vec<u64>,
    /// Samples a whole window holds at the stream's rate.
    pub expected: f64,
}

/// The RSAM (or another [`Statistic`]) of every stream.
pub struct Rsam {
    window: Nanos,
    min_coverage: f64,
    statistic: Statistic,
    /// Sample counts of the windows closed, one per block emitted, when a table wants them.
    counted: Option<Vec<Counted>>,
    open: HashMap<String, Open>,
    /// End of each stream's last window sent: samples before it are late.
    sent_until: HashMap<String, Nanos>,
}

impl Rsam {
    pub fn new(window_s: u64, min_coverage: f64) -> Result<Rsam, ConfigError> {
        if !(1..=86_400).contains(&window_s) {
            return Err(ConfigError::invalid(
                "window_s",
                format!("{window_s} s: from 1 s to a day (86400)"),
            ));
        }
        if !(0.0..=1.0).contains(&min_coverage) {
            return Err(ConfigError::invalid(
                "min_coverage",
                format!("{min_coverage}: a share from 0 to 1"),
            ));
        }
        Ok(Rsam {
            window: window_s as Nanos * 1_000_000_000,
            min_coverage,
            statistic: Statistic::MeanAbsDemeaned,
            counted: None,
            open: HashMap::new(),
            sent_until: HashMap::new(),
        })
    }

    /// The same windows, another statistic.
    pub fn with_statistic(mut self, statistic: Statistic) -> Rsam {
        self.statistic = statistic;
        self
    }

    /// Keeps the sample counts behind every value, for [`Rsam::take_counted`].
    pub fn counting(mut self) -> Rsam {
        self.counted = Some(Vec::new());
        self
    }

    /// The counts of the windows closed since the last call, in the order of their blocks.
    pub fn take_counted(&mut self) -> Vec<Counted> {
        self.counted
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub fn window_ns(&self) -> Nanos {
        self.window
    }

    /// The value of each channel of a finished window, as a one-sample block.
    fn close(&mut self, stream: &str, w: Open, out: &mut Output) {
        self.sent_until
            .insert(stream.to_string(), w.t0 + self.window);
        let expected = self.window as f64 / 1e9 * w.rate.hz();
        if let Some(c) = self.counted.as_mut() {
            c.push(Counted {
                samples: w.samples.iter().map(|x| x.len() as u64).collect(),
                expected,
            });
        }
        let need = (self.min_coverage * expected).max(1.0);
        let mut data = Array2::from_elem((w.samples.len(), 1), f32::NAN);
        for (c, x) in w.samples.iter().enumerate() {
            if (x.len() as f64) >= need {
                data[[c, 0]] = self.statistic.of(x) as f32;
            }
        }
        out.chunks.push(Chunk {
            stream: stream.to_string(),
            start: w.t0,
            rate: SampleRate(1e9 / self.window as f64),
            channels: w.channels,
            data,
            das: w.das,
            units: self.statistic.units(w.units),
        });
    }
}

/// `mean(|x - mean(x)|)` in float64.
pub fn mean_abs_demeaned(x: &[f32]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    x.iter().map(|&v| (v as f64 - mean).abs()).sum::<f64>() / n
}

impl Operator for Rsam {
    fn process(&mut self, chunk: Chunk, out: &mut Output) {
        let (n, rate) = (chunk.n_samples(), chunk.rate.hz());
        if n == 0 || !(rate > 0.0 && rate.is_finite()) {
            return;
        }
        // A new layout (channels or rate changed): the window so far is finished as it is.
        if let Some(w) = self.open.get(&chunk.stream) {
            if w.samples.len() != chunk.n_channels() || w.rate != chunk.rate {
                let w = self.open.remove(&chunk.stream).expect("just seen");
                self.close(&chunk.stream, w, out);
            }
        }
        let mut i = 0;
        let mut late = 0u64;
        while i < n {
            let t = chunk.time_of(i as i64);
            let t0 = t.div_euclid(self.window) * self.window;
            let j = first_at_or_after(chunk.start, rate, t0 + self.window, n).max(i + 1);
            if self.sent_until.get(&chunk.stream).is_some_and(|&s| t0 < s) {
                late += (j - i) as u64;
                i = j;
                continue;
            }
            match self.open.get(&chunk.stream) {
                Some(w) if w.t0 == t0 => {}
                Some(w) if w.t0 > t0 => {
                    // Earlier than the open window, though not sent: out of order, dropped.
                    late += (j - i) as u64;
                    i = j;
                    continue;
                }
                _ => {
                    if let Some(w) = self.open.remove(&chunk.stream) {
                        self.close(&chunk.stream, w, out);
                    }
                    self.open.insert(
                        chunk.stream.clone(),
                        Open {
                            t0,
                            rate: chunk.rate,
                            channels: chunk.channels.clone(),
                            das: chunk.das.clone(),
                            units: chunk.units.clone(),
                            samples: vec![Vec::new(); chunk.n_channels()],
                        },
                    );
                }
            }
            let w = self.open.get_mut(&chunk.stream).expect("opened above");
            for (c, row) in chunk.data.rows().into_iter().enumerate() {
                let part = row.slice(ndarray::s![i..j]);
                match part.as_slice() {
                    Some(s) => w.samples[c].extend_from_slice(s),
                    None => w.samples[c].extend(part.iter()),
                }
            }
            i = j;
        }
        if late > 0 {
            out.events.push(Event::Late {
                stream: chunk.stream,
                dropped: late,
            });
        }
    }

    fn flush(&mut self, out: &mut Output) {
        let mut streams: Vec<String> = self.open.keys().cloned().collect();
        streams.sort();
        for s in streams {
            if let Some(w) = self.open.remove(&s) {
                self.close(&s, w, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;
    const T0: Nanos = 1_735_689_600 * S;

    fn chunk(start: Nanos, data: Array2<f32>) -> Chunk {
        Chunk {
            stream: "XX.A..HHZ".into(),
            start,
            rate: SampleRate(100.0),
            channels: (0..data.nrows())
                .map(|c| ChannelMeta {
                    source_id: crate::model::SourceId::from_codes(
                        "XX",
                        &format!("A{c}"),
                        "",
                        "HHZ",
                    ),
                    distance_m: None,
                })
                .collect(),
            data,
            das: None,
            units: None,
        }
    }

    fn signal(channels: usize, n: usize) -> Array2<f32> {
        let mut r = crate::synthetic::signal::Rng::new(3);
        Array2::from_shape_fn((channels, n), |(c, i)| {
            (r.normal() * 10.0 + 100.0 * c as f64 + if i % 5000 == 7 { 3e3 } else { 0.0 }) as f32
        })
    }

    fn run(chunks: Vec<Chunk>, window_s: u64) -> Vec<Chunk> {
        let mut op = Rsam::new(window_s, 0.5).unwrap();
        let mut out = Output::default();
        for c in chunks {
            op.process(c, &mut out);
        }
        op.flush(&mut out);
        out.chunks
    }

    #[test]
    fn windows_on_the_epoch_grid_equal_the_batch_formula_whatever_the_pieces() {
        // 25 min from 00:02:30: windows at 00:00 (partial: 7.5 of 10 min), 00:10, 00:20.
        let start = T0 + 150 * S;
        let x = signal(2, 150_000);
        let whole = run(vec![chunk(start, x.clone())], 600);
        let mut pieces = Vec::new();
        let mut at = 0;
        for len in [1, 999, 12_345, 70_000, 66_655] {
            pieces.push(chunk(
                start + at as i64 * S / 100,
                x.slice(ndarray::s![.., at..at + len]).to_owned(),
            ));
            at += len;
        }
        assert_eq!(at, 150_000);
        let split = run(pieces, 600);
        assert_eq!(whole.len(), 3);
        for (a, b) in whole.iter().zip(&split) {
            assert_eq!(a.start, b.start);
            assert_eq!(a.data, b.data);
        }
        let starts: Vec<Nanos> = whole.iter().map(|c| (c.start - T0) / S).collect();
        assert_eq!(starts, vec![0, 600, 1200]);
        assert_eq!(whole[0].rate.hz(), 1.0 / 600.0);
        // 00:00 window: samples 0..45000 of the input.
        for c in 0..2 {
            let row: Vec<f32> = x.row(c).iter().copied().collect();
            let want = mean_abs_demeaned(&row[..45_000]) as f32;
            assert_eq!(whole[0].data[[c, 0]], want);
            let want = mean_abs_demeaned(&row[45_000..105_000]) as f32;
            assert_eq!(whole[1].data[[c, 0]], want);
        }
        // 00:20 window holds 5 of its 10 minutes: exactly the coverage needed.
        assert!(whole[2].data[[0, 0]].is_finite());
    }

    #[test]
    fn thin_windows_are_nan_and_late_samples_are_counted() {
        let x = signal(1, 2_000);
        let mut op = Rsam::new(60, 0.5).unwrap();
        let mut out = Output::default();
        // 20 s of a minute, then the next minute: the first is NaN.
        op.process(
            chunk(T0, x.slice(ndarray::s![.., ..2000]).to_owned()),
            &mut out,
        );
        op.process(chunk(T0 + 60 * S, signal(1, 6000)), &mut out);
        op.process(
            chunk(T0 + 10 * S, x.slice(ndarray::s![.., ..100]).to_owned()),
            &mut out,
        );
        op.flush(&mut out);
        assert_eq!(out.chunks.len(), 2);
        assert!(out.chunks[0].data[[0, 0]].is_nan());
        assert!(out.chunks[1].data[[0, 0]].is_finite());
        assert_eq!(
            out.events,
            vec![Event::Late {
                stream: "XX.A..HHZ".into(),
                dropped: 100
            }]
        );
    }

    #[test]
    fn keys_out_of_range_are_refused() {
        assert!(Rsam::new(0, 0.5).is_err());
        assert!(Rsam::new(600, 1.5).is_err());
    }
}
