//! What a running stage uses to pass data on, and how it fails.

use std::sync::atomic::{AtomicBool, Ordering};

use super::repeats::Repeats;
use crate::bus::{BusError, Payload, Publisher};
use crate::model::Chunk;
use crate::ops::Event;
use crate::telemetry::metrics::StageMetrics;

/// A failure that stops a stage (and, through the runtime, the process, non-zero).
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl StageError {
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        StageError::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// A stage's output: the publisher (if anything reads it), its counters and the stop flag.
pub struct Emitter<'a> {
    pub publisher: Option<Box<dyn Publisher>>,
    pub metrics: &'a StageMetrics,
    pub shutdown: &'a AtomicBool,
    /// Repeated events and damage, logged as tallies.
    pub repeats: Repeats,
}

impl<'a> Emitter<'a> {
    pub fn new(
        stage: &str,
        publisher: Option<Box<dyn Publisher>>,
        metrics: &'a StageMetrics,
        shutdown: &'a AtomicBool,
    ) -> Emitter<'a> {
        Emitter {
            publisher,
            metrics,
            shutdown,
            repeats: Repeats::new(stage),
        }
    }

    /// Whether SIGINT/SIGTERM asked the pipeline to stop (sources stop reading).
    pub fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    pub fn emit(&mut self, key: &str, payload: Payload) -> Result<(), StageError> {
        let m = self.metrics;
        m.records_out.inc();
        m.bytes_out.inc_by(payload.byte_len() as u64);
        if let Payload::Block(c) = &payload {
            m.samples_out.inc_by(c.data.len() as u64);
            m.data_time(c.end_exclusive());
        }
        if let Some(p) = self.publisher.as_mut() {
            p.send(key, &payload)?;
        }
        Ok(())
    }

    pub fn emit_chunk(&mut self, chunk: Chunk) -> Result<(), StageError> {
        let key = chunk.stream.clone();
        self.emit(&key, Payload::Block(chunk.into()))
    }

    /// A message of a kind the stage does not take (the graph check makes this rare: a Kafka
    /// topic written by another pipeline version): counted and logged, not fatal.
    pub fn wrong_kind(&mut self, key: &str, payload: &Payload) {
        self.metrics.dropped("wrong_kind", 1);
        let what = payload.kind().describe();
        self.repeats
            .note(("unexpected messages", true), key, 0, None, || {
                format!("{key}: unexpected {what} dropped")
            });
    }

    /// Counts and logs what an operator noticed (gaps, overlaps, restarts): each at `debug`,
    /// tallies per kind at `info`.
    pub fn events(&mut self, events: &[Event]) {
        for e in events {
            let (kind, tally, stream, lost, span) = match e {
                Event::Gap {
                    stream,
                    start,
                    end,
                    samples,
                    ..
                } => ("gap", "gaps", stream, *samples, Some((*start, *end))),
                Event::Overlap {
                    stream,
                    start,
                    end,
                    dropped,
                } => {
                    self.metrics.dropped("overlap", *dropped);
                    (
                        "overlap",
                        "overlaps",
                        stream,
                        *dropped,
                        Some((*start, *end)),
                    )
                }
                Event::Late { stream, dropped } => {
                    self.metrics.dropped("late", *dropped);
                    ("late", "late blocks", stream, *dropped, None)
                }
                Event::Restart { stream, .. } => ("restart", "restarts", stream, 0, None),
                Event::Unusable {
                    stream,
                    dropped,
                    reason,
                } => {
                    self.metrics.dropped(reason, *dropped);
                    ("unusable", "unusable blocks", stream, *dropped, None)
                }
            };
            self.metrics.event(kind);
            tracing::debug!("{e}");
            self.repeats
                .note((tally, false), stream, lost, span, || e.to_string());
        }
    }

    /// The stage is ending: the last tallies.
    pub fn close(&mut self) {
        self.repeats.log(true);
    }

    /// Everything emitted so far is durable downstream.
    pub fn flush(&mut self) -> Result<(), StageError> {
        if let Some(p) = self.publisher.as_mut() {
            p.flush()?;
        }
        Ok(())
    }
}
