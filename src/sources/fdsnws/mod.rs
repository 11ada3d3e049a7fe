//! The `fdsnws` source: a backfill from an FDSN dataselect node (RESIF's by default, any
//! node or the EIDA federator), records passed on as the node sends them.
//!
//! - **Polite.** One request at a time (nodes ban clients that open many), bulk POSTs cut
//!   by window and into bounded groups of streams ([`plan`]); 413 halves the request (streams
//!   first, then time); 429 and 5xx come back after `Retry-After` or an exponential backoff;
//!   a reply that stops inside a record or short of its length is asked again.
//! - **Resumable, once.** The `state` file names every request done, and for the request in
//!   progress how many of its records are durable downstream (the bus flushed: acknowledged
//!   by Kafka) with a digest of the last one. A restart skips what is done and, for the
//!   request it was in, re-asks and skips the records already sent, so a SIGKILL neither
//!   loses nor repeats records. The file is replaced atomically, and only after the flush.
//! - **Nothing silent.** A request a node refuses (400, 403, retries spent) is an error
//!   naming the request, the others carry on, and the run fails at the end listing what is
//!   missing; rerunning with the same state asks only for that. A corrupt record in a reply
//!   is dropped, counted and named by request and byte offset.

mod http;
pub mod plan;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::parse_time;
use crate::bus::{DataKind, Payload};
use crate::formats::mseed::RecordReader;
use crate::model::Nanos;
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};
use http::{Answer, Node};
use plan::{Options, Request, Stream};

/// RESIF's dataselect service.
pub const RESIF: &str = "https://ws.resif.fr/fdsnws/dataselect/1/";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdsnwsSourceConfig {
    /// The service root (`.../fdsnws/dataselect/1/`) or its `query` URL.
    #[serde(default = "resif")]
    pub url: String,
    /// `NET.STA.LOC.CHA` with `*` and `?`; `--` for an empty location.
    pub streams: Vec<String>,
    /// ISO times (a date alone is its midnight): `[start, end)`.
    pub start: String,
    pub end: String,
    /// FDSN `quality` (D, R, Q, M or B); the node's default when left out.
    #[serde(default)]
    pub quality: Option<String>,
    /// FDSN `minimumlength` in seconds.
    #[serde(default)]
    pub minimumlength: Option<f64>,
    /// FDSN `longestonly`.
    #[serde(default)]
    pub longestonly: bool,
    /// Seconds per request window, on the UTC grid (a day by default).
    #[serde(default = "day")]
    pub window_s: u64,
    /// Streams (selection lines) per request at most.
    #[serde(default = "twenty")]
    pub group: usize,
    /// Shortest window a 413 may split a one-stream request into.
    #[serde(default = "crate::sources::defaults::sixty")]
    pub min_window_s: f64,
    /// Resume file: requests done, and the progress of the one under way.
    #[serde(default)]
    pub state: Option<PathBuf>,
    /// Tries per request for 429, 5xx, lost connections and truncated replies.
    #[serde(default = "eight")]
    pub retries: u32,
    /// Backoff when the node does not say how long to wait: doubled per try, at most max.
    #[serde(default = "crate::sources::defaults::one")]
    pub backoff_min_s: f64,
    #[serde(default = "crate::sources::defaults::sixty")]
    pub backoff_max_s: f64,
    /// A whole request, reply included.
    #[serde(default = "six_hundred")]
    pub timeout_s: f64,
    #[serde(default = "crate::sources::defaults::ten")]
    pub connect_timeout_s: f64,
    /// Seconds to wait between requests, for nodes that ask clients to go gently.
    #[serde(default)]
    pub pause_s: f64,
    /// Seconds between flushing downstream and saving progress within a request.
    #[serde(default = "crate::sources::defaults::one")]
    pub commit_interval_s: f64,
}

fn resif() -> String {
    RESIF.into()
}
fn day() -> u64 {
    86_400
}
fn twenty() -> usize {
    20
}
fn eight() -> u32 {
    8
}
fn six_hundred() -> f64 {
    600.0
}

impl StageType for FdsnwsSourceConfig {
    const NAME: &'static str = "fdsnws";
    const ROLE: Role = Role::Source;
    const ABOUT: &'static str =
        "a backfill from an FDSN dataselect node (bulk POST by day and stream group), resumable";
    const ACCEPTS: &'static [DataKind] = &[];
    const EMITS: Option<DataKind> = Some(DataKind::Records);
}

impl FdsnwsSourceConfig {
    fn streams(&self) -> Result<Vec<Stream>, KeyError> {
        if self.streams.is_empty() {
            return Err((
                Some("streams".into()),
                "name at least one stream, e.g. \"FR.CIEL.00.HH?\"".into(),
            ));
        }
        self.streams
            .iter()
            .map(|s| Stream::parse(s))
            .collect::<Result<_, _>>()
            .map_err(|e| (Some("streams".to_string()), e))
    }

    fn window(&self) -> Result<(Nanos, Nanos), KeyError> {
        let t = |k: &str, s: &str| {
            parse_time(s).ok_or((Some(k.to_string()), format!("{s:?} is not an ISO time")))
        };
        let (a, b) = (t("start", &self.start)?, t("end", &self.end)?);
        if b <= a {
            return Err((Some("end".into()), "must be after start".into()));
        }
        Ok((a, b))
    }

    fn options(&self) -> Options {
        Options {
            quality: self.quality.clone(),
            minimumlength: self.minimumlength,
            longestonly: self.longestonly,
        }
    }
}

impl Component for FdsnwsSourceConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err((
                Some("url".into()),
                format!("{:?}: an http:// or https:// URL, e.g. {RESIF}", self.url),
            ));
        }
        self.streams()?;
        self.window()?;
        if let Some(q) = &self.quality {
            if !["D", "R", "Q", "M", "B"].contains(&q.as_str()) {
                return Err((
                    Some("quality".into()),
                    format!("{q:?}: one of D, R, Q, M, B"),
                ));
            }
        }
        if self
            .minimumlength
            .is_some_and(|m| !m.is_finite() || m < 0.0)
        {
            return Err((Some("minimumlength".into()), "must be 0 or more".into()));
        }
        if self.window_s == 0 {
            return Err((Some("window_s".into()), "must be positive".into()));
        }
        if self.group == 0 {
            return Err((Some("group".into()), "must be at least 1".into()));
        }
        for (k, v) in [
            ("min_window_s", self.min_window_s),
            ("pause_s", self.pause_s + 1.0),
            ("backoff_min_s", self.backoff_min_s),
            ("backoff_max_s", self.backoff_max_s),
            ("timeout_s", self.timeout_s),
            ("connect_timeout_s", self.connect_timeout_s),
            ("commit_interval_s", self.commit_interval_s),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err((Some(k.into()), "must be positive".into()));
            }
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
        // A reply is held whole until its records are passed on: a group of 100 Hz streams
        // over a window, Steim2 at about 1.5 bytes a sample.
        let reply = (self.group as u64) * self.window_s * 100 * 3 / 2;
        Need::new(
            reply,
            format!(
                "one reply held whole: {} streams x {} s at 100 Hz",
                self.group, self.window_s
            ),
            Flow {
                message_bytes: 4096,
                streams: self.group as u64,
                channels: 1,
                rate_hz: 100.0,
            },
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::source(self, ctx.stage, run))
    }
}

/// The resume file.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    url: String,
    /// Keys of the requests whose records are all durable downstream.
    done: BTreeSet<String>,
    /// The request under way: its records durable so far.
    #[serde(default)]
    current: Option<Progress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Progress {
    key: String,
    records: u64,
    /// FNV-1a of the last durable record's bytes, to see that a re-asked reply is the same.
    last: String,
}

fn digest(b: &[u8]) -> String {
    format!("{:016x}", crate::model::hash::fnv1a(b.iter().copied()))
}

struct Backfill<'c> {
    cfg: &'c FdsnwsSourceConfig,
    node: Node,
    opts: Options,
    saved: State,
    state: State,
    last_commit: Instant,
    failed: Vec<String>,
    /// The backfill's start: before it, a record is in the first window's reply only.
    start: Nanos,
}

pub fn run(
    cfg: &FdsnwsSourceConfig,
    _stage: &str,
    out: &mut Emitter<'_>,
) -> Result<(), StageError> {
    let streams = cfg.streams().map_err(|(_, m)| StageError::Other(m))?;
    let (start, end) = cfg.window().map_err(|(_, m)| StageError::Other(m))?;
    let node = Node::new(
        &cfg.url,
        Duration::from_secs_f64(cfg.timeout_s),
        Duration::from_secs_f64(cfg.connect_timeout_s),
    )
    .map_err(StageError::Other)?;
    let state = match &cfg.state {
        Some(p) => load_state(p, &cfg.url)?,
        None => State {
            url: cfg.url.clone(),
            ..State::default()
        },
    };
    let mut queue: Vec<Request> = plan::plan(&streams, start, end, cfg.window_s, cfg.group);
    let planned = queue.len();
    if !state.done.is_empty() {
        tracing::info!(url = %cfg.url, done = state.done.len(), planned,
            "resuming: requests already done are skipped");
    }
    queue.reverse(); // popped from the back: first planned first
    let mut b = Backfill {
        cfg,
        node,
        opts: cfg.options(),
        saved: state.clone(),
        state,
        last_commit: Instant::now(),
        failed: Vec::new(),
        start,
    };
    let (mut asked, mut records) = (0u64, 0u64);
    while let Some(req) = queue.pop() {
        if out.stopping() {
            break;
        }
        let key = req.key();
        if b.state.done.contains(&key) {
            continue;
        }
        if asked > 0
            && cfg.pause_s > 0.0
            && !super::sleep_until(
                Instant::now() + Duration::from_secs_f64(cfg.pause_s),
                || out.stopping(),
            )
        {
            break;
        }
        asked += 1;
        match b.fetch(&req, out)? {
            Fetched::Body(body) => records += b.pass_on(&req, &key, body, out)?,
            Fetched::NoData => {
                tracing::debug!(request = %req, "no data");
                b.finish(&key, out)?;
            }
            Fetched::Split(x, y) => {
                tracing::info!(request = %req, "the node finds the request too large (413): asking for it in halves");
                queue.push(y);
                queue.push(x);
            }
            Fetched::Failed(why) => {
                out.metrics.error("request_failed");
                tracing::error!(url = %b.node.query, request = %req, "{why}; left for a later run");
                b.failed.push(format!("{req} ({why})"));
            }
            Fetched::Stopped => break,
        }
    }
    b.commit(out)?;
    let stopped = out.stopping() && !queue.is_empty();
    tracing::info!(url = %b.node.query, requests = asked, records, failed = b.failed.len(),
        "{}", if stopped { "backfill stopped; the state file resumes it" } else { "backfill done" });
    if b.failed.is_empty() {
        Ok(())
    } else {
        Err(StageError::Other(format!(
            "{} request{} to {} failed and {} missing: {}",
            b.failed.len(),
            if b.failed.len() == 1 { "" } else { "s" },
            b.node.query,
            if b.failed.len() == 1 {
                "its data are"
            } else {
                "their data are"
            },
            b.failed.join("; ")
        )))
    }
}

enum Fetched {
    Body(Bytes),
    NoData,
    Split(Request, Request),
    Failed(String),
    Stopped,
}

impl Backfill<'_> {
    /// Asks until the node gives an answer that is not "later".
    fn fetch(&mut self, req: &Request, out: &mut Emitter<'_>) -> Result<Fetched, StageError> {
        let mut backoff = self.cfg.backoff_min_s;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.node.post(req.body(&self.opts)) {
                Answer::Data(b) => return Ok(Fetched::Body(b)),
                Answer::NoData => return Ok(Fetched::NoData),
                Answer::TooLarge => {
                    out.metrics.error("too_large");
                    return Ok(match req.split(self.cfg.min_window_s) {
                        Some((x, y)) => Fetched::Split(x, y),
                        None => Fetched::Failed(format!(
                            "HTTP 413 for one stream over {} s or less",
                            self.cfg.min_window_s
                        )),
                    });
                }
                Answer::Refused(why) => return Ok(Fetched::Failed(why)),
                Answer::Retry { reason, after } => {
                    out.metrics.error(if reason.starts_with("HTTP") {
                        "http_retry"
                    } else {
                        "transfer_retry"
                    });
                    if tries > self.cfg.retries {
                        return Ok(Fetched::Failed(format!("{reason} ({} tries)", tries)));
                    }
                    let wait = after.map_or(backoff, |d| d.as_secs_f64());
                    tracing::warn!(url = %self.node.query, request = %req, tries,
                        retry_in_s = format!("{wait:.1}"),
                        retry_after = after.is_some(), "{reason}");
                    // Progress made so far is durable before a long wait.
                    self.commit(out)?;
                    let until = Instant::now() + Duration::from_secs_f64(wait);
                    if !super::sleep_until(until, || out.stopping()) {
                        return Ok(Fetched::Stopped);
                    }
                    backoff = (backoff * 2.0).min(self.cfg.backoff_max_s);
                }
            }
        }
    }

    /// Passes a reply's records on, skipping those a previous run made durable.
    fn pass_on(
        &mut self,
        req: &Request,
        key: &str,
        body: Bytes,
        out: &mut Emitter<'_>,
    ) -> Result<u64, StageError> {
        let resumed = match &self.state.current {
            Some(p) if p.key == key => Some(p.clone()),
            _ => None,
        };
        let skip = resumed.as_ref().map_or(0, |p| p.records);
        let mut n = 0u64;
        let mut sent = 0u64;
        for item in RecordReader::new(&body) {
            let rec = match item {
                Ok(r) => r,
                Err(e) => {
                    out.metrics.dropped("corrupt_record", 1);
                    tracing::warn!(url = %self.node.query, request = %req, offset = e.offset,
                        "corrupt record in the reply, dropped: {}", e.kind);
                    continue;
                }
            };
            n += 1;
            if n <= skip {
                if n == skip {
                    let p = resumed.as_ref().expect("skip > 0 has a progress");
                    if digest(rec.bytes) != p.last {
                        tracing::warn!(request = %req, records = skip,
                            "the node's reply differs from the one the last run began to pass on: records from it may repeat");
                    }
                }
                continue;
            }
            // Nodes that send whole records (most do) send one across a window edge in
            // both replies: it belongs to the window it starts in.
            if req.start > self.start && rec.header.start < req.start {
                out.metrics.dropped("sent_in_previous_window", 1);
                continue;
            }
            let off = rec.offset as usize;
            let bytes = body.slice(off..off + rec.bytes.len());
            out.emit(rec.header.sid.as_str(), Payload::Record(bytes))?;
            sent += 1;
            self.state.current = Some(Progress {
                key: key.to_string(),
                records: n,
                last: digest(rec.bytes),
            });
            if self.last_commit.elapsed().as_secs_f64() >= self.cfg.commit_interval_s {
                self.commit(out)?;
            }
            if out.stopping() {
                // What was passed on is saved; the rest of this request comes next run.
                self.commit(out)?;
                return Ok(sent);
            }
        }
        if skip > n {
            tracing::warn!(request = %req, before = skip, now = n,
                "the node's reply is shorter than the one the last run began to pass on");
        }
        self.finish(key, out)?;
        Ok(sent)
    }

    fn finish(&mut self, key: &str, out: &mut Emitter<'_>) -> Result<(), StageError> {
        self.state.current = None;
        self.state.done.insert(key.to_string());
        // At once: a request is the unit the node is asked for again, and a pause or a
        // long wait may follow.
        self.commit(out)
    }

    /// Flushes downstream, then saves the state: nothing is marked done before it is durable.
    fn commit(&mut self, out: &mut Emitter<'_>) -> Result<(), StageError> {
        if self.state == self.saved {
            self.last_commit = Instant::now();
            return Ok(());
        }
        out.flush()?;
        // Counted from the flush's end: a slow broker still gets whole intervals of records.
        self.last_commit = Instant::now();
        if let Some(p) = &self.cfg.state {
            let json = serde_json::to_vec_pretty(&self.state)
                .map_err(|e| StageError::Other(e.to_string()))?;
            crate::sinks::replace_file(p, &json)?;
        }
        self.saved.clone_from(&self.state);
        Ok(())
    }
}

fn load_state(p: &Path, url: &str) -> Result<State, StageError> {
    match std::fs::read(p) {
        Ok(b) => {
            let s: State = serde_json::from_slice(&b).map_err(|e| {
                StageError::Other(format!("{}: not an fdsnws state file: {e}", p.display()))
            })?;
            if s.url != url {
                return Err(StageError::Other(format!(
                    "{}: this state belongs to {}, not {url}; name another state file",
                    p.display(),
                    s.url
                )));
            }
            Ok(s)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State {
            url: url.to_string(),
            ..State::default()
        }),
        Err(e) => Err(StageError::io(p.display(), e)),
    }
}
