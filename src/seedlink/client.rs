//! A SeedLink client connection (v3 and v4): connect with its own timeout, HELLO and the
//! protocol choice, stream negotiation with per-station resume, then frames with keepalives
//! and stall detection.
//!
//! Blocking sockets on the source's own thread: reads wait at most a fraction of a second,
//! so a new packet is handed on as soon as it arrives (no sleep on an empty socket, the
//! latency ObsPy's client adds), and the stall clock is checked between reads.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::info;
use super::select::{by_station, Pattern};
use super::wire::{find_eol, line_end, Frame, FrameReader, Version, WireError, MAX_LINE};
use crate::model::Nanos;

/// Which protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub enum Protocol {
    /// The highest the server's HELLO offers.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "3")]
    V3,
    #[serde(rename = "4")]
    V4,
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub server: String,
    pub protocol: Protocol,
    pub connect_timeout: Duration,
    /// No packet and no keepalive answer for this long: the connection is dead.
    pub stall_timeout: Duration,
    /// Quiet for this long: ask `INFO ID` to see whether the server is still there.
    pub keepalive: Duration,
    pub useragent: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{server}: cannot connect: {message}")]
    Connect { server: String, message: String },
    #[error("{server}: {message}")]
    Io { server: String, message: String },
    #[error("{server}: no packet and no keepalive answer for {secs:.0} s: stalled")]
    Stalled { server: String, secs: f64 },
    #[error("{server}: malformed data after station {station} sequence {seq}: {error}")]
    Malformed {
        server: String,
        station: String,
        seq: String,
        error: WireError,
    },
    #[error("{server}: refused {command:?}: {reply}")]
    Refused {
        server: String,
        command: String,
        reply: String,
    },
    #[error("{server}: the server closed the connection")]
    Closed { server: String },
}

/// What reading on gives.
#[derive(Debug)]
pub enum Event {
    Packet {
        seq: u64,
        station: String,
        payload: Vec<u8>,
    },
    /// The server ended the session (fetch done, time windows complete).
    End,
}

/// The server's HELLO: its id, its organisation line, its capabilities.
#[derive(Debug, Clone, Default)]
pub struct Hello {
    pub server_id: String,
    pub organization: String,
    pub capabilities: Vec<String>,
}

impl Hello {
    pub fn offers_v4(&self) -> bool {
        self.capabilities.iter().any(|c| c.starts_with("SLPROTO:4"))
    }
}

pub struct Connection {
    stream: TcpStream,
    server: String,
    pub version: Version,
    pub hello: Hello,
    reader: FrameReader,
    line_buf: Vec<u8>,
    last_rx: Instant,
    keepalive_sent: Option<Instant>,
    opts: ClientOptions,
    last_station: String,
    last_seq: String,
}

impl Connection {
    /// Connects, says HELLO and settles the protocol.
    pub fn open(opts: &ClientOptions) -> Result<Connection, ClientError> {
        let server = opts.server.clone();
        let err = |m: String| ClientError::Connect {
            server: server.clone(),
            message: m,
        };
        let addrs: Vec<_> = opts
            .server
            .to_socket_addrs()
            .map_err(|e| err(e.to_string()))?
            .collect();
        let mut last = String::from("no address");
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, opts.connect_timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("{a}: {e}"),
            }
        }
        let stream = stream.ok_or_else(|| err(last))?;
        let _ = stream.set_nodelay(true);
        stream
            .set_write_timeout(Some(opts.stall_timeout))
            .map_err(|e| err(e.to_string()))?;
        let mut c = Connection {
            stream,
            server: opts.server.clone(),
            version: Version::V3,
            hello: Hello::default(),
            reader: FrameReader::new(Version::V3),
            line_buf: Vec::new(),
            last_rx: Instant::now(),
            keepalive_sent: None,
            opts: opts.clone(),
            last_station: "-".into(),
            last_seq: "-".into(),
        };
        c.send("HELLO")?;
        let l1 = c.line()?;
        let l2 = c.line()?;
        let (id, caps) = l1.split_once("::").unwrap_or((&l1, ""));
        c.hello = Hello {
            server_id: id.trim().to_string(),
            organization: l2.trim().to_string(),
            capabilities: caps.split_whitespace().map(String::from).collect(),
        };
        let v4 = match opts.protocol {
            Protocol::Auto => c.hello.offers_v4(),
            Protocol::V4 if !c.hello.offers_v4() => {
                return Err(c.refused("SLPROTO 4.0", "the server does not offer protocol 4"))
            }
            Protocol::V4 => true,
            Protocol::V3 => false,
        };
        if v4 {
            c.command("SLPROTO 4.0")?;
            c.version = Version::V4;
            c.reader = FrameReader::new(Version::V4);
            let ua = opts.useragent.clone();
            c.command(&format!("USERAGENT {ua}"))?;
        } else if c.hello.capabilities.iter().any(|x| x == "CAP") {
            c.command("CAPABILITIES EXTREPLY")?;
        }
        Ok(c)
    }

    fn refused(&self, command: &str, reply: &str) -> ClientError {
        ClientError::Refused {
            server: self.server.clone(),
            command: command.to_string(),
            reply: reply.to_string(),
        }
    }

    fn io(&self, e: impl std::fmt::Display) -> ClientError {
        ClientError::Io {
            server: self.server.clone(),
            message: e.to_string(),
        }
    }

    fn send(&mut self, line: &str) -> Result<(), ClientError> {
        let mut b = line.as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.stream.write_all(&b).map_err(|e| self.io(e))
    }

    /// One reply line, within the stall timeout.
    fn line(&mut self) -> Result<String, ClientError> {
        let deadline = Instant::now() + self.opts.stall_timeout;
        loop {
            if let Some(end) = find_eol(&self.line_buf) {
                let l = String::from_utf8_lossy(&self.line_buf[..end]).to_string();
                let used = line_end(&self.line_buf, end);
                self.line_buf.drain(..used);
                return Ok(l);
            }
            if self.line_buf.len() > MAX_LINE {
                return Err(self.io("reply line too long"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClientError::Stalled {
                    server: self.server.clone(),
                    secs: self.opts.stall_timeout.as_secs_f64(),
                });
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| self.io(e))?;
            let mut b = [0u8; 1024];
            match self.stream.read(&mut b) {
                Ok(0) => {
                    return Err(ClientError::Closed {
                        server: self.server.clone(),
                    })
                }
                Ok(n) => self.line_buf.extend_from_slice(&b[..n]),
                Err(e) if timed_out(&e) => {}
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    /// Sends a command and wants `OK`.
    fn command(&mut self, cmd: &str) -> Result<(), ClientError> {
        self.send(cmd)?;
        let r = self.line()?;
        if r.starts_with("OK") {
            Ok(())
        } else {
            Err(self.refused(cmd, r.trim()))
        }
    }

    /// Sends a command whose refusal is logged, not fatal (a v3 STATION the server does not
    /// have). Returns whether it was accepted.
    fn try_command(&mut self, cmd: &str) -> Result<bool, ClientError> {
        self.send(cmd)?;
        let r = self.line()?;
        if r.starts_with("OK") {
            return Ok(true);
        }
        tracing::warn!(server = %self.server, command = cmd, reply = r.trim(), "SeedLink server refused a command");
        Ok(false)
    }

    /// `INFO level` before streaming: the whole reply text (v3 XML, v4 JSON).
    pub fn info(&mut self, level: &str) -> Result<String, ClientError> {
        self.send(&format!("INFO {level}"))?;
        self.last_rx = Instant::now();
        if !self.line_buf.is_empty() {
            let b = std::mem::take(&mut self.line_buf);
            self.reader.push(&b);
        }
        let mut text = String::new();
        loop {
            match self.next_frame(false)? {
                Some(Frame::Info {
                    text: t,
                    more,
                    error,
                }) => {
                    if error {
                        return Err(self.refused(&format!("INFO {level}"), &t));
                    }
                    text.push_str(&t);
                    if !more {
                        return Ok(text);
                    }
                }
                Some(Frame::Error(e)) => return Err(self.refused(&format!("INFO {level}"), &e)),
                Some(_) => {}
                None => {}
            }
        }
    }

    /// Selects the streams and starts them: per station in `resume` (exact ids) its next
    /// sequence; the patterns for everything else, from `start` (or new data only).
    pub fn start(
        &mut self,
        patterns: &[Pattern],
        resume: &BTreeMap<String, u64>,
        start: Option<Nanos>,
        end: Option<Nanos>,
        fetch: bool,
    ) -> Result<(), ClientError> {
        let v4 = self.version == Version::V4;
        let mut accepted = 0;
        let mut groups: Vec<(String, Vec<Pattern>, Option<u64>)> = Vec::new();
        for (st, seq) in resume {
            let pats: Vec<Pattern> = patterns
                .iter()
                .filter(|p| super::select::glob(&p.station, st))
                .map(|p| Pattern {
                    station: st.clone(),
                    stream: p.stream.clone(),
                })
                .collect();
            if !pats.is_empty() {
                groups.push((st.clone(), pats, Some(seq + 1)));
            }
        }
        for (st, pats) in by_station(patterns) {
            if !resume.contains_key(&st) {
                groups.push((st, pats, None));
            }
        }
        for (st, pats, seq) in &groups {
            let p0 = &pats[0];
            let station_cmd = if v4 {
                format!("STATION {st}")
            } else {
                format!("STATION {}", p0.v3_station())
            };
            if !self.try_command(&station_cmd)? {
                continue;
            }
            for p in pats {
                let sel = if v4 {
                    p.stream.clone()
                } else {
                    p.v3_select().map_err(|e| self.refused("SELECT", &e))?
                };
                if let Some(s) = sel {
                    self.command(&format!("SELECT {s}"))?;
                }
            }
            let action = match (v4, seq, start) {
                (true, Some(s), _) => match end {
                    Some(e) => format!(
                        "DATA {s} {} {}",
                        info::format_v4_time(start.unwrap_or(0)),
                        info::format_v4_time(e)
                    ),
                    None => format!("DATA {s}"),
                },
                (true, None, Some(t)) => match end {
                    Some(e) => format!(
                        "DATA ALL {} {}",
                        info::format_v4_time(t),
                        info::format_v4_time(e)
                    ),
                    None => format!("DATA ALL {}", info::format_v4_time(t)),
                },
                (true, None, None) if fetch => "DATA ALL".to_string(),
                (true, None, None) => "DATA".to_string(),
                (false, Some(s), _) => format!(
                    "{} {:06X}",
                    if fetch { "FETCH" } else { "DATA" },
                    s & 0xFF_FFFF
                ),
                (false, None, Some(t)) => match end {
                    Some(e) => format!(
                        "TIME {} {}",
                        info::format_v3_time(t),
                        info::format_v3_time(e)
                    ),
                    None => format!("TIME {}", info::format_v3_time(t)),
                },
                (false, None, None) => (if fetch { "FETCH" } else { "DATA" }).to_string(),
            };
            self.command(&action)?;
            accepted += 1;
        }
        if accepted == 0 {
            return Err(self.refused("STATION", "no station was accepted"));
        }
        self.send(if fetch && v4 { "ENDFETCH" } else { "END" })?;
        let b = std::mem::take(&mut self.line_buf);
        self.reader.push(&b);
        self.last_rx = Instant::now();
        Ok(())
    }

    /// The next data packet or the end, sending keepalives when quiet and failing when the
    /// server has stalled. `Ok(None)`: nothing yet (returns within about 200 ms).
    pub fn next_event(&mut self) -> Result<Option<Event>, ClientError> {
        loop {
            match self.next_frame(true)? {
                Some(Frame::Data {
                    seq,
                    station,
                    payload,
                    ..
                }) => {
                    self.last_station.clone_from(&station);
                    self.last_seq = seq.to_string();
                    return Ok(Some(Event::Packet {
                        seq,
                        station,
                        payload,
                    }));
                }
                Some(Frame::Info { .. }) => continue,
                Some(Frame::End) => return Ok(Some(Event::End)),
                Some(Frame::Error(e)) => return Err(self.refused("(streaming)", &e)),
                None => return Ok(None),
            }
        }
    }

    /// Reads until a frame is whole; `None` after one quiet read when `poll`.
    fn next_frame(&mut self, poll: bool) -> Result<Option<Frame>, ClientError> {
        loop {
            match self.reader.next_frame() {
                Ok(Some(f)) => return Ok(Some(f)),
                Ok(None) => {}
                Err(error) => {
                    return Err(ClientError::Malformed {
                        server: self.server.clone(),
                        station: self.last_station.clone(),
                        seq: self.last_seq.clone(),
                        error,
                    })
                }
            }
            let quiet = self.last_rx.elapsed();
            if quiet >= self.opts.stall_timeout {
                return Err(ClientError::Stalled {
                    server: self.server.clone(),
                    secs: quiet.as_secs_f64(),
                });
            }
            if quiet >= self.opts.keepalive
                && self
                    .keepalive_sent
                    .is_none_or(|t| t.elapsed() >= self.opts.keepalive)
            {
                self.send("INFO ID")?;
                self.keepalive_sent = Some(Instant::now());
            }
            self.stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .map_err(|e| self.io(e))?;
            let mut b = [0u8; 64 * 1024];
            match self.stream.read(&mut b) {
                Ok(0) => {
                    return Err(ClientError::Closed {
                        server: self.server.clone(),
                    })
                }
                Ok(n) => {
                    self.reader.push(&b[..n]);
                    self.last_rx = Instant::now();
                    self.keepalive_sent = None;
                }
                Err(e) if timed_out(&e) => {
                    if poll {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    /// Says BYE (best effort) and closes.
    pub fn close(mut self) {
        let _ = self.send("BYE");
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// `seisreduce seedlink info`: connects, asks INFO `level`, returns the reply text.
pub fn query_info(
    server: &str,
    level: &str,
    protocol: &str,
    timeout_s: f64,
) -> Result<String, ClientError> {
    let t = Duration::from_secs_f64(timeout_s.max(0.1));
    let opts = ClientOptions {
        server: server.to_string(),
        protocol: match protocol {
            "3" => Protocol::V3,
            "4" => Protocol::V4,
            _ => Protocol::Auto,
        },
        connect_timeout: t,
        stall_timeout: t,
        keepalive: t,
        useragent: format!("seisreduce/{}", env!("CARGO_PKG_VERSION")),
    };
    let mut c = Connection::open(&opts)?;
    let text = c.info(&level.to_ascii_uppercase())?;
    c.close();
    Ok(text)
}
