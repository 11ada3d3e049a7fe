//! `remove_response`: ObsPy's `Trace.remove_response` (output DISP/VEL/ACC, `pre_filt`,
//! `water_level`, demean, SAC cosine taper) on a stream, with the response of the metadata
//! epoch that covers each window.
//!
//! Deconvolution is a whole-window operation (an FFT of the demeaned, tapered window): it
//! does not carry state from one window to the next the way a filter does. So the stream is
//! cut into windows of `window_s` and each is deconvolved together with `pad_s` of its
//! neighbours on both sides, of which only the centre is kept: the taper and the
//! wrap-around of the inverse filter fall in the padding. Each output sample equals ObsPy's
//! `remove_response` of the padded window it was cut from (to f32 rounding); it is not
//! ObsPy's result on a whole day, which depends on the whole day's mean and taper.
//! Outputs lag the input by `window_s + pad_s`. A gap, a change of rate or of channels ends
//! the segment: its last window is deconvolved with what there is.
//!
//! A channel without an evaluable response flows on in counts when it is alone in its block
//! (with a warning and a `no_metadata` event), or becomes NaN in a multi-channel block.

use std::collections::HashMap;

use ndarray::Array2;
use serde::Deserialize;

use super::epochs::Epochs;
use super::{Event, Operator, Output};
use crate::metadata::deconvolve::{Deconvolver, RemoveOptions};
use crate::metadata::evaluate::Output as Quantity;
use crate::model::{sample_time, ChannelMeta, Chunk, Nanos, SampleRate, SourceId};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Flow, Need};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum OutputName {
    #[serde(rename = "DISP")]
    Disp,
    #[default]
    #[serde(rename = "VEL")]
    Vel,
    #[serde(rename = "ACC")]
    Acc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveResponseConfig {
    #[serde(default)]
    pub output: OutputName,
    /// dB below the peak where the inverse is clipped; a negative value (or none) for none.
    #[serde(default = "sixty")]
    pub water_level: Option<f64>,
    /// `[f1, f2, f3, f4]` Hz: the frequency-domain cosine band.
    #[serde(default)]
    pub pre_filt: Option<[f64; 4]>,
    #[serde(default = "yes")]
    pub zero_mean: bool,
    #[serde(default = "yes")]
    pub taper: bool,
    #[serde(default = "five_percent")]
    pub taper_fraction: f64,
    /// Seconds of output per deconvolved window.
    #[serde(default = "hour")]
    pub window_s: f64,
    /// Seconds of the neighbours deconvolved with each window, on both sides, then dropped.
    #[serde(default = "quarter_hour")]
    pub pad_s: f64,
}

fn sixty() -> Option<f64> {
    Some(60.0)
}
fn yes() -> bool {
    true
}
fn five_percent() -> f64 {
    0.05
}
fn hour() -> f64 {
    3600.0
}
fn quarter_hour() -> f64 {
    900.0
}

impl StageType for RemoveResponseConfig {
    const NAME: &'static str = "remove_response";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "ObsPy's remove_response (DISP/VEL/ACC, pre_filt, water_level) on padded windows, response from [metadata]";
}

impl RemoveResponseConfig {
    fn options(&self) -> RemoveOptions {
        RemoveOptions {
            output: match self.output {
                OutputName::Disp => Quantity::Displacement,
                OutputName::Vel => Quantity::Velocity,
                OutputName::Acc => Quantity::Acceleration,
            },
            water_level: self.water_level.filter(|w| *w >= 0.0),
            pre_filt: self.pre_filt,
            zero_mean: self.zero_mean,
            taper: self.taper,
            taper_fraction: self.taper_fraction,
        }
    }

    fn units(&self) -> &'static str {
        match self.output {
            OutputName::Disp => "m",
            OutputName::Vel => "m/s",
            OutputName::Acc => "m/s**2",
        }
    }
}

impl Component for RemoveResponseConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        let bad = |k: &str, m: &str| Err((Some(k.to_string()), m.to_string()));
        if !(self.window_s.is_finite() && self.window_s > 0.0) {
            return bad("window_s", "must be positive");
        }
        if !(self.pad_s.is_finite() && self.pad_s >= 0.0) {
            return bad("pad_s", "must be 0 or more");
        }
        if !(0.0..=1.0).contains(&self.taper_fraction) {
            return bad("taper_fraction", "must be between 0 and 1");
        }
        if self.taper && self.pad_s < self.taper_fraction * (self.window_s + 2.0 * self.pad_s) {
            return bad(
                "pad_s",
                "must cover the taper: at least taper_fraction x (window_s + 2 pad_s), or the kept samples are tapered",
            );
        }
        if let Some(f) = self.pre_filt {
            if !(f.iter().all(|v| v.is_finite() && *v >= 0.0) && f.windows(2).all(|w| w[0] < w[1]))
            {
                return bad("pre_filt", "must be four increasing frequencies in Hz");
            }
        }
        Ok(())
    }

    fn memory(&self, input: &Flow) -> Need {
        // Per channel: a window and both pads as f64, the FFT buffers (twice that, complex).
        let samples = ((self.window_s + 2.0 * self.pad_s) * input.rate_hz) as u64;
        let per_channel = samples * 8 * 6;
        Need::new(
            per_channel * input.channels * input.streams,
            format!(
                "{samples} samples per channel (window and pads) and their FFT buffers, {} channels",
                input.channels * input.streams
            ),
            *input,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let epochs = Epochs::for_stage(ctx, "remove_response")?;
        Work::operator(Ok(Box::new(RemoveResponse::new(self, epochs))))
    }
}

/// One stream's samples since its segment began, less what is no longer needed.
struct Segment {
    t0: Nanos,
    rate: SampleRate,
    channels: Vec<ChannelMeta>,
    /// Per channel, samples from segment index `base` on.
    buf: Vec<Vec<f64>>,
    base: usize,
    /// Segment index of the next sample to emit.
    next: usize,
}

impl Segment {
    fn end(&self) -> usize {
        self.base + self.buf.first().map_or(0, Vec::len)
    }

    fn expected(&self) -> Nanos {
        sample_time(self.t0, self.end() as i64, self.rate.hz())
    }
}

/// Channel, (epoch start, metadata generation), rate bits and window length.
type PlanKey = (String, (Nanos, u64), u64, usize);

pub struct RemoveResponse {
    opts: RemoveOptions,
    units: &'static str,
    window_s: f64,
    pad_s: f64,
    epochs: Epochs,
    streams: HashMap<String, Segment>,
    /// Prepared per channel, epoch start, rate and window length (a steady stream uses one).
    plans: HashMap<PlanKey, Option<Deconvolver>>,
}

impl RemoveResponse {
    pub fn new(cfg: &RemoveResponseConfig, epochs: Epochs) -> Self {
        RemoveResponse {
            opts: cfg.options(),
            units: cfg.units(),
            window_s: cfg.window_s,
            pad_s: cfg.pad_s,
            epochs,
            streams: HashMap::new(),
            plans: HashMap::new(),
        }
    }

    fn samples(&self, rate: SampleRate, s: f64) -> usize {
        (s * rate.hz()).round() as usize
    }

    /// Deconvolves `[from, to)` of the segment and emits its `[seg.next, keep_to)`.
    fn emit(&mut self, stream: &str, seg: &mut Segment, keep_to: usize, out: &mut Output) {
        let pad = self.samples(seg.rate, self.pad_s);
        let from = seg.next.saturating_sub(pad).max(seg.base);
        let to = (keep_to + pad).min(seg.end());
        let (a, b) = (from - seg.base, to - seg.base);
        let npts = to - from;
        let t_from = sample_time(seg.t0, from as i64, seg.rate.hz());
        let keep = seg.next - from..keep_to - from;
        let mut data = Array2::<f32>::zeros((seg.channels.len(), keep.len()));
        let mut converted = 0;
        let mut y = Vec::new();
        for (c, meta) in seg.channels.iter().enumerate() {
            match self.plan(&meta.source_id, t_from, seg.rate, npts) {
                Some(d) => {
                    d.apply(&seg.buf[c][a..b], &mut y);
                    for (o, v) in data.row_mut(c).iter_mut().zip(&y[keep.clone()]) {
                        *o = *v as f32;
                    }
                    converted += 1;
                }
                None => {
                    let src = &seg.buf[c][a + keep.start..a + keep.end];
                    let alone = seg.channels.len() == 1;
                    for (o, v) in data.row_mut(c).iter_mut().zip(src) {
                        *o = if alone { *v as f32 } else { f32::NAN };
                    }
                }
            }
        }
        out.chunks.push(Chunk {
            stream: stream.to_string(),
            start: sample_time(seg.t0, seg.next as i64, seg.rate.hz()),
            rate: seg.rate,
            channels: seg.channels.clone(),
            data,
            das: None,
            units: (converted > 0).then(|| self.units.to_string()),
        });
        seg.next = keep_to;
        // Keep what the next window's left pad needs.
        let drop = seg.next.saturating_sub(pad).saturating_sub(seg.base);
        for b in &mut seg.buf {
            b.drain(..drop);
        }
        seg.base += drop;
    }

    /// The deconvolver for a channel's window starting at `t`, prepared once.
    fn plan(
        &mut self,
        id: &SourceId,
        t: Nanos,
        rate: SampleRate,
        npts: usize,
    ) -> Option<&mut Deconvolver> {
        let cat = self.epochs.current();
        let epoch = self.epochs.at(&cat, id, t)?;
        let key = (
            id.as_str().to_string(),
            (epoch.start, self.epochs.generation()),
            rate.hz().to_bits(),
            npts,
        );
        if !self.plans.contains_key(&key) {
            let made = self
                .epochs
                .evaluator(id, epoch, "left in counts")
                .map(|ev| Deconvolver::new(&ev, rate.hz(), npts, self.opts));
            self.plans.insert(key.clone(), made);
        }
        self.plans.get_mut(&key).and_then(Option::as_mut)
    }

    /// Emits every whole window the segment now has.
    fn drain(&mut self, stream: &str, seg: &mut Segment, out: &mut Output) {
        let w = self.samples(seg.rate, self.window_s).max(1);
        let pad = self.samples(seg.rate, self.pad_s);
        while seg.next + w + pad <= seg.end() {
            let to = seg.next + w;
            self.emit(stream, seg, to, out);
        }
    }

    /// The segment's end: what it holds, deconvolved with what there is.
    fn close(&mut self, stream: &str, mut seg: Segment, out: &mut Output) {
        self.drain(stream, &mut seg, out);
        let end = seg.end();
        if seg.next < end {
            self.emit(stream, &mut seg, end, out);
        }
    }
}

impl Operator for RemoveResponse {
    fn process(&mut self, chunk: Chunk, out: &mut Output) {
        let rate = chunk.rate;
        let Some(period) = rate.period_ns() else {
            // No rate (a log channel's block): nothing to deconvolve, said and counted.
            out.events.push(Event::Unusable {
                stream: chunk.stream.clone(),
                dropped: chunk.n_samples() as u64 * chunk.n_channels() as u64,
                reason: "no_sample_rate",
            });
            return;
        };
        let half = period / 2.0;
        let continues = self.streams.get(&chunk.stream).is_some_and(|s| {
            s.rate == rate
                && s.channels == chunk.channels
                && ((chunk.start - s.expected()).abs() as f64) < half
        });
        if !continues {
            if let Some(old) = self.streams.remove(&chunk.stream) {
                self.close(&chunk.stream, old, out);
            }
            self.streams.insert(
                chunk.stream.clone(),
                Segment {
                    t0: chunk.start,
                    rate,
                    channels: chunk.channels.clone(),
                    buf: vec![Vec::new(); chunk.n_channels()],
                    base: 0,
                    next: 0,
                },
            );
        }
        let mut seg = self.streams.remove(&chunk.stream).expect("inserted above");
        for (b, row) in seg.buf.iter_mut().zip(chunk.data.rows()) {
            b.extend(row.iter().map(|&v| v as f64));
        }
        self.drain(&chunk.stream, &mut seg, out);
        self.streams.insert(chunk.stream, seg);
    }

    fn flush(&mut self, out: &mut Output) {
        let mut streams: Vec<(String, Segment)> = self.streams.drain().collect();
        streams.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, seg) in streams {
            self.close(&name, seg, out);
        }
    }
}
