//! What a running stage uses to pass data on, and how it fails.

use std::sync::atomic::{AtomicBool, Ordering};

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
}

impl Emitter<'_> {
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

    /// Counts and logs what an operator noticed (gaps, overlaps, restarts).
    pub fn events(&self, events: &[Event]) {
        for e in events {
            let kind = match e {
                Event::Gap { .. } => "gap",
                Event::Overlap { dropped, .. } => {
                    self.metrics.dropped("overlap", *dropped);
                    "overlap"
                }
                Event::Late { dropped, .. } => {
                    self.metrics.dropped("late", *dropped);
                    "late"
                }
                Event::Restart { .. } => "restart",
            };
            self.metrics.event(kind);
            tracing::info!(event = ?e, "stream event");
        }
    }

    /// Everything emitted so far is durable downstream.
    pub fn flush(&mut self) -> Result<(), StageError> {
        if let Some(p) = self.publisher.as_mut() {
            p.flush()?;
        }
        Ok(())
    }
}
