//! The `quality` stage: miniSEED records in, one table row per stream per window out.
//!
//! It reads records, not sample blocks, because half of what it reports lives in the record
//! headers (flags, timing quality, where each record starts and ends) and is gone once the
//! samples are decoded into blocks. Rows are gathered and sent as one table per stream when
//! the input goes idle (at once for live data, in batches for a replay) and each second (the
//! runtime's tick: silent streams' windows close on the clock), and the per-stream gauges
//! (availability, gaps, latency, delay) are kept current for `/metrics`.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::table;
use super::window::{Notes, Quality, Row, MAX_EMPTY_WINDOWS};
use crate::bus::{DataKind, Message, Payload};
use crate::formats::mseed::RecordReader;
use crate::model::{now, Nanos};
use crate::ops::ConfigError;
use crate::pipeline::component::{
    key_error, BuildContext, Component, KeyError, Role, StageType, Transform, Work,
};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};
use crate::telemetry::metrics::QualityMetrics;

const DAY_S: u64 = 86_400;
/// Rows held before they are sent even while input keeps coming (a long replay).
const ROWS_PER_SEND: usize = 4096;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityConfig {
    /// Window length, seconds: from 60 (a minute) to 86400 (a UTC day, as MUSTANG), dividing
    /// a day so that windows fall on the same times every day.
    #[serde(default = "default_window")]
    pub window_s: u64,
    /// Wall-clock seconds a stream may stay silent after its window's end before the window
    /// is closed without the record that would close it (twice the stream's record span if
    /// that is longer).
    #[serde(default = "default_grace")]
    pub grace_s: u64,
    /// Count spikes (MUSTANG's `num_spikes`, a rolling 41-sample median per sample: most of
    /// the stage's work); false leaves the column null.
    #[serde(default = "yes")]
    pub spikes: bool,
}

fn yes() -> bool {
    true
}

fn default_window() -> u64 {
    DAY_S
}

fn default_grace() -> u64 {
    300
}

impl StageType for QualityConfig {
    const NAME: &'static str = "quality";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "station quality per stream per window: availability, gaps, sample statistics, header flags, latency";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Records];
    const EMITS: Option<DataKind> = Some(DataKind::Table);
}

impl QualityConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(60..=DAY_S).contains(&self.window_s) || DAY_S % self.window_s != 0 {
            return Err(ConfigError::invalid(
                "window_s",
                format!(
                    "{} s: a window is 60 s to 86400 s and divides a day (60, 600, 3600, 86400, ...)",
                    self.window_s
                ),
            ));
        }
        if self.grace_s > DAY_S {
            return Err(ConfigError::invalid(
                "grace_s",
                format!("{} s: at most a day", self.grace_s),
            ));
        }
        Ok(())
    }
}

impl Component for QualityConfig {
    fn check(&self, _stage: &str) -> Result<(), KeyError> {
        self.validate().map_err(key_error)
    }

    fn memory(&self, input: &Flow) -> Need {
        // A value table per stream: a count per distinct value of the window (a few thousand
        // for a quiet channel; bounded by the window's samples), kept for the next window.
        let samples = (self.window_s as f64 * input.rate_hz.max(1.0)) as u64;
        let distinct = samples.min(1 << 16);
        let per_stream = 2 * distinct * 2 * 16;
        let out = Flow {
            message_bytes: ROWS_PER_SEND as u64 * 512,
            streams: input.streams,
            channels: 1,
            rate_hz: 1.0 / self.window_s as f64,
        };
        Need::new(
            input.streams * per_stream + out.message_bytes,
            format!(
                "{} streams x value counts of a {} s window",
                input.streams, self.window_s
            ),
            out,
        )
    }

    fn build(&self, _ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        self.validate()
            .map_err(|e| StageError::Other(e.to_string()))?;
        let s = 1_000_000_000;
        Ok(Work::Transform(Box::new(QualityStage {
            quality: Quality::new(self.window_s as Nanos * s, self.grace_s as Nanos * s)
                .with_spikes(self.spikes),
            rows: Vec::new(),
            notes: Notes::default(),
            gauges: HashMap::new(),
        })))
    }
}

struct QualityStage {
    quality: Quality,
    rows: Vec<Row>,
    notes: Notes,
    gauges: HashMap<String, QualityMetrics>,
}

impl QualityStage {
    /// Sends the rows held, one table per stream in the order the streams' rows came.
    fn send(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        self.count(em);
        let mut rows = std::mem::take(&mut self.rows);
        if rows.is_empty() {
            return Ok(());
        }
        // Stable: each stream's rows stay in window order.
        rows.sort_by(|a, b| a.stream.cmp(&b.stream));
        for group in rows.chunk_by(|a, b| a.stream == b.stream) {
            let stream = &group[0].stream;
            let last = &group[group.len() - 1];
            let g = self.gauge(em, stream);
            g.availability.set(last.coverage.percent_availability);
            g.gaps.set(last.coverage.num_gaps as f64);
            let t = table::table(stream, group).map_err(|e| StageError::Other(e.to_string()))?;
            em.metrics.events("quality row", group.len() as u64);
            em.emit(stream, Payload::Table(Arc::new(t)))?;
        }
        Ok(())
    }

    fn gauge(&mut self, em: &Emitter<'_>, stream: &str) -> &QualityMetrics {
        self.gauges
            .entry(stream.to_string())
            .or_insert_with(|| em.metrics.quality(stream))
    }

    /// Live gauges: latency and delay of every stream, now.
    fn gauges_now(&mut self, em: &Emitter<'_>, t: Nanos) {
        let latest: Vec<(String, Nanos, Nanos)> = self
            .quality
            .latest()
            .map(|(k, a, e)| (k.to_string(), a, e))
            .collect();
        for (stream, arrival, end) in latest {
            let g = self.gauge(em, &stream);
            g.latency.set((t - arrival) as f64 / 1e9);
            g.delay.set((t - end) as f64 / 1e9);
        }
    }

    /// Counters for what the windows left out, since the last call.
    fn count(&mut self, em: &mut Emitter<'_>) {
        let n = std::mem::take(&mut self.notes);
        if n.late_records > 0 {
            em.metrics.dropped("late_record", n.late_records);
            em.repeats.note(("records for closed windows", true), "quality", n.late_samples, None, || {
                format!(
                    "{} records ({} samples) came after their window's row was sent: left out of it",
                    n.late_records, n.late_samples
                )
            });
        }
        if n.text_records > 0 {
            em.metrics.dropped("text_record", n.text_records);
        }
        if n.empty_windows_skipped > 0 {
            em.metrics
                .events("empty window not reported", n.empty_windows_skipped);
            em.repeats.note(("long silences", true), "quality", 0, None, || {
                format!(
                    "a silence longer than {MAX_EMPTY_WINDOWS} windows: {} empty windows not reported as rows",
                    n.empty_windows_skipped
                )
            });
        }
    }
}

impl Transform for QualityStage {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Payload::Record(bytes) = &m.payload else {
            em.wrong_kind(&m.key, &m.payload);
            return Ok(());
        };
        let result = match RecordReader::new(bytes).next() {
            None => Err("no record".to_string()),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(rec)) => {
                self.quality
                    .record(&m.key, &rec, now(), &mut self.rows, &mut self.notes)
            }
        };
        if let Err(e) = result {
            em.metrics.dropped("corrupt_record", 1);
            let origin = m.origin();
            em.repeats
                .note(("undecodable records", true), &m.key, 0, None, || {
                    format!("{}: record not used for quality{origin}: {e}", m.key)
                });
        }
        if self.rows.len() >= ROWS_PER_SEND {
            self.send(em)?;
        }
        Ok(())
    }

    fn idle(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        self.tick(em).map(|_| ())
    }

    /// Silent streams: their windows close on the clock, their latency and delay grow.
    fn tick(&mut self, em: &mut Emitter<'_>) -> Result<bool, StageError> {
        let t = now();
        self.quality.expire(t, &mut self.rows, &mut self.notes);
        self.gauges_now(em, t);
        let any = !self.rows.is_empty();
        self.send(em)?;
        Ok(any)
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let t = now();
        self.gauges_now(em, t);
        self.quality.flush(t, &mut self.rows, &mut self.notes);
        self.send(em)
    }
}
