//! The SeedLink server: a listener and one thread per client, all reading the one [`Ring`].
//!
//! A session negotiates (HELLO, SLPROTO, STATION, SELECT, DATA/FETCH/TIME, END/ENDFETCH,
//! INFO, BYE; v3 and v4 on the same port), then streams from its place in the ring. A
//! second thread per client reads what the client sends while it streams (keepalive INFO
//! requests, BYE) and pokes the writer. Writes have a timeout: a client that does not take
//! its data, or one that falls behind what the ring holds, is dropped with a warning; the
//! pipeline never waits for a client.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::info::{self, Connection};
use super::ring::{Packet, Read as RingRead, Ring};
use super::select::{Selector, StationSel};
use super::wire::{self, find_eol, line_end, Version, MAX_LINE, V3_RECORD};
use crate::model::Nanos;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub listen: String,
    pub max_clients: usize,
    pub organization: String,
    /// A write that does not complete in this time drops the client.
    pub write_timeout: Duration,
}

/// Counters the sink reports.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub clients: AtomicUsize,
    pub sessions: AtomicU64,
    pub refused: AtomicU64,
    pub dropped_slow: AtomicU64,
    pub packets_sent: AtomicU64,
    /// Records a v3 client could not be sent (not 512 bytes long, or miniSEED 3).
    pub not_v3: AtomicU64,
}

pub struct Server {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    stop: Arc<AtomicBool>,
    ring: Arc<Ring>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    ring: Arc<Ring>,
    opts: ServerOptions,
    stop: Arc<AtomicBool>,
    stats: Arc<ServerStats>,
    started: Nanos,
    conns: Mutex<BTreeMap<u64, Connection>>,
}

impl Server {
    pub fn start(opts: ServerOptions, ring: Arc<Ring>) -> std::io::Result<Server> {
        let listener = TcpListener::bind(&opts.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(ServerStats::default());
        let shared = Arc::new(Shared {
            ring: ring.clone(),
            opts,
            stop: stop.clone(),
            stats: stats.clone(),
            started: crate::model::now(),
            conns: Mutex::new(BTreeMap::new()),
        });
        let thread = std::thread::Builder::new()
            .name("seedlink-listen".into())
            .spawn(move || accept_loop(listener, shared))?;
        tracing::info!(listen = %addr, "SeedLink server listening");
        Ok(Server {
            addr,
            stats,
            stop,
            ring,
            thread: Some(thread),
        })
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.ring.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut id = 0u64;
    let mut sessions: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, peer)) => {
                let _ = stream.set_nonblocking(false);
                if shared.stats.clients.load(Ordering::Relaxed) >= shared.opts.max_clients {
                    shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%peer, limit = shared.opts.max_clients, "SeedLink client refused: too many clients");
                    let mut s = stream;
                    let _ = s.write_all(b"ERROR LIMIT too many clients\r\n");
                    continue;
                }
                id += 1;
                let sh = shared.clone();
                shared.stats.clients.fetch_add(1, Ordering::Relaxed);
                shared.stats.sessions.fetch_add(1, Ordering::Relaxed);
                let spawned = std::thread::Builder::new()
                    .name(format!("seedlink-client-{id}"))
                    .spawn(move || {
                        let peer_s = peer.to_string();
                        if let Err(e) =
                            Session::new(stream, peer, id, &sh).and_then(|mut s| s.run())
                        {
                            tracing::debug!(peer = %peer_s, "SeedLink client ended: {e}");
                        }
                        sh.conns
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&id);
                        sh.stats.clients.fetch_sub(1, Ordering::Relaxed);
                    });
                match spawned {
                    Ok(h) => sessions.push(h),
                    Err(e) => {
                        shared.stats.clients.fetch_sub(1, Ordering::Relaxed);
                        tracing::error!("SeedLink session thread: {e}");
                    }
                }
                sessions.retain(|h| !h.is_finished());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                tracing::warn!("SeedLink accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    for h in sessions {
        let _ = h.join();
    }
}

/// How a station's data is requested.
#[derive(Debug, Clone, Default)]
struct Request {
    sel: Option<StationSel>,
    /// Resume from this sequence (v3: 24-bit).
    seq: Option<u64>,
    /// Everything the ring holds (v4 `DATA ALL`, v3 `FETCH` without a sequence).
    all: bool,
    start: Option<Nanos>,
    end: Option<Nanos>,
}

struct Session<'a> {
    out: TcpStream,
    peer: SocketAddr,
    id: u64,
    sh: &'a Shared,
    version: Version,
    extreply: bool,
    batch: bool,
    requests: Vec<Request>,
    /// v3 uni-station mode: selectors without a STATION.
    uni: Request,
    lines: Arc<Mutex<Vec<String>>>,
    reader_gone: Arc<AtomicBool>,
    in_buf: Vec<u8>,
    sent: u64,
}

type Res<T> = Result<T, String>;

impl<'a> Session<'a> {
    fn new(stream: TcpStream, peer: SocketAddr, id: u64, sh: &'a Shared) -> Res<Session<'a>> {
        let _ = stream.set_nodelay(true);
        stream
            .set_write_timeout(Some(sh.opts.write_timeout))
            .map_err(|e| e.to_string())?;
        sh.conns.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id,
            Connection {
                peer: peer.to_string(),
                version: 3,
                useragent: String::new(),
                connected: crate::model::now(),
                packets: 0,
            },
        );
        Ok(Session {
            out: stream,
            peer,
            id,
            sh,
            version: Version::V3,
            extreply: false,
            batch: false,
            requests: Vec::new(),
            uni: Request::default(),
            lines: Arc::new(Mutex::new(Vec::new())),
            reader_gone: Arc::new(AtomicBool::new(false)),
            in_buf: Vec::new(),
            sent: 0,
        })
    }

    fn send(&mut self, b: &[u8]) -> Res<()> {
        self.out.write_all(b).map_err(|e| {
            if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
                self.sh.stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer = %self.peer, "SeedLink client dropped: it did not take its data within {:?}", self.sh.opts.write_timeout);
            }
            e.to_string()
        })
    }

    fn reply_ok(&mut self) -> Res<()> {
        if self.batch {
            return Ok(());
        }
        self.send(b"OK\r\n")
    }

    fn reply_error(&mut self, code: &str, msg: &str) -> Res<()> {
        if self.batch && self.version == Version::V3 {
            return Ok(());
        }
        let line = match self.version {
            Version::V4 => format!("ERROR {code} {msg}\r\n"),
            Version::V3 if self.extreply => format!("ERROR\r{msg}\r\n"),
            Version::V3 => "ERROR\r\n".to_string(),
        };
        self.send(line.as_bytes())
    }

    /// The next command line during negotiation (blocking read).
    fn read_line(&mut self) -> Res<Option<String>> {
        loop {
            if let Some(end) = find_eol(&self.in_buf) {
                let line = String::from_utf8_lossy(&self.in_buf[..end])
                    .trim()
                    .to_string();
                let used = line_end(&self.in_buf, end);
                self.in_buf.drain(..used);
                if line.is_empty() {
                    continue;
                }
                return Ok(Some(line));
            }
            if self.in_buf.len() > MAX_LINE {
                return Err("command line too long".into());
            }
            let mut b = [0u8; 4096];
            match self.out.read(&mut b) {
                Ok(0) => return Ok(None),
                Ok(n) => self.in_buf.extend_from_slice(&b[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn run(&mut self) -> Res<()> {
        self.out
            .set_read_timeout(Some(Duration::from_secs(600)))
            .map_err(|e| e.to_string())?;
        while let Some(line) = self.read_line()? {
            let (cmd, args) = line.split_once(' ').unwrap_or((&line, ""));
            let cmd = cmd.to_ascii_uppercase();
            let args = args.trim().to_string();
            match self.command(&cmd, &args)? {
                Next::More => {}
                Next::Bye => return Ok(()),
                Next::Stream { fetch } => return self.stream(fetch),
            }
        }
        Ok(())
    }

    fn current(&mut self) -> &mut Request {
        match self.requests.last_mut() {
            Some(r) => r,
            None => &mut self.uni,
        }
    }

    fn command(&mut self, cmd: &str, args: &str) -> Res<Next> {
        let v4 = self.version == Version::V4;
        match cmd {
            "HELLO" => {
                let caps = info::CAPABILITIES.join(" ");
                let text = format!(
                    "SeedLink v4.0 ({}) :: {caps}\r\n{}\r\n",
                    info::SOFTWARE,
                    self.sh.opts.organization
                );
                self.send(text.as_bytes())?;
            }
            "SLPROTO" => {
                if args.starts_with('4') {
                    self.version = Version::V4;
                    self.set_conn(|c| c.version = 4);
                    self.send(b"OK\r\n")?;
                } else if args.starts_with('3') {
                    self.send(b"OK\r\n")?;
                } else {
                    self.reply_error("UNSUPPORTED", &format!("protocol {args} is not offered"))?;
                }
            }
            "CAPABILITIES" => {
                self.extreply |= args.to_ascii_uppercase().contains("EXTREPLY");
                self.reply_ok()?;
            }
            "USERAGENT" => {
                let ua = args.to_string();
                self.set_conn(|c| c.useragent = ua);
                self.reply_ok()?;
            }
            "BATCH" if !v4 => {
                self.send(b"OK\r\n")?;
                self.batch = true;
            }
            "AUTH" => self.reply_error("UNSUPPORTED", "authentication is not offered")?,
            "STATION" => match StationSel::parse(args, v4) {
                Some(sel) => {
                    self.requests.push(Request {
                        sel: Some(sel),
                        ..Default::default()
                    });
                    self.reply_ok()?;
                }
                None => self.reply_error("ARGUMENTS", "STATION needs a station")?,
            },
            "SELECT" => {
                if args.is_empty() {
                    self.reply_ok()?;
                    return Ok(Next::More);
                }
                match Selector::parse(args) {
                    Some(s) => {
                        let r = self.current();
                        r.sel
                            .get_or_insert_with(|| StationSel {
                                id: "*".into(),
                                selectors: Vec::new(),
                            })
                            .selectors
                            .push(s);
                        self.reply_ok()?;
                    }
                    None => {
                        self.reply_error("ARGUMENTS", &format!("selector {args:?} is not valid"))?
                    }
                }
            }
            "DATA" | "FETCH" | "TIME" => {
                if let Err(m) = self.action(cmd, args) {
                    self.reply_error("ARGUMENTS", &m)?;
                    return Ok(Next::More);
                }
                self.reply_ok()?;
                // v3 uni-station mode: the action starts the stream.
                if !v4 && self.requests.is_empty() {
                    let fetch = cmd == "FETCH";
                    return Ok(Next::Stream { fetch });
                }
            }
            "END" => return Ok(Next::Stream { fetch: false }),
            "ENDFETCH" if v4 => return Ok(Next::Stream { fetch: true }),
            "INFO" => self.info(args)?,
            "BYE" => return Ok(Next::Bye),
            _ => self.reply_error("UNSUPPORTED", &format!("command {cmd} is not supported"))?,
        }
        Ok(Next::More)
    }

    fn set_conn(&self, f: impl FnOnce(&mut Connection)) {
        if let Some(c) = self
            .sh
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&self.id)
        {
            f(c);
        }
    }

    /// DATA / FETCH / TIME arguments into the current request.
    fn action(&mut self, cmd: &str, args: &str) -> Res<()> {
        let v4 = self.version == Version::V4;
        let words: Vec<&str> = args.split_whitespace().collect();
        let time = |s: &str| info::parse_any_time(s).ok_or_else(|| format!("{s:?} is not a time"));
        let r = self.current();
        if cmd == "TIME" {
            let Some(a) = words.first() else {
                return Err("TIME needs a start time".into());
            };
            r.start = Some(time(a)?);
            r.end = words.get(1).map(|s| time(s)).transpose()?;
            r.all = true;
            return Ok(());
        }
        let mut rest = &words[..];
        if let Some(first) = rest.first() {
            if first.eq_ignore_ascii_case("ALL") {
                r.all = true;
                rest = &rest[1..];
            } else if info::parse_any_time(first).is_none() || !v4 {
                let n = if v4 {
                    first
                        .parse::<i64>()
                        .map_err(|_| format!("{first:?} is not a sequence number"))?
                } else {
                    i64::from_str_radix(first, 16)
                        .map_err(|_| format!("{first:?} is not a hex sequence number"))?
                };
                if n >= 0 {
                    r.seq = Some(n as u64);
                }
                rest = &rest[1..];
            }
        }
        if let Some(s) = rest.first() {
            r.start = Some(time(s)?);
            r.all = true;
        }
        if let Some(e) = rest.get(1) {
            r.end = Some(time(e)?);
        }
        if cmd == "FETCH" && r.seq.is_none() {
            r.all = true;
        }
        Ok(())
    }

    fn info(&mut self, level: &str) -> Res<()> {
        let level = level
            .split_whitespace()
            .next()
            .unwrap_or("ID")
            .to_ascii_uppercase();
        let known = info::LEVELS.contains(&level.as_str());
        let conns: Vec<Connection> = self
            .sh
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let org = self.sh.opts.organization.clone();
        match self.version {
            Version::V4 => {
                if !known {
                    let text = serde_json::json!({"error": {"code": "ARGUMENTS", "message": format!("unknown INFO level {level}")}}).to_string();
                    return self.send(&wire::v4_packet(b'J', b'E', 0, "", text.as_bytes()));
                }
                let text = info::json(&level, &self.sh.ring.lock(), &org, self.sh.started, &conns);
                self.send(&wire::v4_packet(b'J', b'I', 0, "", text.as_bytes()))
            }
            Version::V3 => {
                let level = if known { level } else { "ID".to_string() };
                let text = info::xml(&level, &self.sh.ring.lock(), &org, self.sh.started, &conns);
                for p in wire::v3_info_packets(&text) {
                    self.send(&p)?;
                }
                Ok(())
            }
        }
    }

    /// Starts the thread that takes the client's commands while data flows.
    fn start_reader(&mut self) -> Res<()> {
        let mut input = self.out.try_clone().map_err(|e| e.to_string())?;
        let _ = input.set_read_timeout(None);
        let lines = self.lines.clone();
        let gone = self.reader_gone.clone();
        let ring = self.sh.ring.clone();
        let mut buf = std::mem::take(&mut self.in_buf);
        std::thread::Builder::new()
            .name(format!("seedlink-in-{}", self.id))
            .spawn(move || {
                let mut b = [0u8; 1024];
                loop {
                    while let Some(end) = find_eol(&buf) {
                        let l = String::from_utf8_lossy(&buf[..end]).trim().to_string();
                        let used = line_end(&buf, end);
                        buf.drain(..used);
                        if !l.is_empty() {
                            lines.lock().unwrap_or_else(|e| e.into_inner()).push(l);
                            ring.poke();
                        }
                    }
                    if buf.len() > MAX_LINE {
                        break;
                    }
                    match input.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                gone.store(true, Ordering::Relaxed);
                ring.poke();
            })
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn stream(&mut self, fetch: bool) -> Res<()> {
        self.start_reader()?;
        let mut requests = std::mem::take(&mut self.requests);
        if requests.is_empty() {
            requests.push(std::mem::take(&mut self.uni));
        }
        let v3 = self.version == Version::V3;
        // Where each request starts, per station already in the ring.
        // `start_gen`: where stations that appear later start (new data only).
        let (mut cursor, mut from_gen, windowed, start_gen) = {
            let g = self.sh.ring.lock();
            let mut from = BTreeMap::new();
            let mut windowed = BTreeSet::new();
            for (st, state) in &g.stations {
                let Some(r) = request_for(&requests, st) else {
                    continue;
                };
                let first = state.held.front().map_or(g.next_gen, |h| h.1);
                let gen = match r.seq {
                    Some(seq) => match g.gen_of_seq(st, seq, v3) {
                        Some(gen) => gen,
                        None if !v3 && seq < state.held.front().map_or(0, |h| h.0) => {
                            tracing::warn!(peer = %self.peer, station = %st, seq, oldest = first,
                                "SeedLink client asked for a sequence older than the ring holds: sending from the oldest");
                            first
                        }
                        None => g.next_gen,
                    },
                    None if r.all => first,
                    None => g.next_gen,
                };
                if r.end.is_some() {
                    windowed.insert(st.to_string());
                }
                from.insert(st.to_string(), gen);
            }
            let cursor = from
                .values()
                .copied()
                .min()
                .unwrap_or(g.next_gen)
                .min(g.next_gen);
            (cursor, from, windowed, g.next_gen)
        };
        let mut done: BTreeSet<String> = BTreeSet::new();
        let any_end = requests.iter().any(|r| r.end.is_some());
        loop {
            if self.sh.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let pending: Vec<String> =
                std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()));
            for l in pending {
                let (cmd, args) = l.split_once(' ').unwrap_or((&l, ""));
                match cmd.to_ascii_uppercase().as_str() {
                    "INFO" => self.info(args.trim())?,
                    "BYE" => return Ok(()),
                    _ => {}
                }
            }
            if self.reader_gone.load(Ordering::Relaxed) {
                return Ok(());
            }
            match self.sh.ring.read(
                cursor,
                512,
                Duration::from_millis(if fetch { 100 } else { 1000 }),
            ) {
                RingRead::Packets(ps) => {
                    let mut out = Vec::with_capacity(ps.len() * 520);
                    let mut batch = 0u64;
                    for p in &ps {
                        cursor = p.gen + 1;
                        if !wanted(p, &requests, &mut from_gen, start_gen, &mut done) {
                            continue;
                        }
                        if v3 {
                            if p.record.len() != V3_RECORD || p.format != b'2' {
                                self.sh.stats.not_v3.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            out.extend_from_slice(&wire::v3_packet(p.seq, &p.record));
                        } else {
                            out.extend_from_slice(&wire::v4_packet(
                                p.format, b'D', p.seq, &p.station, &p.record,
                            ));
                        }
                        batch += 1;
                    }
                    if batch > 0 {
                        self.send(&out)?;
                        self.sent += batch;
                        self.sh
                            .stats
                            .packets_sent
                            .fetch_add(batch, Ordering::Relaxed);
                        let sent = self.sent;
                        self.set_conn(|c| c.packets = sent);
                    }
                    if any_end && !windowed.is_empty() && windowed.is_subset(&done) {
                        return self.send(b"END");
                    }
                }
                RingRead::Idle => {
                    if fetch {
                        return self.send(b"END");
                    }
                }
                RingRead::Behind { first } => {
                    self.sh.stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(peer = %self.peer, at = cursor, oldest = first,
                        "SeedLink client dropped: it fell behind what the ring holds");
                    return Ok(());
                }
                RingRead::Closed => return Ok(()),
            }
        }
    }
}

/// The first request naming `station` (exact resumes come before the patterns).
fn request_for<'r>(requests: &'r [Request], station: &str) -> Option<&'r Request> {
    requests
        .iter()
        .find(|r| r.sel.as_ref().is_none_or(|s| s.matches_station(station)))
}

/// Whether `p` goes to this client: a request names its station and stream, it is at or
/// after where that station starts, and inside the request's time window (a packet past
/// the end marks the station done).
fn wanted(
    p: &Packet,
    requests: &[Request],
    from_gen: &mut BTreeMap<String, u64>,
    start_gen: u64,
    done: &mut BTreeSet<String>,
) -> bool {
    let st = &*p.station;
    let Some(r) = request_for(requests, st) else {
        return false;
    };
    let from = *from_gen.entry(st.to_string()).or_insert(start_gen);
    if p.gen < from || !r.sel.as_ref().is_none_or(|s| s.matches_stream(&p.sid)) {
        return false;
    }
    if r.end.is_some_and(|end| p.start >= end) {
        done.insert(st.to_string());
        return false;
    }
    r.start.is_none_or(|start| p.end > start)
}

enum Next {
    More,
    Bye,
    Stream { fetch: bool },
}
