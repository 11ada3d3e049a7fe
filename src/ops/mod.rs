//! Operators: pure synchronous transforms of [`Chunk`]s, with no I/O.
//!
//! Every operator is an [`Operator`]: it takes chunks of any stream, in arrival order, and emits
//! chunks and [`Event`]s; [`Operator::flush`] emits what it holds back at the end of input.
//! Pipeline stages wrap operators; benchmarks and tests drive them directly.
//!
//! Most operators are a per-stream [`stream::Kernel`] (the arithmetic, over contiguous blocks)
//! inside [`stream::Streaming`] (the bookkeeping shared by all of them: one state per stream,
//! continuity checks, the gap policy, output timestamps).

pub mod assemble;
pub mod calculus;
pub mod config;
pub mod decimate;
pub mod decode;
pub mod detrend;
pub mod epochs;
pub mod filter;
pub mod health;
pub mod ppsd;
pub mod quality;
pub mod response;
pub mod rows;
pub mod rsam;
pub mod rsam_stage;
pub mod sensitivity;
pub mod stream;
pub mod taper;
pub mod window;
pub mod xcorr;

use crate::model::{Chunk, Nanos};

pub use stream::{GapPolicy, Streaming};

/// Something an operator noticed about its input, reported alongside its output.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Samples missing between `start` (the expected time) and `end` (where data resumed).
    /// `filled` when the gap was bridged by interpolation, otherwise left as a gap
    /// (a filter starts again after it).
    Gap {
        stream: String,
        start: Nanos,
        end: Nanos,
        samples: u64,
        filled: bool,
    },
    /// Samples that repeated already-processed time were dropped.
    Overlap {
        stream: String,
        start: Nanos,
        end: Nanos,
        dropped: u64,
    },
    /// Samples that arrived after their block had been sent on were dropped.
    Late { stream: String, dropped: u64 },
    /// The stream's rate or channel set changed: the state was flushed and started again.
    Restart { stream: String, reason: String },
    /// Samples the operator cannot work on (a block with no sample rate, such as a log
    /// channel's), dropped and counted under `reason`.
    Unusable {
        stream: String,
        dropped: u64,
        reason: &'static str,
    },
}

/// One line for people: times as ISO 8601 UTC, durations in seconds.
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::model::Iso;
        let secs = |a: Nanos, b: Nanos| (b - a) as f64 / 1e9;
        match self {
            Event::Gap {
                stream,
                start,
                end,
                samples,
                filled,
            } => write!(
                f,
                "{stream}: gap of {} s ({samples} samples) from {} to {}, {}",
                secs(*start, *end),
                Iso(*start),
                Iso(*end),
                if *filled {
                    "interpolated"
                } else {
                    "not filled"
                }
            ),
            Event::Overlap {
                stream,
                start,
                end,
                dropped,
            } => write!(
                f,
                "{stream}: overlap of {} s from {} to {}, {dropped} repeated samples dropped",
                secs(*start, *end),
                Iso(*start),
                Iso(*end)
            ),
            Event::Late { stream, dropped } => {
                write!(
                    f,
                    "{stream}: {dropped} samples arrived after their block was sent, dropped"
                )
            }
            Event::Restart { stream, reason } => write!(f, "{stream}: restarted: {reason}"),
            Event::Unusable {
                stream,
                dropped,
                reason,
            } => write!(f, "{stream}: {dropped} samples dropped ({reason})"),
        }
    }
}

/// What a call to an operator produced.
#[derive(Debug, Default, Clone)]
pub struct Output {
    pub chunks: Vec<Chunk>,
    pub events: Vec<Event>,
}

impl Output {
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.events.clear();
    }
}

/// A stream transform.
pub trait Operator: Send {
    /// Takes one chunk; appends whatever is ready to `out`.
    fn process(&mut self, chunk: Chunk, out: &mut Output);
    /// End of input: appends everything still held back, for every stream.
    fn flush(&mut self, out: &mut Output);
}

/// Errors in an operator's parameters, found when it is built (before any data flows).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl ConfigError {
    pub fn invalid(key: &'static str, message: impl std::fmt::Display) -> Self {
        ConfigError::Invalid {
            key,
            message: message.to_string(),
        }
    }
}
