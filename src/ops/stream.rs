//! Per-stream bookkeeping shared by the streaming operators.
//!
//! A [`Kernel`] does the arithmetic over contiguous blocks of one stream and carries its own
//! state; [`Streaming`] keeps one kernel per stream and decides what is contiguous. A chunk that
//! starts within half a sample of where the previous one ended continues the stream (libmseed's
//! rule). A later start is a gap: depending on the [`GapPolicy`] it is bridged by linear
//! interpolation, or the kernel is finished (its held-back output flushed) and a new one started.
//! An earlier start overlaps: the repeated samples are dropped. Either way an [`Event`] says so.
//!
//! Output sample `j` of a segment stands for input sample `j * ratio` of that segment, and its
//! time is computed from the segment start and that index, never accumulated.

use super::{Event, Operator, Output};
use crate::model::{sample_time, ChannelMeta, Chunk, Nanos, SampleRate};
use ndarray::{s, Array2, ArrayView2, Axis};
use std::collections::HashMap;

/// The arithmetic of one operator over one stream's contiguous samples.
pub trait Kernel: Send {
    /// Input samples per output sample (1 for filters, the factor for decimation).
    fn ratio(&self) -> usize {
        1
    }
    /// Takes the next contiguous block (channels × time); returns the outputs now ready.
    fn push(&mut self, input: ArrayView2<f32>) -> Array2<f32>;
    /// End of the segment: returns everything still held back.
    fn finish(&mut self) -> Array2<f32>;
}

/// Makes a kernel for a stream when its first chunk (or a new segment) arrives.
pub trait KernelFactory: Send {
    type Kernel: Kernel;
    /// `Err` when the operator cannot run on this stream (a corner above its Nyquist, say); the
    /// stream's data are then dropped and reported, the other streams carry on.
    fn start(&self, n_channels: usize, rate: SampleRate) -> Result<Self::Kernel, String>;

    /// Zero samples to put before a segment starting at `start`, so that its outputs fall on
    /// a chosen grid (see [`epoch_lead_in`]). None by default.
    fn lead_in(&self, _start: Nanos, _rate: SampleRate) -> usize {
        0
    }

    /// The units of the output given the input's: the same by default (filters, decimation).
    fn units(&self, input: Option<&str>) -> Option<String> {
        input.map(str::to_string)
    }
}

/// The number of input samples by which to start a segment early so that every `ratio`-th
/// sample falls on a whole multiple of the output period since the epoch: then outputs of
/// different streams, and of the same stream after a restart, share one time grid (what a
/// common (channel, time) array needs). Only for rates with a whole-nanosecond period and
/// starts on that period's grid; otherwise 0 (the grid is the first sample's).
pub fn epoch_lead_in(start: Nanos, rate: SampleRate, ratio: usize) -> usize {
    let period = 1e9 / rate.hz();
    if !(period.is_finite() && period >= 1.0 && period.fract() == 0.0 && period < 9e18) {
        return 0;
    }
    let period = period as i64;
    if start.rem_euclid(period) != 0 {
        return 0;
    }
    (start / period).rem_euclid(ratio as i64) as usize
}

/// What to do when a stream has missing samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapPolicy {
    /// Flush the filter at the gap and start it again after.
    Restart,
    /// Bridge gaps of up to this many samples by linear interpolation; restart on longer ones.
    Interpolate { max_samples: u64 },
}

struct Segment<K> {
    kernel: K,
    start: Nanos,
    rate: SampleRate,
    channels: Vec<ChannelMeta>,
    das: Option<std::sync::Arc<crate::model::DasMeta>>,
    units: Option<String>,
    /// Input samples taken (interpolated ones included) and outputs emitted, this segment.
    consumed: u64,
    emitted: u64,
    /// The last input sample of each channel, to interpolate across a gap from.
    last: Vec<f32>,
}

impl<K: Kernel> Segment<K> {
    fn expected(&self) -> Nanos {
        sample_time(self.start, self.consumed as i64, self.rate.hz())
    }

    fn feed(&mut self, stream: &str, data: ArrayView2<f32>, out: &mut Output) {
        if data.ncols() == 0 {
            return;
        }
        self.consumed += data.ncols() as u64;
        self.last = data.column(data.ncols() - 1).to_vec();
        let y = self.kernel.push(data);
        self.emit(stream, y, out);
    }

    fn finish(mut self, stream: &str, out: &mut Output) {
        let y = self.kernel.finish();
        self.emit(stream, y, out);
    }

    fn emit(&mut self, stream: &str, data: Array2<f32>, out: &mut Output) {
        if data.ncols() == 0 {
            return;
        }
        let ratio = self.kernel.ratio();
        let index = self.emitted as i64 * ratio as i64;
        self.emitted += data.ncols() as u64;
        out.chunks.push(Chunk {
            stream: stream.to_string(),
            start: sample_time(self.start, index, self.rate.hz()),
            rate: SampleRate(self.rate.hz() / ratio as f64),
            channels: self.channels.clone(),
            data,
            das: self.das.clone(),
            units: self.units.clone(),
        });
    }
}

/// A [`Kernel`] per stream, with continuity checks and the gap policy: an [`Operator`].
pub struct Streaming<F: KernelFactory> {
    factory: F,
    policy: GapPolicy,
    segments: HashMap<String, Segment<F::Kernel>>,
}

impl<F: KernelFactory> Streaming<F> {
    pub fn new(factory: F, policy: GapPolicy) -> Self {
        Streaming {
            factory,
            policy,
            segments: HashMap::new(),
        }
    }

    pub fn factory(&self) -> &F {
        &self.factory
    }

    fn begin(&mut self, chunk: Chunk, out: &mut Output) {
        match self.factory.start(chunk.n_channels(), chunk.rate) {
            Ok(kernel) => {
                // Lead-in samples are zeros, as the kernels assume before a segment anyway.
                let lead = self.factory.lead_in(chunk.start, chunk.rate);
                let mut seg = Segment {
                    kernel,
                    start: sample_time(chunk.start, -(lead as i64), chunk.rate.hz()),
                    rate: chunk.rate,
                    channels: chunk.channels,
                    das: chunk.das,
                    units: self.factory.units(chunk.units.as_deref()),
                    consumed: 0,
                    emitted: 0,
                    last: Vec::new(),
                };
                if lead > 0 {
                    let zeros = Array2::zeros((chunk.data.nrows(), lead));
                    seg.feed(&chunk.stream, zeros.view(), out);
                }
                seg.feed(&chunk.stream, chunk.data.view(), out);
                self.segments.insert(chunk.stream, seg);
            }
            Err(reason) => out.events.push(Event::Restart {
                stream: chunk.stream.clone(),
                reason: format!(
                    "cannot process this stream ({reason}); {} samples dropped",
                    chunk.data.len()
                ),
            }),
        }
    }
}

impl<F: KernelFactory> Operator for Streaming<F> {
    fn process(&mut self, chunk: Chunk, out: &mut Output) {
        if chunk.n_samples() == 0 {
            return;
        }
        let stream = chunk.stream.clone();
        let Some(mut seg) = self.segments.remove(&stream) else {
            return self.begin(chunk, out);
        };
        if chunk.rate != seg.rate || chunk.channels != seg.channels {
            let reason = if chunk.rate != seg.rate {
                format!(
                    "rate changed from {} to {} Hz",
                    seg.rate.hz(),
                    chunk.rate.hz()
                )
            } else {
                format!(
                    "channels changed from {} to {}",
                    seg.channels.len(),
                    chunk.channels.len()
                )
            };
            seg.finish(&stream, out);
            out.events.push(Event::Restart { stream, reason });
            return self.begin(chunk, out);
        }
        let period = 1e9 / seg.rate.hz();
        let expected = seg.expected();
        let offset = (chunk.start - expected) as f64;
        if offset.abs() <= period / 2.0 {
            seg.feed(&stream, chunk.data.view(), out);
        } else if offset > 0.0 {
            let missing = (offset / period).round() as u64;
            let fill = matches!(self.policy, GapPolicy::Interpolate { max_samples } if missing <= max_samples);
            out.events.push(Event::Gap {
                stream: stream.clone(),
                start: expected,
                end: chunk.start,
                samples: missing,
                filled: fill,
            });
            if fill {
                let bridge = interpolate(&seg.last, &chunk.data, missing as usize);
                seg.feed(&stream, bridge.view(), out);
                seg.feed(&stream, chunk.data.view(), out);
            } else {
                seg.finish(&stream, out);
                return self.begin(chunk, out);
            }
        } else {
            let repeated = ((-offset / period).round() as usize).min(chunk.n_samples());
            out.events.push(Event::Overlap {
                stream: stream.clone(),
                start: chunk.start,
                end: chunk.time_of(repeated as i64),
                dropped: repeated as u64,
            });
            seg.feed(&stream, chunk.data.slice(s![.., repeated..]), out);
        }
        self.segments.insert(stream, seg);
    }

    fn flush(&mut self, out: &mut Output) {
        let mut names: Vec<String> = self.segments.keys().cloned().collect();
        names.sort();
        for name in names {
            if let Some(seg) = self.segments.remove(&name) {
                seg.finish(&name, out);
            }
        }
    }
}

/// `n` samples per channel on the straight line from `last` to the first sample of `next`.
fn interpolate(last: &[f32], next: &Array2<f32>, n: usize) -> Array2<f32> {
    let c = next.nrows();
    let first = next.index_axis(Axis(1), 0);
    Array2::from_shape_fn((c, n), |(ch, k)| {
        let a = last.get(ch).copied().unwrap_or(first[ch]) as f64;
        let b = first[ch] as f64;
        (a + (b - a) * (k + 1) as f64 / (n + 1) as f64) as f32
    })
}
