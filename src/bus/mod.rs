//! The bus: how stages hand data to each other.
//!
//! Stage code sees only [`Publisher`] and [`Subscriber`]; which [`Bus`] made them is chosen in
//! the pipeline file. [`memory`] joins stages of one process with bounded channels (the
//! embedded default); [`kafka`] joins stages in any number of processes through topics, one per
//! producing stage, keyed by stream id.
//!
//! The calls are blocking on purpose: stages run on their own threads (the operators are CPU
//! work that must stay off the async reactor), and a full queue blocking the caller is exactly
//! the backpressure we want: a slow sink slows its source and memory stays flat.
//!
//! Delivery is at-least-once: a consumer stage first makes what it took durable downstream
//! ([`Publisher::flush`], or a sink's sync), then [`Subscriber::commit`]s the positions it
//! took. Sinks that must not duplicate keep the positions with their data (see
//! `sinks::archive`).

#[cfg(test)]
pub mod collect;
pub mod kafka;
pub mod memory;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::model::{Chunk, CorrBlock, SpectraBlock, Table};

/// What flows on an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// Raw miniSEED records, as the station wrote them.
    Records,
    /// Blocks of samples ([`Chunk`]s), channels × time.
    Samples,
    /// Correlation functions ([`CorrBlock`]s), pairs × lag, one block per stack period.
    Correlations,
    /// Window spectra of channels ([`SpectraBlock`]s), between the halves of a split `xcorr`.
    Spectra,
    /// Table rows ([`Table`]s): a row per stream per window (station quality).
    Table,
}

impl DataKind {
    pub fn describe(self) -> &'static str {
        match self {
            DataKind::Records => "miniSEED records",
            DataKind::Samples => "sample blocks",
            DataKind::Correlations => "correlation functions",
            DataKind::Spectra => "window spectra",
            DataKind::Table => "table rows",
        }
    }
}

/// One item on the bus.
#[derive(Debug, Clone)]
pub enum Payload {
    /// One miniSEED record (v2 or v3), bytes exactly as read.
    Record(Bytes),
    /// A block of samples.
    Block(Arc<Chunk>),
    /// Correlation functions of channel pairs for one period.
    Correlations(Arc<CorrBlock>),
    /// Window spectra of some channels.
    Spectra(Arc<SpectraBlock>),
    /// Rows of a table.
    Table(Arc<Table>),
}

impl Payload {
    pub fn kind(&self) -> DataKind {
        match self {
            Payload::Record(_) => DataKind::Records,
            Payload::Block(_) => DataKind::Samples,
            Payload::Correlations(_) => DataKind::Correlations,
            Payload::Spectra(_) => DataKind::Spectra,
            Payload::Table(_) => DataKind::Table,
        }
    }

    /// Bytes this payload stands for: the record length, or four per sample of a block.
    pub fn byte_len(&self) -> usize {
        match self {
            Payload::Record(b) => b.len(),
            Payload::Block(c) => c.data.len() * 4,
            Payload::Correlations(c) => c.data.len() * 4,
            Payload::Spectra(s) => s.spectra.iter().flatten().map(|v| v.len() * 8).sum(),
            Payload::Table(t) => t.batch.get_array_memory_size(),
        }
    }
}

/// Where a consumed message sits in the log it came from (Kafka topic, partition, offset).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

impl Position {
    /// `topic/partition`, the key sinks store their progress under.
    pub fn log(&self) -> String {
        format!("{}/{}", self.topic, self.partition)
    }
}

impl Message {
    /// ` (from TOPIC/PARTITION offset N)` for messages from Kafka, empty for the memory bus:
    /// appended to log lines about the message.
    pub fn origin(&self) -> String {
        self.position.as_ref().map_or(String::new(), |p| {
            format!(" (from {} offset {})", p.log(), p.offset)
        })
    }
}

/// A message taken from the bus.
#[derive(Debug, Clone)]
pub struct Message {
    /// The stream id (Kafka message key).
    pub key: Arc<str>,
    pub payload: Payload,
    /// Set when the bus can replay from here (Kafka).
    pub position: Option<Position>,
}

/// What [`Subscriber::recv`] found.
#[derive(Debug)]
pub enum Recv {
    Message(Message),
    /// Nothing within the timeout; the caller may do periodic work and ask again.
    Idle,
    /// Every upstream stage has finished (memory bus); nothing more will come.
    Closed,
    /// A message that could not be taken (undecodable payload, broker error), with its
    /// position when it has one (so that it is committed past, not retried for ever). The
    /// stream goes on; the caller counts and logs it.
    Bad(BusError, Option<Position>),
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("downstream stage `{0}` has stopped")]
    Disconnected(String),
    #[error("Kafka: {0}")]
    Kafka(String),
    #[error("{at}: {message}")]
    Payload { at: String, message: String },
}

/// The sending end of one stage's output.
pub trait Publisher: Send {
    /// Hands one message to the bus, blocking while it is full.
    fn send(&mut self, key: &str, payload: &Payload) -> Result<(), BusError>;
    /// Returns once everything sent so far is durable downstream (memory: enqueued; Kafka:
    /// acknowledged by the broker).
    fn flush(&mut self) -> Result<(), BusError>;
}

/// The receiving end of one stage's inputs.
pub trait Subscriber: Send {
    fn recv(&mut self, timeout: Duration) -> Recv;
    /// Marks everything up to and including these positions as done, so a restart resumes
    /// after them. Call only once what came of them is durable.
    fn commit(&mut self, done: &[Position]) -> Result<(), BusError>;
    /// Messages waiting for this stage (channel length, or Kafka consumer lag), for metrics.
    fn backlog(&self) -> Option<u64>;
    /// Whether another message can be taken at once. A stage may hold back a little of its
    /// output while more input is waiting (to emit fewer, larger messages), and emits it as
    /// soon as this says no; Kafka cannot tell cheaply and says no.
    fn more_waiting(&self) -> bool {
        false
    }
    /// Partitions this consumer owns (Kafka), for metrics and readiness.
    fn assigned(&self) -> Option<usize> {
        None
    }
    /// Whether partitions were taken away since the last call (a group rebalance). What was
    /// taken from them but not yet committed will be delivered again, possibly to another
    /// process, so the stage must drop what it has not made durable.
    fn take_revoked(&mut self) -> bool {
        false
    }
}

/// A way of joining stages.
pub trait Bus: Send + Sync {
    /// The output of `stage`; `None` when nothing consumes it.
    fn publisher(&self, stage: &str) -> Result<Option<Box<dyn Publisher>>, BusError>;
    /// The inputs of `stage` (its upstream stages, `inputs`).
    fn subscriber(&self, stage: &str, inputs: &[String]) -> Result<Box<dyn Subscriber>, BusError>;
}
