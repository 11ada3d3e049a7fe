//! The `ppsd` stage: sample blocks in, a `ppsd` table row per channel per segment out.
//!
//! Segments are cut as blocks arrive and their spectra computed on all cores as they are cut;
//! each segment's row is emitted as soon as its spectrum and those of the segments cut before
//! it are done. A replay that cuts faster than the cores compute waits once `BATCH` segments
//! are in flight. Responses are given per channel glob as poles and zeros (ObsPy's PAZ
//! dictionary); channels without one get their PSD in counts, and no noise-model shares.

use std::sync::Arc;

use num_complex::Complex;
use serde::Deserialize;

use super::plan::{Paz, Shape};
use super::{table, Ppsd, Response, Row};
use crate::bus::{DataKind, Message, Payload};
use crate::ops::ConfigError;
use crate::pipeline::component::{
    key_error, BuildContext, Component, KeyError, Role, StageType, Transform, Work,
};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};

/// Segments in flight (cut, spectrum not emitted) before the input waits for them.
const BATCH: usize = 64;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpsdConfig {
    /// Segment length, s (ObsPy's `ppsd_length`).
    #[serde(default = "hour")]
    pub ppsd_length_s: f64,
    /// Share of a segment the next one overlaps (ObsPy's `overlap`).
    #[serde(default = "half")]
    pub overlap: f64,
    /// Width of the smoothing bins, octaves.
    #[serde(default = "one")]
    pub period_smoothing_width_octaves: f64,
    /// Step between bin centres, octaves.
    #[serde(default = "eighth")]
    pub period_step_octaves: f64,
    /// Shortest and longest bin centre, s (default: the spectrum's own).
    #[serde(default)]
    pub period_limits: Option<[f64; 2]>,
    /// Leave out segments with gaps (ObsPy's `skip_on_gaps`); by default gaps are zeros.
    #[serde(default)]
    pub skip_on_gaps: bool,
    /// Instrument responses, the first whose `channels` glob matches.
    #[serde(default)]
    pub response: Vec<ResponseConfig>,
}

/// A response as poles and zeros of ground velocity to counts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseConfig {
    /// SEED ids it applies to (`FR.*..HH?`).
    pub channels: String,
    /// `[re, im]` in rad/s.
    pub poles: Vec<[f64; 2]>,
    pub zeros: Vec<[f64; 2]>,
    /// A0, the normalisation of the poles and zeros (ObsPy's PAZ `gain`).
    pub normalization: f64,
    /// Counts per m/s (the overall sensitivity).
    pub sensitivity: f64,
    /// Multiply by ω² to get acceleration (true: seismometers; false: pressure sensors).
    #[serde(default = "yes")]
    pub acceleration: bool,
}

fn hour() -> f64 {
    3600.0
}
fn half() -> f64 {
    0.5
}
fn one() -> f64 {
    1.0
}
fn eighth() -> f64 {
    0.125
}
fn yes() -> bool {
    true
}

impl StageType for PpsdConfig {
    const NAME: &'static str = "ppsd";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "PPSD as ObsPy: each segment's smoothed PSD per channel, shares above NHNM / below NLNM";
    const EMITS: Option<DataKind> = Some(DataKind::Table);
}

impl PpsdConfig {
    fn ppsd(&self) -> Result<Ppsd, ConfigError> {
        let c = |v: &[f64; 2]| Complex::new(v[0], v[1]);
        let mut responses = Vec::new();
        for r in &self.response {
            let usable = |v: f64| v.is_finite() && v != 0.0;
            if !(usable(r.sensitivity) && usable(r.normalization)) {
                return Err(ConfigError::invalid(
                    "response",
                    format!(
                        "{}: sensitivity and normalization must be finite and not zero",
                        r.channels
                    ),
                ));
            }
            responses.push(Response {
                channels: r.channels.clone(),
                paz: Paz {
                    poles: r.poles.iter().map(c).collect(),
                    zeros: r.zeros.iter().map(c).collect(),
                    normalization: r.normalization,
                    sensitivity: r.sensitivity,
                },
                acceleration: r.acceleration,
            });
        }
        let shape = Shape {
            ppsd_length_s: self.ppsd_length_s,
            overlap: self.overlap,
            smoothing_width_octaves: self.period_smoothing_width_octaves,
            step_octaves: self.period_step_octaves,
            period_limits: self.period_limits,
        };
        Ppsd::new(shape, self.skip_on_gaps, responses)
            .map_err(|e| ConfigError::invalid("ppsd_length_s", e))
    }
}

impl Component for PpsdConfig {
    fn check(&self, _stage: &str) -> Result<(), KeyError> {
        self.ppsd().map(drop).map_err(key_error)
    }

    fn memory(&self, input: &Flow) -> Need {
        // A segment and a step of samples per channel (4 bytes and a flag each), the
        // segments of a batch waiting for their spectra, and two spare segment buffers per
        // core kept for the next ones.
        let per_channel = ((2.0 - self.overlap) * self.ppsd_length_s * input.rate_hz) as u64 * 5;
        let n = input.all_channels();
        let segments = BATCH as u64 + 2 * rayon::current_num_threads() as u64;
        let batch = segments * (self.ppsd_length_s * input.rate_hz) as u64 * 4;
        let out = Flow {
            message_bytes: 2048,
            streams: n,
            channels: 1,
            rate_hz: 1.0 / (self.ppsd_length_s * (1.0 - self.overlap)),
        };
        Need::new(
            n * per_channel + batch,
            format!(
                "{n} ch x {} s of samples",
                self.ppsd_length_s * (2.0 - self.overlap)
            ),
            out,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let mut ppsd = self.ppsd().map_err(|e| StageError::Other(e.to_string()))?;
        // Channels no `response` names take theirs from the pipeline's metadata, if any.
        if let Some(cat) = ctx.pipeline.catalogue().map_err(StageError::Other)? {
            ppsd = ppsd.with_metadata(crate::ops::epochs::Epochs::new(
                cat,
                Some(ctx.metrics.clone()),
            ));
        }
        Ok(Work::Transform(Box::new(PpsdStage { ppsd })))
    }
}

struct PpsdStage {
    ppsd: Ppsd,
}

impl PpsdStage {
    /// Sends the rows of the segments done (`wait`: of every segment cut), one table per
    /// channel.
    fn send(&mut self, em: &mut Emitter<'_>, wait: bool) -> Result<(), StageError> {
        self.count(em);
        let mut rows: Vec<Row> = if wait {
            self.ppsd.rows()
        } else {
            self.ppsd.finished_rows()
        };
        if rows.is_empty() {
            return Ok(());
        }
        rows.sort_by(|a, b| a.channel.cmp(&b.channel));
        for group in rows.chunk_by(|a, b| a.channel == b.channel) {
            let stream = &group[0].channel;
            let t = table::table(stream, group).map_err(|e| StageError::Other(e.to_string()))?;
            em.metrics.events("ppsd segment", group.len() as u64);
            em.emit(stream, Payload::Table(Arc::new(t)))?;
        }
        Ok(())
    }

    fn count(&mut self, em: &mut Emitter<'_>) {
        let n = self.ppsd.take_notes();
        if n.incomplete_segments > 0 {
            em.metrics
                .events("ppsd segment not whole", n.incomplete_segments);
            em.repeats
                .note(("segments not whole", false), "ppsd", 0, None, || {
                    format!(
                        "{} segment{} with data starting or ending inside (or gaps, with skip_on_gaps): no PSD",
                        n.incomplete_segments,
                        crate::pipeline::summary::plural(n.incomplete_segments)
                    )
                });
        }
        if n.overlap_samples > 0 {
            em.metrics.dropped("overlap", n.overlap_samples);
        }
    }
}

impl Transform for PpsdStage {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Payload::Block(chunk) = &m.payload else {
            em.wrong_kind(&m.key, &m.payload);
            return Ok(());
        };
        if let Err(e) = self.ppsd.process(chunk) {
            em.metrics.dropped("rate_too_low", chunk.n_samples() as u64);
            em.repeats
                .note(("blocks without a spectrum", true), &m.key, 0, None, || e);
        }
        self.send(em, self.ppsd.pending() >= BATCH)
    }

    fn idle(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        // Nothing else to do: live data's segments are out as soon as they are computed.
        self.send(em, true)
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        self.send(em, true)
    }
}
