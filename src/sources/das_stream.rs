//! The `das_stream` source: a DAS interrogator's live ZeroMQ publication, as ASN's OptoDAS
//! streams it (and as xdas, `xdas.io.asn`, publishes and subscribes to it).
//!
//! The protocol: the publisher is a ZeroMQ XPUB socket whose welcome message — sent to every
//! subscriber as it connects — is the JSON header (`bytesPerPackage`, `nPackagesPerMessage`,
//! `nChannels`, `dataType` short/int/long/float/double, `dt` with `dtUnit`, `dx`,
//! `roiTable` with `roiStart`/`roiEnd`/`roiDec`); a changed header is sent again in the
//! stream. Every other message is one block: 8 bytes of int64 nanoseconds (the time of its
//! first row), then `nPackagesPerMessage` rows of `nChannels` samples, little-endian,
//! time-major; its length is `8 + bytesPerPackage × nPackagesPerMessage`, which is how a
//! block is told from a header.
//!
//! - Blocks become (channel, time) chunks with the time the publisher stamped on them, in
//!   integer nanoseconds, and the same DAS metadata, channel ids and metrics as the `das`
//!   file source; channel positions are `roiStart·dx + k·(roiEnd − roiStart)·dx/(n − 1)`.
//! - A block that starts later than the previous one ended is a gap (an event, logged with
//!   both times; downstream fills it), one that starts earlier an overlap whose repeated
//!   rows are dropped and counted.
//! - A message that is neither a header nor a block of the current header's size (or a
//!   block before any header) is counted (`dropped{reason="unparsable_message"}`) and
//!   logged as a tally, never fatal.
//! - The connection heals itself: a connect timeout, a stall (no message for `stall_s`)
//!   or a lost publisher closes the socket, and the source reconnects with exponential
//!   backoff and jitter, and resubscribes; the publisher's welcome message brings the
//!   header again. Reconnects are counted (`events{kind="reconnect"}`).
//!
//! ZeroMQ is spoken through the pure-Rust `zeromq` crate (ZMTP 3 over TCP on tokio), not
//! the `zmq` bindings: no libzmq to build or install, the same async runtime as the Kafka
//! bus, and its SUB socket is all this source needs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use serde::Deserialize;

use crate::bus::DataKind;
use crate::formats::das::binary::{decode_into, Scalar};
use crate::formats::das::transpose;
use crate::model::{sample_time, ChannelMeta, Chunk, DasMeta, Iso, Nanos, SampleRate};
use crate::ops::Event;
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DasStreamConfig {
    /// The publisher's ZeroMQ endpoint, `tcp://host:port`.
    pub address: String,
    #[serde(default = "network")]
    pub network: String,
    #[serde(default)]
    pub location: String,
    /// SEED channel code (band, instrument, orientation), e.g. `HSF`.
    #[serde(default = "hsf")]
    pub channel: String,
    /// Seconds to wait for the TCP connection and the ZMTP handshake.
    #[serde(default = "five")]
    pub connect_timeout_s: f64,
    /// Seconds without any message after which the connection is taken for dead and
    /// reopened (an interrogator streams continuously).
    #[serde(default = "ten")]
    pub stall_s: f64,
    /// Longest wait between reconnection attempts, seconds (the backoff doubles up to it).
    #[serde(default = "thirty")]
    pub reconnect_max_s: f64,
    /// Messages held between the socket and the pipeline; beyond that the publisher's own
    /// high-water mark drops blocks, which then show as gaps.
    #[serde(default = "queue")]
    pub queue: usize,
}

fn network() -> String {
    "XX".into()
}
fn hsf() -> String {
    "HSF".into()
}
fn five() -> f64 {
    5.0
}
fn ten() -> f64 {
    10.0
}
fn thirty() -> f64 {
    30.0
}
fn queue() -> usize {
    16
}

impl StageType for DasStreamConfig {
    const NAME: &'static str = "das_stream";
    const ROLE: Role = Role::Source;
    const ABOUT: &'static str =
        "a DAS interrogator's live ZeroMQ stream (ASN OptoDAS, as xdas publishes it), reconnecting on its own";
    const ACCEPTS: &'static [DataKind] = &[];
}

/// Assumed for the memory bound until the header says: 10,000 channels, int16, 0.1 s
/// messages at 1 kHz.
const ASSUMED_MESSAGE: u64 = 8 + 10_000 * 2 * 100;

impl Component for DasStreamConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        let bad = |k: &str, m: &str| Err((Some(k.to_string()), m.to_string()));
        if !self.address.starts_with("tcp://") || !self.address[6..].contains(':') {
            return bad("address", "must be a ZeroMQ TCP endpoint, tcp://HOST:PORT");
        }
        for (k, v) in [
            ("connect_timeout_s", self.connect_timeout_s),
            ("stall_s", self.stall_s),
            ("reconnect_max_s", self.reconnect_max_s),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return bad(k, "must be a positive number of seconds");
            }
        }
        if self.queue == 0 {
            return bad("queue", "must hold at least one message");
        }
        super::check_fibre_naming(&self.network, &self.channel)
    }

    fn memory(&self, _: &Flow) -> Need {
        let out = Flow {
            message_bytes: (ASSUMED_MESSAGE - 8) * 2,
            streams: 1,
            channels: 10_000,
            rate_hz: 1000.0,
        };
        Need::new(
            (self.queue as u64 + 2) * ASSUMED_MESSAGE + out.message_bytes,
            format!(
                "{} queued messages and one block (assumed 10,000 ch x 1 kHz int16 in 0.1 s messages until the header says)",
                self.queue
            ),
            out,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::source(self, ctx.stage, run))
    }
}

/// The publisher's header, as the blocks need it.
#[derive(Debug, Clone, PartialEq)]
struct Header {
    rows: usize,
    channels: usize,
    /// The sample type (little-endian, as the publisher's machine writes it).
    kind: Scalar,
    /// Sampling interval, nanoseconds (may be fractional).
    dt_ns: f64,
    distance: Vec<f64>,
    block_len: usize,
}

/// The header JSON, or why it is not one.
fn parse_header(msg: &[u8]) -> Result<Header, String> {
    let v: serde_json::Value =
        serde_json::from_slice(msg).map_err(|e| format!("not a JSON header: {e}"))?;
    let num = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| format!("header has no number `{k}`"))
    };
    let whole = |k: &str| -> Result<usize, String> {
        let n = num(k)?;
        (n >= 1.0 && n.fract() == 0.0 && n < 1e9)
            .then_some(n as usize)
            .ok_or_else(|| format!("header `{k}` = {n} is not a positive whole number"))
    };
    let rows = whole("nPackagesPerMessage")?;
    let channels = whole("nChannels")?;
    let per_row = whole("bytesPerPackage")?;
    let kind = match v.get("dataType").and_then(|t| t.as_str()) {
        Some("short") => Scalar::I16 { big: false },
        Some("int") => Scalar::I32 { big: false },
        Some("long") => Scalar::I64 { big: false },
        Some("float") => Scalar::F32 { big: false },
        Some("double") => Scalar::F64 { big: false },
        other => {
            return Err(format!(
                "header dataType {other:?} is not short, int, long, float or double"
            ))
        }
    };
    if per_row != channels * kind.size() {
        return Err(format!(
            "header bytesPerPackage {per_row} is not {channels} channels of {}",
            kind.dtype()
        ));
    }
    let unit = v.get("dtUnit").and_then(|u| u.as_str()).unwrap_or("s");
    let scale = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        other => return Err(format!("header dtUnit `{other}` is not ns, us, ms or s")),
    };
    let dt_ns = num("dt")? * scale;
    if !(dt_ns > 0.0 && dt_ns.is_finite()) {
        return Err(format!(
            "header dt {} {unit} is not a positive interval",
            num("dt")?
        ));
    }
    let dx = num("dx").unwrap_or(1.0);
    let roi = v.get("roiTable").and_then(|r| r.get(0));
    let field = |k: &str| {
        roi.and_then(|r| r.get(k))
            .and_then(serde_json::Value::as_f64)
    };
    let (first, last) = match (field("roiStart"), field("roiEnd")) {
        (Some(a), Some(b)) => (a * dx, b * dx),
        _ => (0.0, (channels as f64 - 1.0) * dx),
    };
    let step = if channels > 1 {
        (last - first) / (channels as f64 - 1.0)
    } else {
        0.0
    };
    Ok(Header {
        rows,
        channels,
        kind,
        dt_ns,
        distance: (0..channels).map(|k| first + k as f64 * step).collect(),
        block_len: 8 + per_row * rows,
    })
}

/// Samples of a block, time-major little-endian, as (channel, time) f32.
fn block_samples(h: &Header, body: &[u8]) -> ndarray::Array2<f32> {
    let mut rows = vec![0f32; h.rows * h.channels];
    decode_into(h.kind, body, &mut rows);
    let tx = ndarray::ArrayView2::from_shape((h.rows, h.channels), &rows).expect("rows × channels");
    transpose(tx)
}

/// What the socket task passes to the source.
enum Incoming {
    Message(Vec<u8>),
    /// The connection was lost or could not be made; a new one is tried after `wait`
    /// (`None`: the socket is already retrying on its own).
    Down {
        why: String,
        wait: Option<Duration>,
    },
    Connected,
}

/// The socket side: connects, subscribes to everything, forwards each message (frames
/// joined), and reconnects with backoff on failure or stall. Runs on its own thread with a
/// current-thread tokio runtime until the source drops the receiver.
fn socket_task(cfg: DasStreamConfig, tx: Sender<Incoming>) {
    use futures::StreamExt;
    use zeromq::{Socket, SocketEvent, SocketOptions, SocketRecv, SubSocket};
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(Incoming::Down {
                why: format!("no async runtime: {e}"),
                wait: None,
            });
            return;
        }
    };
    let stall = Duration::from_secs_f64(cfg.stall_s);
    let max = Duration::from_secs_f64(cfg.reconnect_max_s);
    let mut backoff = Duration::from_millis(100);
    rt.block_on(async {
        loop {
            let mut opts = SocketOptions::default();
            opts.connect_timeout(Duration::from_secs_f64(cfg.connect_timeout_s));
            let mut sock = SubSocket::with_options(opts);
            // Connections and losses as the socket sees them (it also reconnects on its own
            // after a publisher goes away, and resubscribes).
            let mut monitor = sock.monitor();
            let why = match sock.connect(&cfg.address).await {
                Err(e) => format!("cannot connect: {e}"),
                Ok(()) => match sock.subscribe("").await {
                    Err(e) => format!("cannot subscribe: {e}"),
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        loop {
                            tokio::select! {
                                event = monitor.next() => {
                                    let note = match event {
                                        Some(SocketEvent::Connected(..)) => Incoming::Connected,
                                        Some(SocketEvent::Disconnected(_)) => Incoming::Down {
                                            why: "the publisher closed the connection".into(),
                                            wait: None,
                                        },
                                        _ => continue,
                                    };
                                    if tx.send(note).is_err() {
                                        return;
                                    }
                                }
                                got = tokio::time::timeout(stall, sock.recv()) => match got {
                                    Err(_) => break format!("no message for {} s (stalled)", cfg.stall_s),
                                    Ok(Err(e)) => break format!("connection lost: {e}"),
                                    Ok(Ok(m)) => {
                                        let frames = m.into_vec();
                                        let bytes = if frames.len() == 1 {
                                            frames[0].to_vec()
                                        } else {
                                            frames.concat()
                                        };
                                        if tx.send(Incoming::Message(bytes)).is_err() {
                                            return;
                                        }
                                    }
                                },
                            }
                        }
                    }
                },
            };
            drop(sock);
            // Exponential backoff with jitter, so that many subscribers do not reconnect in
            // step.
            let jitter = 0.5 + (crate::model::now().rem_euclid(1000) as f64) / 1000.0;
            let wait = backoff.mul_f64(jitter).min(max);
            if tx.send(Incoming::Down { why, wait: Some(wait) }).is_err() {
                return;
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(max);
        }
    });
}

struct Stream<'c> {
    cfg: &'c DasStreamConfig,
    stream: String,
    header: Option<Header>,
    channels: Vec<ChannelMeta>,
    meta: Arc<DasMeta>,
    /// Time the next row is expected at.
    next: Option<Nanos>,
}

impl Stream<'_> {
    fn set_header(&mut self, h: Header) {
        if self.header.as_ref() == Some(&h) {
            return;
        }
        tracing::info!(stream = %self.stream, channels = h.channels, rows_per_message = h.rows,
            data_type = h.kind.dtype(), rate_hz = 1e9 / h.dt_ns, "stream header");
        let c = self.cfg;
        self.channels = super::fibre_channels(
            &c.network,
            &c.location,
            &c.channel,
            h.distance.iter().map(|d| Some(*d)),
        );
        self.meta = Arc::new(DasMeta {
            format: "OptoDAS stream".into(),
            format_version: "ZeroMQ".into(),
            quantity: "unknown".into(),
            units: "counts".into(),
            scale_factor: None,
            physical_units: "counts".into(),
            gauge_length_m: None,
            spatial_sampling_interval_m: (h.channels > 1)
                .then(|| (h.distance[h.channels - 1] - h.distance[0]) / (h.channels - 1) as f64),
            interrogator: Some("ASN OptoDAS".into()),
            pulse_rate_hz: None,
        });
        self.header = Some(h);
    }

    fn unparsable(&self, out: &mut Emitter<'_>, len: usize, why: String) {
        out.metrics.dropped("unparsable_message", 1);
        let stream = self.stream.clone();
        let address = self.cfg.address.clone();
        out.repeats
            .note(("unparsable messages", true), &stream, 0, None, || {
                format!("{address}: message of {len} bytes dropped: {why}")
            });
    }

    fn message(&mut self, msg: &[u8], out: &mut Emitter<'_>) -> Result<(), StageError> {
        let block = self
            .header
            .as_ref()
            .is_some_and(|h| msg.len() == h.block_len);
        if !block {
            return match parse_header(msg) {
                Ok(h) => {
                    self.set_header(h);
                    Ok(())
                }
                Err(why) if msg.first() == Some(&b'{') => {
                    self.unparsable(out, msg.len(), why);
                    Ok(())
                }
                Err(_) => {
                    let why = match &self.header {
                        None => "a block before any header".to_string(),
                        Some(h) => format!("neither a header nor a block of {} bytes", h.block_len),
                    };
                    self.unparsable(out, msg.len(), why);
                    Ok(())
                }
            };
        }
        let h = self.header.as_ref().expect("a block has a header");
        let start = i64::from_le_bytes(msg[..8].try_into().expect("8 bytes"));
        let rate = 1e9 / h.dt_ns;
        let mut skip = 0usize;
        if let Some(next) = self.next {
            let half = (h.dt_ns / 2.0) as i64;
            let d = start - next;
            if d > half {
                out.events(&[Event::Gap {
                    stream: self.stream.clone(),
                    start: next,
                    end: start,
                    samples: (d as f64 / h.dt_ns).round() as u64,
                    filled: false,
                }]);
            } else if d < -half {
                skip = (0..h.rows)
                    .take_while(|&r| sample_time(start, r as i64, rate) < next - half)
                    .count();
                out.events(&[Event::Overlap {
                    stream: self.stream.clone(),
                    start,
                    end: next,
                    dropped: (skip * h.channels) as u64,
                }]);
            }
        }
        self.next =
            Some(sample_time(start, h.rows as i64, rate).max(self.next.unwrap_or(i64::MIN)));
        if skip == h.rows {
            return Ok(());
        }
        let mut data = block_samples(h, &msg[8..]);
        if skip > 0 {
            data = data.slice(ndarray::s![.., skip..]).to_owned();
        }
        out.emit_chunk(Chunk {
            stream: self.stream.clone(),
            start: sample_time(start, skip as i64, rate),
            rate: SampleRate(rate),
            channels: self.channels.clone(),
            data,
            das: Some(self.meta.clone()),
            units: None,
        })
    }
}

pub fn run(cfg: &DasStreamConfig, stage: &str, out: &mut Emitter<'_>) -> Result<(), StageError> {
    let (tx, rx): (Sender<Incoming>, Receiver<Incoming>) = bounded(cfg.queue);
    let task_cfg = cfg.clone();
    let socket = std::thread::Builder::new()
        .name(format!("{stage}-zmq"))
        .spawn(move || socket_task(task_cfg, tx))
        .map_err(|e| StageError::Other(format!("cannot start the ZeroMQ thread: {e}")))?;
    let mut s = Stream {
        cfg,
        stream: format!("{}.{stage}", cfg.network),
        header: None,
        channels: Vec::new(),
        meta: Arc::new(DasMeta::default()),
        next: None,
    };
    let mut last_flush = Instant::now();
    let mut connected_once = false;
    while !out.stopping() {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Incoming::Message(m)) => s.message(&m, out)?,
            Ok(Incoming::Connected) => {
                tracing::info!(address = %cfg.address, "subscribed");
                if connected_once {
                    out.metrics.event("reconnect");
                }
                connected_once = true;
            }
            Ok(Incoming::Down { why, wait }) => {
                let address = cfg.address.clone();
                let stream = s.stream.clone();
                out.repeats
                    .note(("connection losses", true), &stream, 0, None, || {
                        let when = match wait {
                            Some(w) => format!("in {:.1} s", w.as_secs_f64()),
                            None => "at once".into(),
                        };
                        format!(
                            "{address}: {why}; reconnecting {when} (last row at {})",
                            s.next
                                .map(|t| Iso(t).to_string())
                                .unwrap_or_else(|| "none yet".into())
                        )
                    });
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(StageError::Other(format!(
                    "{}: the ZeroMQ thread ended",
                    cfg.address
                )))
            }
        }
        if last_flush.elapsed() > Duration::from_secs(1) {
            out.flush()?;
            last_flush = Instant::now();
        }
    }
    // Dropping the receiver ends the socket thread at its next message or wait.
    drop(rx);
    drop(socket);
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(rows: usize, channels: usize) -> String {
        serde_json::json!({
            "bytesPerPackage": 2 * channels, "nPackagesPerMessage": rows, "nChannels": channels,
            "dataType": "short", "dx": 2.0, "dt": 1.0, "dtUnit": "ms", "dxUnit": "m",
            "roiTable": [{"roiStart": 10, "roiEnd": 10 + 2 * (channels - 1), "roiDec": 2}]
        })
        .to_string()
    }

    #[test]
    fn headers_as_xdas_writes_them() {
        let h = parse_header(header(5, 3).as_bytes()).unwrap();
        assert_eq!(
            (h.rows, h.channels, h.kind, h.block_len),
            (5, 3, Scalar::I16 { big: false }, 8 + 30)
        );
        assert_eq!(h.dt_ns, 1e6);
        assert_eq!(h.distance, vec![20.0, 24.0, 28.0]);
        let bad = header(5, 3).replace("\"short\"", "\"complex\"");
        assert!(parse_header(bad.as_bytes())
            .unwrap_err()
            .contains("dataType"));
        assert!(parse_header(b"\x00\x01garbage").is_err());
    }

    #[test]
    fn blocks_are_time_major_little_endian() {
        let h = parse_header(header(2, 3).as_bytes()).unwrap();
        let mut body = Vec::new();
        for t in 0..2i16 {
            for x in 0..3i16 {
                body.extend((100 * t + x).to_le_bytes());
            }
        }
        let b = block_samples(&h, &body);
        assert_eq!(b.dim(), (3, 2));
        assert_eq!(b[[2, 1]], 102.0);
        assert_eq!(b[[1, 0]], 1.0);
    }
}
