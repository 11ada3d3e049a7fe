//! The server's ring: every packet served, in arrival order, bounded in bytes and in age,
//! with per-station sequence numbers that survive a restart.
//!
//! One log in arrival order (each packet numbered by a global generation `gen`) serves all
//! clients: a session keeps its place as a generation and reads on from it, filtering by
//! what it selected, so a new packet costs every waiting session one look, not a scan of
//! every station. Writers never wait for readers: a session that falls behind the oldest
//! packet still held is told so and dropped ([`Read::Behind`]), and the pipeline goes on.
//! A new packet wakes waiting sessions at once (a condition variable, no polling).
//!
//! On disk (`state_dir`): `ring.log`, every packet written there (with the input position it
//! came from) *before* any client can see it, fsynced at each sink sync and compacted when it
//! grows past twice the byte bound; and `ring.json`, the next sequence per station and the
//! input positions stored, replaced atomically at each sync. A restart reads both back: the
//! same packets under the same numbers (so clients resume by sequence across a server
//! restart), and the input positions of everything served (so what the bus delivers again
//! is recognised and skipped rather than served twice under new numbers).

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::wire::{split_sid, station_of};
use crate::bus::Position;
use crate::formats::mseed;
use crate::formats::mseed::record::Parsed;
use crate::model::{Nanos, SourceId};
use crate::pipeline::emit::StageError;
use crate::sinks::{replace_file, Positions};

/// One served record.
#[derive(Debug)]
pub struct Packet {
    /// Place in the ring's arrival order.
    pub gen: u64,
    /// Sequence number within its station (from 1).
    pub seq: u64,
    /// `NET_STA`.
    pub station: Arc<str>,
    /// `LOC_B_S_SS`.
    pub stream: String,
    pub sid: SourceId,
    pub start: Nanos,
    /// Time after the last sample.
    pub end: Nanos,
    /// miniSEED version as the v4 format byte (`2`, `3`).
    pub format: u8,
    pub record: Bytes,
    /// Wall clock when the ring took it.
    pub arrived: Nanos,
}

/// What the ring keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    /// Packets that arrived longer ago than this are let go.
    pub max_age_ns: Nanos,
}

/// Per station: the packets held and what comes next.
#[derive(Debug, Default)]
pub struct StationState {
    pub next_seq: u64,
    /// (seq, gen) of every packet held, oldest first.
    pub held: VecDeque<(u64, u64)>,
    pub streams: BTreeMap<String, (Nanos, Nanos)>,
}

#[derive(Default)]
pub struct Inner {
    pub log: VecDeque<Arc<Packet>>,
    pub next_gen: u64,
    pub bytes: usize,
    pub stations: BTreeMap<Arc<str>, StationState>,
    pub closed: bool,
    /// Bumped when a session's client sends something, to wake its writer.
    pub pokes: u64,
}

impl Inner {
    pub fn first_gen(&self) -> u64 {
        self.log.front().map_or(self.next_gen, |p| p.gen)
    }

    /// The generation of a station's packet with this sequence number, or of the first one
    /// after it; `v3`: the number is the low 24 bits only.
    pub fn gen_of_seq(&self, station: &str, seq: u64, v3: bool) -> Option<u64> {
        let st = self.stations.get(station)?;
        if v3 {
            let m = seq & 0xFF_FFFF;
            st.held
                .iter()
                .rev()
                .find(|(s, _)| s & 0xFF_FFFF == m)
                .map(|&(_, g)| g)
        } else {
            st.held.iter().find(|(s, _)| *s >= seq).map(|&(_, g)| g)
        }
    }
}

/// What a session finds when it reads on from its place.
pub enum Read {
    Packets(Vec<Arc<Packet>>),
    /// Its place was let go: the client is too slow.
    Behind {
        first: u64,
    },
    /// Nothing new within the wait.
    Idle,
    Closed,
}

pub struct Ring {
    inner: Mutex<Inner>,
    wake: Condvar,
    limits: Limits,
    disk: Mutex<Option<Disk>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    next_seq: BTreeMap<String, u64>,
    #[serde(default)]
    positions: Positions,
}

struct Disk {
    dir: PathBuf,
    /// Unbuffered: each packet reaches the OS before a client may see it, so a killed
    /// process loses nothing it served.
    log: File,
    log_bytes: u64,
    positions: Positions,
}

impl Ring {
    pub fn new(limits: Limits) -> Ring {
        Ring {
            inner: Mutex::new(Inner::default()),
            wake: Condvar::new(),
            limits,
            disk: Mutex::new(None),
        }
    }

    /// A ring kept in `dir`: what a previous run left there is read back first.
    pub fn open(limits: Limits, dir: &Path) -> Result<Ring, StageError> {
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |e| StageError::io(p, e)
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let ring = Ring::new(limits);
        let saved_path = dir.join("ring.json");
        let saved: Saved = match std::fs::read(&saved_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                StageError::Other(format!("{}: not a ring state: {e}", saved_path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => return Err(StageError::io(saved_path.display(), e)),
        };
        let log_path = dir.join("ring.log");
        let mut bytes = Vec::new();
        if let Ok(mut f) = File::open(&log_path) {
            f.read_to_end(&mut bytes).map_err(io(&log_path))?;
        }
        let mut restored = 0usize;
        let mut log_positions = Positions::default();
        {
            let mut g = ring.lock();
            let mut at = 0;
            while let Some((seq, arrived, pos, rec, used)) = read_entry(&bytes[at..]) {
                at += used;
                if let Some((log, next)) = pos {
                    log_positions.advance(&log, next);
                }
                if let Some(p) = describe(rec) {
                    g.restore(p, seq, arrived);
                    g.evict(&limits, crate::model::now());
                    restored += 1;
                }
            }
            if at < bytes.len() {
                tracing::warn!(file = %log_path.display(), offset = at, bytes = bytes.len() - at,
                    "ring log ends in a partial entry (a crash while writing): dropped");
            }
            for (st, next) in &saved.next_seq {
                let s = g.stations.entry(Arc::from(st.as_str())).or_default();
                s.next_seq = s.next_seq.max(*next);
            }
        }
        if restored > 0 {
            tracing::info!(dir = %dir.display(), packets = restored, "SeedLink ring read back");
        }
        let mut positions = saved.positions;
        positions.merge(&log_positions);
        // Rewrite the log with what is held (drops the evicted and any partial tail); the
        // positions go into its first entry.
        *ring.disk.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let log_bytes = ring.rewrite_log(&log_path, &positions)?;
        let log = OpenOptions::new()
            .append(true)
            .open(&log_path)
            .map_err(io(&log_path))?;
        *ring.disk.lock().unwrap_or_else(|e| e.into_inner()) = Some(Disk {
            dir: dir.to_path_buf(),
            log,
            log_bytes,
            positions,
        });
        Ok(ring)
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when this Kafka message was stored before a crash (re-delivered): skip it.
    /// Otherwise it counts as stored from now on.
    pub fn already_stored(&self, m: &crate::bus::Message) -> bool {
        let mut d = self.disk.lock().unwrap_or_else(|e| e.into_inner());
        d.as_mut().is_some_and(|d| d.positions.already_stored(m))
    }

    /// Adds one miniSEED record (from input position `from`, kept in the log); returns its
    /// packet, or `None` when it is not a record.
    pub fn push(
        &self,
        record: Bytes,
        from: Option<&Position>,
    ) -> Result<Option<Arc<Packet>>, StageError> {
        let Some(desc) = describe(record) else {
            return Ok(None);
        };
        let arrived = crate::model::now();
        // The sequence number is taken under the ring's lock, but the log is written before
        // the packet is visible: a session can never send what a crash would forget.
        // Locks in one order everywhere: the disk, then the ring.
        let mut disk = self.disk.lock().unwrap_or_else(|e| e.into_inner());
        let mut g = self.lock();
        let seq = g
            .stations
            .get(&desc.station)
            .map_or(1, |s| s.next_seq.max(1));
        if let Some(d) = disk.as_mut() {
            let path = d.dir.join("ring.log");
            let pos = from.map(|p| (p.log(), p.offset + 1));
            let entry = entry_bytes(seq, arrived, pos.as_ref(), &desc.record);
            d.log
                .write_all(&entry)
                .map_err(|e| StageError::io(path.display(), e))?;
            d.log_bytes += entry.len() as u64;
        }
        let p = g.restore(desc, seq, arrived);
        g.evict(&self.limits, arrived);
        drop(g);
        drop(disk);
        self.wake.notify_all();
        Ok(Some(p))
    }

    /// Makes the ring durable: the log flushed and fsynced (compacted when it has grown past
    /// twice the byte bound), then the sequence state replaced.
    pub fn sync(&self) -> Result<(), StageError> {
        let mut d = self.disk.lock().unwrap_or_else(|e| e.into_inner());
        let Some(d) = d.as_mut() else {
            return Ok(());
        };
        let log_path = d.dir.join("ring.log");
        let io = |e| StageError::io(log_path.display(), e);
        d.log.sync_data().map_err(io)?;
        if d.log_bytes > 2 * self.limits.max_bytes as u64 + (1 << 20) {
            d.log_bytes = self.rewrite_log(&log_path, &d.positions)?;
            d.log = OpenOptions::new()
                .append(true)
                .open(&log_path)
                .map_err(io)?;
        }
        let saved = Saved {
            next_seq: self
                .lock()
                .stations
                .iter()
                .map(|(k, v)| (k.to_string(), v.next_seq))
                .collect(),
            positions: d.positions.clone(),
        };
        let json = serde_json::to_vec(&saved).map_err(|e| StageError::Other(e.to_string()))?;
        replace_file(&d.dir.join("ring.json"), &json)
    }

    /// Replaces the log with the packets held, the stored positions in front (as entries
    /// without a record): written entry by entry to a temporary file (no copy of the ring in
    /// memory), fsynced, renamed over the old log.
    fn rewrite_log(&self, path: &Path, positions: &Positions) -> Result<u64, StageError> {
        let tmp = path.with_extension("log.tmp");
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |e| StageError::io(p, e)
        };
        let mut w = std::io::BufWriter::new(File::create(&tmp).map_err(io(&tmp))?);
        let mut n = 0u64;
        for (log, next) in positions.iter() {
            let e = entry_bytes(0, 0, Some(&(log.clone(), *next)), &[]);
            w.write_all(&e).map_err(io(&tmp))?;
            n += e.len() as u64;
        }
        let packets: Vec<Arc<Packet>> = self.lock().log.iter().cloned().collect();
        for p in packets {
            let e = entry_bytes(p.seq, p.arrived, None, &p.record);
            w.write_all(&e).map_err(io(&tmp))?;
            n += e.len() as u64;
        }
        let f = w
            .into_inner()
            .map_err(|e| StageError::io(tmp.display(), e.into_error()))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(dir))?;
        }
        Ok(n)
    }

    /// Wakes every waiting session (a client sent a command; the pipeline is stopping).
    pub fn poke(&self) {
        self.lock().pokes += 1;
        self.wake.notify_all();
    }

    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// Packets from generation `from` on (at most `max`), waiting up to `wait` for one;
    /// returns early (idle) when a session is poked.
    pub fn read(&self, from: u64, max: usize, wait: Duration) -> Read {
        let deadline = std::time::Instant::now() + wait;
        let mut g = self.lock();
        let pokes = g.pokes;
        loop {
            if from < g.first_gen() {
                return Read::Behind {
                    first: g.first_gen(),
                };
            }
            if from < g.next_gen {
                let i = (from - g.first_gen()) as usize;
                return Read::Packets(g.log.range(i..).take(max).cloned().collect());
            }
            if g.closed {
                return Read::Closed;
            }
            let now = std::time::Instant::now();
            if g.pokes != pokes || now >= deadline {
                return Read::Idle;
            }
            g = self
                .wake
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Inner {
    fn restore(&mut self, d: Described, seq: u64, arrived: Nanos) -> Arc<Packet> {
        let gen = self.next_gen;
        self.next_gen += 1;
        let p = Arc::new(Packet {
            gen,
            seq,
            station: d.station.clone(),
            stream: d.stream,
            sid: d.sid,
            start: d.start,
            end: d.end,
            format: d.format,
            record: d.record,
            arrived,
        });
        let st = self.stations.entry(d.station).or_default();
        st.next_seq = st.next_seq.max(seq + 1);
        st.held.push_back((seq, gen));
        let span = st
            .streams
            .entry(p.stream.clone())
            .or_insert((p.start, p.end));
        span.0 = span.0.min(p.start);
        span.1 = span.1.max(p.end);
        self.bytes += p.record.len();
        self.log.push_back(p.clone());
        p
    }

    fn evict(&mut self, l: &Limits, now: Nanos) {
        while let Some(front) = self.log.front() {
            let old = now - front.arrived > l.max_age_ns;
            if self.bytes <= l.max_bytes && !old || self.log.len() == 1 {
                break;
            }
            let p = self.log.pop_front().expect("front exists");
            self.bytes -= p.record.len();
            if let Some(st) = self.stations.get_mut(&p.station) {
                st.held.pop_front();
                // The stream's next packet starts about where this one ended.
                if let Some(span) = st.streams.get_mut(&p.stream) {
                    span.0 = span.0.max(p.end);
                    if span.0 >= span.1 {
                        st.streams.remove(&p.stream);
                    }
                }
            }
        }
    }
}

/// What the ring needs to know of a record.
struct Described {
    station: Arc<str>,
    stream: String,
    sid: SourceId,
    start: Nanos,
    end: Nanos,
    format: u8,
    record: Bytes,
}

fn describe(record: Bytes) -> Option<Described> {
    let h = match mseed::parse_record(&record, true) {
        Ok(Parsed::Record(h)) => h,
        _ => return None,
    };
    let end = match h.rate.period_ns() {
        Some(p) => h.start + (p * h.sample_count as f64).round() as Nanos,
        None => h.start,
    };
    let (_, _, stream) = split_sid(&h.sid);
    Some(Described {
        station: Arc::from(station_of(&h.sid)),
        stream: stream.to_string(),
        start: h.start,
        end,
        format: b'0' + h.format_version,
        sid: h.sid,
        record,
    })
}

/// A log entry: record length (u32), sequence (u64), arrival (i64), position text length
/// (u16) and text (`topic/partition`), next offset (i64, only with a position), the record.
fn entry_bytes(seq: u64, arrived: Nanos, pos: Option<&(String, i64)>, record: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(40 + record.len());
    e.extend_from_slice(&(record.len() as u32).to_le_bytes());
    e.extend_from_slice(&seq.to_le_bytes());
    e.extend_from_slice(&arrived.to_le_bytes());
    match pos {
        Some((log, next)) => {
            e.extend_from_slice(&(log.len() as u16).to_le_bytes());
            e.extend_from_slice(log.as_bytes());
            e.extend_from_slice(&next.to_le_bytes());
        }
        None => e.extend_from_slice(&0u16.to_le_bytes()),
    }
    e.extend_from_slice(record);
    e
}

type Entry = (u64, Nanos, Option<(String, i64)>, Bytes, usize);

fn read_entry(b: &[u8]) -> Option<Entry> {
    let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let seq = u64::from_le_bytes(b.get(4..12)?.try_into().ok()?);
    let arrived = i64::from_le_bytes(b.get(12..20)?.try_into().ok()?);
    let plen = u16::from_le_bytes(b.get(20..22)?.try_into().ok()?) as usize;
    let mut at = 22;
    let pos = if plen > 0 {
        let log = std::str::from_utf8(b.get(at..at + plen)?).ok()?.to_string();
        let next = i64::from_le_bytes(b.get(at + plen..at + plen + 8)?.try_into().ok()?);
        at += plen + 8;
        Some((log, next))
    } else {
        None
    };
    let rec = b.get(at..at + len)?;
    Some((seq, arrived, pos, Bytes::copy_from_slice(rec), at + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::mseed::{encode, EncodeOptions, Samples};
    use crate::model::SampleRate;

    fn record(sta: &str, i: i64) -> Bytes {
        let sid = SourceId::from_codes("XX", sta, "00", "HHZ");
        let opts = EncodeOptions {
            record_length: 512,
            ..Default::default()
        };
        let t = 1_700_000_000_000_000_000 + i * 1_000_000_000;
        let s = Samples::Int((0..100).collect());
        Bytes::from(
            encode(&sid, t, SampleRate(100.0), &s, &opts)
                .unwrap()
                .remove(0),
        )
    }

    #[test]
    fn bounded_numbered_per_station_and_slow_readers_fall_behind() {
        let ring = Ring::new(Limits {
            max_bytes: 10 * 512,
            max_age_ns: i64::MAX,
        });
        for i in 0..30 {
            let p = ring
                .push(record(if i % 2 == 0 { "A" } else { "B" }, i), None)
                .unwrap()
                .unwrap();
            assert_eq!(p.seq, i as u64 / 2 + 1, "numbered per station from 1");
        }
        let g = ring.lock();
        assert_eq!((g.log.len(), g.bytes), (10, 10 * 512));
        assert_eq!(g.first_gen(), 20);
        assert_eq!(g.gen_of_seq("XX_A", 12, false), Some(22));
        assert_eq!(
            g.gen_of_seq("XX_A", 3, false),
            Some(20),
            "older than held: the oldest"
        );
        drop(g);
        // A reader still at generation 5 was let go; one at the front reads on.
        assert!(matches!(
            ring.read(5, 10, Duration::ZERO),
            Read::Behind { first: 20 }
        ));
        assert!(matches!(ring.read(20, 4, Duration::ZERO), Read::Packets(p) if p.len() == 4));
        assert!(matches!(
            ring.read(30, 4, Duration::from_millis(10)),
            Read::Idle
        ));
    }

    #[test]
    fn a_reopened_ring_has_the_same_packets_numbers_and_positions() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_bytes: 1 << 20,
            max_age_ns: i64::MAX,
        };
        let pos = |o| Position {
            topic: "t".into(),
            partition: 0,
            offset: o,
        };
        {
            let ring = Ring::open(limits, dir.path()).unwrap();
            for i in 0..5 {
                ring.push(record("A", i), Some(&pos(i))).unwrap();
            }
            // No sync: a killed process leaves only what reached the log.
        }
        let ring = Ring::open(limits, dir.path()).unwrap();
        let m = |o| crate::bus::Message {
            key: "k".into(),
            payload: crate::bus::Payload::Record(Bytes::new()),
            position: Some(pos(o)),
        };
        assert!(ring.already_stored(&m(4)), "re-delivered: skipped");
        assert!(!ring.already_stored(&m(5)));
        let p = ring.push(record("A", 5), Some(&pos(5))).unwrap().unwrap();
        assert_eq!(p.seq, 6);
        assert_eq!(ring.lock().log.len(), 6);
    }
}
