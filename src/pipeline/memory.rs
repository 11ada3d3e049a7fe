//! Memory bounds stated up front, as saluki (Datadog's Rust agent) does for its components.
//!
//! Near a sensor the machine is small, and a DAS pipeline killed for memory loses data. So
//! every stage says, from its config and what it learns at start (the first DAS file's shape,
//! the record lengths of the files it will replay), the memory it will hold at most and what
//! it passes on ([`Flow`]). The runtime adds the queues between stages and the process's own
//! footprint; `seisreduce check` prints the table and `run` refuses to start above the
//! configured limit, naming the stage that holds the most.

use std::fmt;

use super::config::{BusKind, StageDecl};
use super::graph::Pipeline;

/// What flows out of a stage, as far as memory goes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Flow {
    /// The largest message, bytes as held in memory.
    pub message_bytes: u64,
    /// Streams (keys) at most: operators keep state per stream.
    pub streams: u64,
    /// Channels (rows) of one stream's blocks at most.
    pub channels: u64,
    /// The highest sample rate, Hz.
    pub rate_hz: f64,
}

impl Flow {
    /// What several inputs give together.
    pub fn merge(flows: impl IntoIterator<Item = Flow>) -> Flow {
        flows.into_iter().fold(Flow::default(), |a, b| Flow {
            message_bytes: a.message_bytes.max(b.message_bytes),
            streams: a.streams + b.streams,
            channels: a.channels.max(b.channels),
            rate_hz: a.rate_hz.max(b.rate_hz),
        })
    }

    /// Samples of one block of all its channels, `seconds` long.
    pub fn block_bytes(&self, seconds: f64) -> u64 {
        (self.channels as f64 * (seconds * self.rate_hz).ceil() * 4.0) as u64
    }

    /// Channels summed over every stream.
    pub fn all_channels(&self) -> u64 {
        self.streams.max(1) * self.channels.max(1)
    }

    /// The same flow with blocks of `rate_hz` and `seconds` (channels unchanged).
    pub fn with_blocks(self, rate_hz: f64, seconds: f64) -> Flow {
        let mut f = Flow { rate_hz, ..self };
        f.message_bytes = f.block_bytes(seconds) + CHUNK_OVERHEAD;
        f
    }
}

/// A block's fixed cost besides its samples (ids, metadata, the Arc).
pub const CHUNK_OVERHEAD: u64 = 512;

/// One stage's statement: what it holds at most, how that was reckoned, and what it emits.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub held: u64,
    /// The reckoning in words, e.g. `3 streams x 24 ch x 1,210 taps x 4 B`.
    pub why: String,
    pub output: Flow,
}

impl Need {
    pub fn new(held: u64, why: impl Into<String>, output: Flow) -> Need {
        Need {
            held,
            why: why.into(),
            output,
        }
    }
}

/// The process's own footprint: binary, libraries, allocator arenas, the metrics runtime.
/// Measured as the peak RSS of a run of a one-source, one-null-sink pipeline (about 20 MiB)
/// with room for the libraries' lazy allocations.
pub const PROCESS_BASE: u64 = 48 << 20;
/// Per stage thread: its stack as touched, and the thread's allocator arena.
pub const PER_THREAD: u64 = 2 << 20;
/// librdkafka's producer buffer, as the Kafka bus sets it.
pub const KAFKA_PRODUCER: u64 = crate::bus::kafka::PRODUCER_BUFFER_KB << 10;
/// A consumer's prefetch queue and one fetch response in flight, as the Kafka bus sets them.
pub const KAFKA_CONSUMER: u64 =
    (crate::bus::kafka::CONSUMER_PREFETCH_KB << 10) + crate::bus::kafka::FETCH_MAX_BYTES;

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct StageMemory {
    pub stage: String,
    /// What the stage itself holds.
    pub held: u64,
    pub why: String,
    /// Its input queue (memory bus) or its Kafka client buffers.
    pub queue: u64,
    pub queue_why: String,
}

impl StageMemory {
    pub fn total(&self) -> u64 {
        self.held + self.queue
    }
}

/// The whole process's bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub stages: Vec<StageMemory>,
    pub base: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.base + self.stages.iter().map(StageMemory::total).sum::<u64>()
    }

    /// The stage holding the most: the one to shrink.
    pub fn largest(&self) -> Option<&StageMemory> {
        self.stages.iter().max_by_key(|s| s.total())
    }
}

/// The bound of the stages `local` of `p` run in one process (all when `None`). Stages that
/// run elsewhere still give their flows, so a consumer's estimate knows what it is fed.
pub fn estimate(p: &Pipeline, local: Option<&[String]>) -> Estimate {
    let mut flows: std::collections::HashMap<&str, Flow> = Default::default();
    let mut stages = Vec::new();
    let kafka = p.file.header.bus == BusKind::Kafka;
    for name in &p.order {
        let Some(s) = p.stage(name) else { continue };
        let input = Flow::merge(
            s.inputs
                .iter()
                .filter_map(|i| flows.get(i.as_str()).copied()),
        );
        let need = s.spec.memory(&input);
        flows.insert(name, need.output);
        if local.is_some_and(|l| !l.contains(name)) {
            continue;
        }
        let (queue, queue_why) = queue_need(p, s, &input, kafka);
        stages.push(StageMemory {
            stage: name.clone(),
            held: need.held + PER_THREAD,
            why: need.why,
            queue,
            queue_why,
        });
    }
    Estimate {
        stages,
        base: PROCESS_BASE,
    }
}

fn queue_need(p: &Pipeline, s: &StageDecl, input: &Flow, kafka: bool) -> (u64, String) {
    let mut parts = Vec::new();
    let mut bytes = 0;
    if kafka {
        if !s.inputs.is_empty() {
            bytes += KAFKA_CONSUMER;
            parts.push(format!(
                "consumer prefetch and fetch {}",
                Bytes(KAFKA_CONSUMER)
            ));
        }
        if p.has_consumers(&s.name) {
            bytes += KAFKA_PRODUCER;
            parts.push(format!("producer buffer {}", Bytes(KAFKA_PRODUCER)));
        }
    } else if !s.inputs.is_empty() {
        let q = p.file.header.queue as u64;
        bytes = q * input.message_bytes;
        let from: Vec<String> = s.inputs.iter().map(|i| format!("`{i}`")).collect();
        parts.push(format!(
            "{q} x {} from {}",
            Bytes(input.message_bytes),
            from.join(", ")
        ));
    }
    (bytes, parts.join(" + "))
}

/// Bytes, shown as a person reads them (`1.5 GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        let (v, unit) = if b >= (1u64 << 30) as f64 {
            (b / (1u64 << 30) as f64, "GiB")
        } else if b >= (1 << 20) as f64 {
            (b / (1 << 20) as f64, "MiB")
        } else if b >= 1024.0 {
            (b / 1024.0, "KiB")
        } else {
            return write!(f, "{} B", self.0);
        };
        if v >= 100.0 {
            write!(f, "{v:.0} {unit}")
        } else {
            write!(f, "{v:.1} {unit}")
        }
    }
}

/// `512MiB`, `2 GiB`, `1.5G`, `800M`, `4096` (bytes): a memory size as operators write it.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" | "ki" => 1 << 10,
        "m" | "mb" | "mib" | "mi" => 1 << 20,
        "g" | "gb" | "gib" | "gi" => 1 << 30,
        "t" | "tb" | "tib" | "ti" => 1 << 40,
        _ => return None,
    };
    (v.is_finite() && v > 0.0).then_some((v * mult as f64) as u64)
}

/// The memory limit of the cgroup this process runs in (a container's `resources.limits`),
/// if there is one: the default `memory_limit` under Kubernetes.
pub fn cgroup_limit() -> Option<u64> {
    let v2 = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok();
    let v1 = || std::fs::read_to_string("/sys/fs/cgroup/memory/memory.limit_in_bytes").ok();
    let text = v2.or_else(v1)?;
    let n: u64 = text.trim().parse().ok()?;
    // v1 writes a huge number for "no limit"; v2 writes "max" (which does not parse).
    (n < (1u64 << 60)).then_some(n)
}

/// The table `seisreduce check` prints.
impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "memory bound (most each stage holds, its input queue):")?;
        let w = self.stages.iter().map(|s| s.stage.len()).max().unwrap_or(5);
        for s in &self.stages {
            let queue = if s.queue_why.is_empty() {
                String::new()
            } else {
                format!("; queue {} ({})", Bytes(s.queue), s.queue_why)
            };
            writeln!(
                f,
                "  {:<w$}  {:>9}  {}{queue}",
                s.stage,
                Bytes(s.total()).to_string(),
                s.why
            )?;
        }
        writeln!(
            f,
            "  {:<w$}  {:>9}  process, libraries; each stage above includes {} for its thread",
            "(base)",
            Bytes(self.base).to_string(),
            Bytes(PER_THREAD)
        )?;
        write!(
            f,
            "  {:<w$}  {:>9}",
            "total",
            Bytes(self.total()).to_string()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("3 parsecs"), None);
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(300 << 20).to_string(), "300 MiB");
    }

    #[test]
    fn merged_inputs_add_streams_and_keep_the_largest_message() {
        let a = Flow {
            message_bytes: 100,
            streams: 2,
            channels: 1,
            rate_hz: 100.0,
        };
        let b = Flow {
            message_bytes: 900,
            streams: 1,
            channels: 24,
            rate_hz: 40.0,
        };
        let m = Flow::merge([a, b]);
        assert_eq!((m.message_bytes, m.streams, m.channels), (900, 3, 24));
        assert_eq!(m.rate_hz, 100.0);
        assert_eq!(b.block_bytes(1.0), 24 * 40 * 4);
    }
}
