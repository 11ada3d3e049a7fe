//! The `seedlink` source: a live SeedLink feed (v3 or v4), records passed on as received.
//!
//! - No gap, no duplicate across restarts: the last sequence number of each station goes
//!   into the `state` file, replaced atomically, and only once the records before it are
//!   durable downstream (the bus flushed: enqueued in memory, acknowledged by Kafka). A
//!   restart asks each station for the next sequence. A state older than what the server
//!   holds is reported with what was lost.
//! - Connections heal: a connect timeout of its own, keepalives when quiet, a stall (no
//!   packet and no keepalive answer within `stall_timeout_s`) reopens the connection,
//!   reconnects back off exponentially with jitter, and a malformed packet is an error
//!   naming server, station and sequence followed by a reconnect.
//! - Packets already seen (a sequence not after the last one of its station) are dropped
//!   and counted, so a server that repeats itself does not duplicate data.
//! - `mode = "fetch"` takes what the server holds and ends, so a pipeline run finishes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::parse_time;
use crate::bus::{DataKind, Payload};
use crate::formats::mseed::{self, record::Parsed};
use crate::model::{Iso, Nanos};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};
use crate::seedlink::client::{ClientError, ClientOptions, Connection, Event, Protocol};
use crate::seedlink::select::Pattern;
use crate::telemetry::metrics::StationMetrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Follow the feed until the pipeline is stopped.
    #[default]
    Realtime,
    /// Take what the server holds (or the time window), then end.
    Fetch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedlinkSourceConfig {
    /// `host:port`.
    pub server: String,
    /// `NET_STA:LOC_B_S_SS` patterns with `*` and `?`; the stream part may be left out.
    pub streams: Vec<String>,
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default)]
    pub mode: Mode,
    /// Start of a time window (ISO); without a state, data from here on.
    #[serde(default)]
    pub start: Option<String>,
    /// End of the time window (ISO): the server ends the session there.
    #[serde(default)]
    pub end: Option<String>,
    /// Resume file: the last sequence number of each station.
    #[serde(default)]
    pub state: Option<PathBuf>,
    #[serde(default = "super::defaults::ten")]
    pub connect_timeout_s: f64,
    #[serde(default = "super::defaults::sixty")]
    pub stall_timeout_s: f64,
    #[serde(default = "twenty")]
    pub keepalive_s: f64,
    /// First wait before reconnecting; doubled at each failure up to `backoff_max_s`.
    #[serde(default = "super::defaults::one")]
    pub backoff_min_s: f64,
    #[serde(default = "super::defaults::sixty")]
    pub backoff_max_s: f64,
    /// Seconds between flushing downstream and saving the state.
    #[serde(default = "super::defaults::one")]
    pub commit_interval_s: f64,
}

fn twenty() -> f64 {
    20.0
}

impl StageType for SeedlinkSourceConfig {
    const NAME: &'static str = "seedlink";
    const ROLE: Role = Role::Source;
    const ABOUT: &'static str =
        "a live SeedLink v3/v4 feed (records as received), resumable without gaps or duplicates";
    const ACCEPTS: &'static [DataKind] = &[];
    const EMITS: Option<DataKind> = Some(DataKind::Records);
}

impl SeedlinkSourceConfig {
    fn patterns(&self) -> Result<Vec<Pattern>, KeyError> {
        if self.streams.is_empty() {
            return Err((
                Some("streams".into()),
                "name at least one stream pattern, e.g. \"FR_*:*_H_H_?\"".into(),
            ));
        }
        let p: Vec<Pattern> = self
            .streams
            .iter()
            .map(|s| Pattern::parse(s))
            .collect::<Result<_, _>>()
            .map_err(|e| (Some("streams".to_string()), e))?;
        if self.protocol == Protocol::V3 {
            for x in &p {
                x.v3_select()
                    .map_err(|e| (Some("streams".to_string()), e))?;
            }
        }
        Ok(p)
    }

    fn window(&self) -> Result<(Option<Nanos>, Option<Nanos>), KeyError> {
        let t = |k: &str, v: &Option<String>| -> Result<Option<Nanos>, KeyError> {
            v.as_ref()
                .map(|s| {
                    parse_time(s).ok_or((Some(k.to_string()), format!("{s:?} is not an ISO time")))
                })
                .transpose()
        };
        let (a, b) = (t("start", &self.start)?, t("end", &self.end)?);
        if let (Some(a), Some(b)) = (a, b) {
            if b <= a {
                return Err((Some("end".into()), "must be after start".into()));
            }
        }
        if b.is_some() && a.is_none() {
            return Err((Some("start".into()), "an end needs a start".into()));
        }
        Ok((a, b))
    }

    fn options(&self) -> ClientOptions {
        ClientOptions {
            server: self.server.clone(),
            protocol: self.protocol,
            connect_timeout: Duration::from_secs_f64(self.connect_timeout_s),
            stall_timeout: Duration::from_secs_f64(self.stall_timeout_s),
            keepalive: Duration::from_secs_f64(self.keepalive_s),
            useragent: format!("seisreduce/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl Component for SeedlinkSourceConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        if !self.server.contains(':') {
            return Err((
                Some("server".into()),
                format!(
                    "{:?}: use HOST:PORT, e.g. rtserve.resif.fr:18000",
                    self.server
                ),
            ));
        }
        self.patterns()?;
        self.window()?;
        for (k, v) in [
            ("connect_timeout_s", self.connect_timeout_s),
            ("stall_timeout_s", self.stall_timeout_s),
            ("keepalive_s", self.keepalive_s),
            ("backoff_min_s", self.backoff_min_s),
            ("backoff_max_s", self.backoff_max_s),
            ("commit_interval_s", self.commit_interval_s),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err((Some(k.into()), "must be positive".into()));
            }
        }
        if self.keepalive_s >= self.stall_timeout_s {
            return Err((
                Some("keepalive_s".into()),
                "must be less than stall_timeout_s, or a quiet server is taken for a stalled one"
                    .into(),
            ));
        }
        if self.backoff_max_s < self.backoff_min_s {
            return Err((
                Some("backoff_max_s".into()),
                "must be at least backoff_min_s".into(),
            ));
        }
        Ok(())
    }

    fn memory(&self, _: &Flow) -> Need {
        // What a feed will carry is known only once it flows: exact patterns count their
        // streams, any wildcard is taken as a national network's worth (RESIF: ~700 x 3).
        let wild = self
            .streams
            .iter()
            .any(|s| s.contains(['*', '?']) || !s.contains(':'));
        let streams = if wild {
            2100
        } else {
            self.streams.len() as u64
        };
        Need::new(
            1 << 20,
            format!("one connection's buffers, a sequence number per station; {streams} streams assumed"),
            Flow {
                message_bytes: 8192,
                streams,
                channels: 1,
                rate_hz: 200.0,
            },
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::source(self, ctx.stage, run))
    }
}

/// The resume file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    server: String,
    /// Station -> last sequence number made durable downstream.
    stations: BTreeMap<String, u64>,
}

struct Station {
    metrics: StationMetrics,
    last_seq: Option<u64>,
    last_end: Nanos,
    last_arrival: Instant,
}

struct Feed<'c> {
    cfg: &'c SeedlinkSourceConfig,
    /// Durable (saved) and taken-but-not-yet-saved sequence numbers.
    saved: BTreeMap<String, u64>,
    taken: BTreeMap<String, u64>,
    stations: BTreeMap<String, Station>,
    last_commit: Instant,
}

pub fn run(
    cfg: &SeedlinkSourceConfig,
    _stage: &str,
    out: &mut Emitter<'_>,
) -> Result<(), StageError> {
    let patterns = cfg.patterns().map_err(|(_, m)| StageError::Other(m))?;
    let (start, end) = cfg.window().map_err(|(_, m)| StageError::Other(m))?;
    let state = match &cfg.state {
        Some(p) => load_state(p)?,
        None => State::default(),
    };
    if !state.stations.is_empty() {
        tracing::info!(server = %cfg.server, stations = state.stations.len(),
            state = %cfg.state.as_ref().map_or(String::new(), |p| p.display().to_string()),
            "resuming each station after its last sequence number");
    }
    let mut feed = Feed {
        cfg,
        saved: state.stations.clone(),
        taken: state.stations,
        stations: BTreeMap::new(),
        last_commit: Instant::now(),
    };
    let opts = cfg.options();
    let mut backoff = cfg.backoff_min_s;
    let mut failures = 0u32;
    let mut first = true;
    while !out.stopping() {
        if !first {
            out.metrics.reconnected();
        }
        first = false;
        match session(&opts, &patterns, start, end, &mut feed, out) {
            Ok(true) => {
                feed.commit(out)?;
                tracing::info!(server = %cfg.server, "SeedLink session complete (fetch or time window done)");
                return Ok(());
            }
            Ok(false) => break,
            Err(SessionEnd::Stage(e)) => return Err(e),
            Err(SessionEnd::Client(e, delivered)) => {
                out.metrics.error(match &e {
                    ClientError::Malformed { .. } => "malformed_packet",
                    ClientError::Stalled { .. } => "stalled",
                    ClientError::Refused { .. } => "refused",
                    _ => "connection",
                });
                if delivered {
                    backoff = cfg.backoff_min_s;
                    failures = 0;
                }
                failures += 1;
                // Full jitter: a fleet of clients does not come back in step.
                let wait = backoff * (0.5 + 0.5 * jitter());
                if failures <= 3 || failures.is_power_of_two() {
                    tracing::warn!(server = %cfg.server, failures, retry_in_s = format!("{wait:.1}"), "{e}");
                }
                feed.commit(out)?;
                if !super::sleep_until(Instant::now() + Duration::from_secs_f64(wait), || {
                    out.stopping()
                }) {
                    break;
                }
                backoff = (backoff * 2.0).min(cfg.backoff_max_s);
            }
        }
    }
    feed.commit(out)?;
    Ok(())
}

enum SessionEnd {
    Stage(StageError),
    /// The connection failed; whether it delivered anything first.
    Client(ClientError, bool),
}

/// One connection: `Ok(true)` when the server ended it (fetch done), `Ok(false)` when the
/// pipeline is stopping.
fn session(
    opts: &ClientOptions,
    patterns: &[Pattern],
    start: Option<Nanos>,
    end: Option<Nanos>,
    feed: &mut Feed<'_>,
    out: &mut Emitter<'_>,
) -> Result<bool, SessionEnd> {
    let fetch = feed.cfg.mode == Mode::Fetch;
    let mut c = Connection::open(opts).map_err(|e| SessionEnd::Client(e, false))?;
    let resume = feed.taken.clone();
    c.start(patterns, &resume, start, end, fetch)
        .map_err(|e| SessionEnd::Client(e, false))?;
    tracing::info!(server = %opts.server, protocol = c.version.number(), server_id = %c.hello.server_id,
        resumed = resume.len(), "SeedLink connected");
    let mut delivered = false;
    let mut last_gauges = Instant::now();
    loop {
        if out.stopping() {
            c.close();
            return Ok(false);
        }
        match c.next_event() {
            Ok(Some(Event::Packet {
                seq,
                station,
                payload,
            })) => {
                delivered = true;
                feed.packet(seq, station, payload, out)
                    .map_err(SessionEnd::Stage)?;
            }
            Ok(Some(Event::End)) => return Ok(true),
            Ok(None) => {}
            Err(e) => return Err(SessionEnd::Client(e, delivered)),
        }
        if feed.last_commit.elapsed().as_secs_f64() >= feed.cfg.commit_interval_s {
            feed.commit(out).map_err(SessionEnd::Stage)?;
        }
        if last_gauges.elapsed() >= Duration::from_secs(1) {
            feed.gauges();
            last_gauges = Instant::now();
        }
    }
}

impl Feed<'_> {
    fn packet(
        &mut self,
        seq: u64,
        station: String,
        payload: Vec<u8>,
        out: &mut Emitter<'_>,
    ) -> Result<(), StageError> {
        let now = crate::model::now();
        let st = self
            .stations
            .entry(station.clone())
            .or_insert_with(|| Station {
                metrics: out.metrics.station(&station),
                last_seq: self.taken.get(&station).copied(),
                last_end: i64::MIN,
                last_arrival: Instant::now(),
            });
        st.metrics.packets.inc();
        st.metrics.bytes.inc_by(payload.len() as u64);
        st.last_arrival = Instant::now();
        if let Some(last) = st.last_seq {
            if seq <= last && last - seq < 1 << 23 {
                st.metrics.old.inc();
                out.metrics.dropped("seedlink_repeated", 1);
                return Ok(());
            }
            if seq > last + 1 {
                let missing = seq - last - 1;
                st.metrics.sequence_gaps.inc_by(missing);
                tracing::warn!(server = %self.cfg.server, station = %station, after = last, next = seq, missing,
                    "SeedLink sequence gap: the server no longer holds these packets");
            }
        }
        st.last_seq = Some(seq);
        let h = match mseed::parse_record(&payload, true) {
            Ok(Parsed::Record(h)) => h,
            Ok(Parsed::NeedMore(_)) | Err(_) => {
                out.metrics.dropped("corrupt_record", 1);
                tracing::warn!(server = %self.cfg.server, station = %station, seq, "SeedLink packet does not hold a readable miniSEED record: dropped");
                self.taken.insert(station, seq);
                return Ok(());
            }
        };
        let end = match h.rate.period_ns() {
            Some(p) => h.start + (p * h.sample_count as f64) as Nanos,
            None => h.start,
        };
        if h.start > now + 1_000_000_000 {
            st.metrics.future.inc();
            tracing::debug!(station = %station, start = %Iso(h.start), "packet from the future");
        }
        if end > st.last_end {
            st.last_end = end;
            st.metrics.data_latency.set((now - end) as f64 / 1e9);
        }
        out.emit(h.sid.as_str(), Payload::Record(Bytes::from(payload)))?;
        self.taken.insert(station, seq);
        Ok(())
    }

    fn gauges(&self) {
        for st in self.stations.values() {
            st.metrics
                .feed_latency
                .set(st.last_arrival.elapsed().as_secs_f64());
        }
    }

    /// Flushes downstream, then saves the state: a sequence is saved only once its record
    /// is durable.
    fn commit(&mut self, out: &mut Emitter<'_>) -> Result<(), StageError> {
        self.last_commit = Instant::now();
        if self.taken == self.saved {
            return Ok(());
        }
        out.flush()?;
        // Counted from the flush's end: a slow broker still gets whole intervals of packets
        // between flushes, rather than a flush after every packet.
        self.last_commit = Instant::now();
        if let Some(p) = &self.cfg.state {
            let state = State {
                server: self.cfg.server.clone(),
                stations: self.taken.clone(),
            };
            let json =
                serde_json::to_vec_pretty(&state).map_err(|e| StageError::Other(e.to_string()))?;
            crate::sinks::replace_file(p, &json)?;
        }
        self.saved.clone_from(&self.taken);
        Ok(())
    }
}

fn load_state(p: &std::path::Path) -> Result<State, StageError> {
    match std::fs::read(p) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            StageError::Other(format!("{}: not a SeedLink state file: {e}", p.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(StageError::io(p.display(), e)),
    }
}

/// A number in [0, 1) from the clock's nanoseconds: enough to spread reconnects.
fn jitter() -> f64 {
    let n = crate::model::now() as u64;
    let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    x as f64 / (1u64 << 53) as f64
}
