//! The `seedlink` sink: a SeedLink server (v3 and v4 on one port) serving what reaches it to
//! standard clients (ObsPy, SeisComP, slinktool, Swarm, EarthScope's `seedlink-client`).
//!
//! Records are served as they arrived. Sample blocks are encoded per channel (STEIM2 when
//! every sample is an integer, FLOAT32 otherwise, or as `encoding` says) and filled to whole
//! records across blocks ([`Packer`]), so a block of a few samples never becomes a short
//! record. v3 clients are served the 512-byte miniSEED 2 records only (the protocol's
//! length); v4 clients every record.
//!
//! Durability: the ring and the samples waiting to fill a record are in `state_dir`, made
//! durable at each sync before the input is committed, so sequence numbers and data survive
//! a restart and Kafka re-deliveries are recognised (their positions are kept) and skipped.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;

use super::{replace_file, Sink, SinkReport};
use crate::bus::{DataKind, Message, Payload};
use crate::formats::mseed::pack::{Packed, Packer, Pending};
use crate::formats::mseed::{EncodeOptions, Encoding, Samples};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Bytes as Size, Flow, Need};
use crate::seedlink::ring::{Limits, Ring};
use crate::seedlink::server::{Server, ServerOptions};
use crate::telemetry::metrics::StageMetrics;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedlinkSinkConfig {
    /// Address to serve on; loopback unless said otherwise.
    #[serde(default = "listen")]
    pub listen: String,
    /// The ring's bound in MiB.
    #[serde(default = "ring_mb")]
    pub ring_mb: f64,
    /// Packets older than this are let go (hours).
    #[serde(default = "ring_hours")]
    pub ring_hours: f64,
    /// Where the ring and its sequence numbers persist; relative paths are under the
    /// storage root. Default: `seedlink/STAGE`.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// `auto` (STEIM2 for integer blocks, FLOAT32 otherwise), `STEIM2`, `STEIM1`, `INT32`
    /// or `FLOAT32`.
    #[serde(default = "auto")]
    pub encoding: String,
    /// Length of the records sample blocks are encoded into (v3 clients take 512 only).
    #[serde(default = "reclen")]
    pub record_length: usize,
    #[serde(default = "max_clients")]
    pub max_clients: usize,
    /// The organisation line of HELLO.
    #[serde(default = "organization")]
    pub organization: String,
    /// A client that does not take its data for this long is dropped.
    #[serde(default = "ten")]
    pub write_timeout_s: f64,
    /// After the input ends, keep serving this long (or until the process is stopped).
    #[serde(default)]
    pub linger_s: f64,
    #[serde(default = "one")]
    pub commit_interval_s: f64,
    /// Blocks are filled to whole records across blocks (true); false serves each block at
    /// once in records of its own, for slow products such as RSAM, whose 512-byte record
    /// would otherwise take a day to fill.
    #[serde(default = "yes")]
    pub fill_records: bool,
}

fn yes() -> bool {
    true
}

fn listen() -> String {
    "127.0.0.1:18000".into()
}
fn ring_mb() -> f64 {
    256.0
}
fn ring_hours() -> f64 {
    24.0
}
fn auto() -> String {
    "auto".into()
}
fn reclen() -> usize {
    512
}
fn max_clients() -> usize {
    64
}
fn organization() -> String {
    "seisreduce".into()
}
fn ten() -> f64 {
    10.0
}
fn one() -> f64 {
    1.0
}

impl StageType for SeedlinkSinkConfig {
    const NAME: &'static str = "seedlink";
    const ROLE: Role = Role::Sink;
    const ABOUT: &'static str =
        "a SeedLink v3/v4 server: records as received, blocks encoded to full records";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Records, DataKind::Samples];
    const EMITS: Option<DataKind> = None;
}

impl SeedlinkSinkConfig {
    /// The integer encoding blocks use (`None`: auto).
    fn integer_encoding(&self) -> Result<Option<Encoding>, String> {
        if self.encoding.eq_ignore_ascii_case("auto") {
            return Ok(None);
        }
        match Encoding::from_name(&self.encoding) {
            Some(
                e @ (Encoding::Steim1 | Encoding::Steim2 | Encoding::Int32 | Encoding::Float32),
            ) => Ok(Some(e)),
            _ => Err(format!(
                "{:?}: use auto, STEIM2, STEIM1, INT32 or FLOAT32",
                self.encoding
            )),
        }
    }
}

impl Component for SeedlinkSinkConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        let bad = |k: &str, m: String| Err((Some(k.to_string()), m));
        if let Err(m) = self.integer_encoding() {
            return bad("encoding", m);
        }
        if !(256..=8192).contains(&self.record_length) || !self.record_length.is_power_of_two() {
            return bad(
                "record_length",
                "must be a power of two from 256 to 8192".into(),
            );
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "listen",
                format!(
                    "{:?} is not HOST:PORT (an IP address and a port)",
                    self.listen
                ),
            );
        }
        for (k, v) in [
            ("ring_mb", self.ring_mb),
            ("ring_hours", self.ring_hours),
            ("write_timeout_s", self.write_timeout_s),
            ("commit_interval_s", self.commit_interval_s),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return bad(k, "must be positive".into());
            }
        }
        if !self.linger_s.is_finite() || self.linger_s < 0.0 {
            return bad("linger_s", "must be zero or more".into());
        }
        if self.max_clients == 0 {
            return bad("max_clients", "must be at least 1".into());
        }
        Ok(())
    }

    fn memory(&self, input: &Flow) -> Need {
        let ring = (self.ring_mb * 1024.0 * 1024.0) as u64;
        let waiting = input.all_channels() * self.record_length as u64 * 2;
        Need::new(
            ring + waiting + self.max_clients as u64 * 256 * 1024,
            format!(
                "the ring ({}), a record's samples per channel waiting to fill it, {} clients' buffers",
                Size(ring),
                self.max_clients
            ),
            Flow::default(),
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let dir = ctx.settings.storage.resolve(
            self.state_dir
                .as_ref()
                .unwrap_or(&PathBuf::from(format!("seedlink/{}", ctx.stage))),
        );
        let sink = SeedlinkSink::open(self, dir, ctx.metrics.clone())?;
        Ok(Work::sink(sink, self.commit_interval_s))
    }
}

pub struct SeedlinkSink {
    ring: Arc<Ring>,
    server: Server,
    packer: Packer,
    auto: bool,
    /// `encoding = "FLOAT32"`: every block as floats.
    floats: bool,
    /// `fill_records = false`: each block served at once.
    at_once: bool,
    dir: PathBuf,
    metrics: StageMetrics,
    linger: Duration,
    packets: u64,
}

impl SeedlinkSink {
    pub fn open(
        cfg: &SeedlinkSinkConfig,
        dir: PathBuf,
        metrics: StageMetrics,
    ) -> Result<SeedlinkSink, StageError> {
        let limits = Limits {
            max_bytes: (cfg.ring_mb * 1024.0 * 1024.0) as usize,
            max_age_ns: (cfg.ring_hours * 3600e9) as i64,
        };
        let ring = Arc::new(Ring::open(limits, &dir)?);
        let enc = cfg.integer_encoding().map_err(StageError::Other)?;
        let mut packer = Packer::new(EncodeOptions {
            encoding: enc.unwrap_or(Encoding::Steim2),
            record_length: cfg.record_length,
            ..Default::default()
        });
        let pending_path = dir.join("pending.json");
        if let Ok(b) = std::fs::read(&pending_path) {
            let p: std::collections::BTreeMap<String, Pending> = serde_json::from_slice(&b)
                .map_err(|e| {
                    StageError::Other(format!(
                        "{}: not a pending-samples file: {e}",
                        pending_path.display()
                    ))
                })?;
            packer.restore(p);
        }
        let server = Server::start(
            ServerOptions {
                listen: cfg.listen.clone(),
                max_clients: cfg.max_clients,
                organization: cfg.organization.clone(),
                write_timeout: Duration::from_secs_f64(cfg.write_timeout_s),
            },
            ring.clone(),
        )
        .map_err(|e| StageError::Other(format!("SeedLink server on {}: {e}", cfg.listen)))?;
        Ok(SeedlinkSink {
            ring,
            server,
            packer,
            auto: enc.is_none(),
            floats: enc == Some(Encoding::Float32),
            at_once: !cfg.fill_records,
            dir,
            metrics,
            linger: Duration::from_secs_f64(cfg.linger_s),
            packets: 0,
        })
    }

    /// The address served (the port when `listen` asked for port 0).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    fn serve(&mut self, recs: Vec<Packed>) -> Result<(), StageError> {
        for (_, r) in recs {
            self.push(Bytes::from(r), None)?;
        }
        Ok(())
    }

    fn push(
        &mut self,
        record: Bytes,
        from: Option<&crate::bus::Position>,
    ) -> Result<(), StageError> {
        match self.ring.push(record, from)? {
            Some(_) => self.packets += 1,
            None => self.metrics.dropped("not_miniseed", 1),
        }
        Ok(())
    }
}

impl Sink for SeedlinkSink {
    fn write(&mut self, m: &Message) -> Result<(), StageError> {
        if self.ring.already_stored(m) {
            self.metrics.dropped("already_stored", 1);
            return Ok(());
        }
        match &m.payload {
            Payload::Record(b) => self.push(b.clone(), m.position.as_ref()),
            Payload::Block(c) => {
                for (row, meta) in c.data.rows().into_iter().zip(&c.channels) {
                    let integral = row.iter().all(|v| v.fract() == 0.0 && v.abs() < 2.0e9);
                    let samples = if (self.auto && integral) || (!self.auto && !self.floats) {
                        Samples::Int(row.iter().map(|v| v.round() as i32).collect())
                    } else {
                        Samples::Float32(row.to_vec())
                    };
                    let encoding =
                        |e| StageError::Other(format!("encoding {}: {e}", meta.source_id));
                    let mut recs = self
                        .packer
                        .push(&meta.source_id, c.start, c.rate, samples)
                        .map_err(encoding)?;
                    if self.at_once {
                        recs.extend(
                            self.packer
                                .flush_stream(&meta.source_id)
                                .map_err(encoding)?,
                        );
                    }
                    self.serve(recs)?;
                }
                Ok(())
            }
            other => {
                self.metrics.dropped("wrong_kind", 1);
                tracing::warn!(key = %m.key, "seedlink sink: {} cannot be served", other.kind().describe());
                Ok(())
            }
        }
    }

    fn sync(&mut self) -> Result<(), StageError> {
        let json = serde_json::to_vec(self.packer.pending())
            .map_err(|e| StageError::Other(e.to_string()))?;
        replace_file(&self.dir.join("pending.json"), &json)?;
        self.ring.sync()
    }

    /// Served packets cannot be taken back; re-deliveries are skipped by their positions.
    fn rollback(&mut self) -> Result<(), StageError> {
        Ok(())
    }

    fn finish(&mut self, shutdown: &AtomicBool) -> Result<(), StageError> {
        let recs = self
            .packer
            .flush()
            .map_err(|e| StageError::Other(e.to_string()))?;
        self.serve(recs)?;
        self.sync()?;
        if !self.linger.is_zero() {
            tracing::info!(listen = %self.server.addr, seconds = self.linger.as_secs_f64(), "input ended; still serving");
            let until = Instant::now() + self.linger;
            while Instant::now() < until && !shutdown.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    fn report(&self) -> Option<SinkReport> {
        let s = &self.server.stats;
        let g = self.ring.lock();
        Some(SinkReport {
            wrote: format!(
                "SeedLink on {}: {} packets taken, {} sent to {} client sessions ({} dropped as slow, {} records not servable to v3 clients); the ring holds {} packets of {} stations in {}",
                self.server.addr,
                self.packets,
                s.packets_sent.load(Ordering::Relaxed),
                s.sessions.load(Ordering::Relaxed),
                s.dropped_slow.load(Ordering::Relaxed),
                s.not_v3.load(Ordering::Relaxed),
                g.log.len(),
                g.stations.len(),
                self.dir.display()
            ),
            open_with: Some(format!("seisreduce seedlink info {} --level streams", self.server.addr)),
        })
    }
}
