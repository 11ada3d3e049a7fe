//! The `mseed` source: miniSEED files, directory trees and SDS archives
//! (`ROOT/YEAR/NET/STA/CHA.TYPE/NET.STA.LOC.CHA.TYPE.YEAR.DOY`), replayed as fast as possible
//! or at the speed they were recorded.
//!
//! Records are passed on as the bytes read, so nothing about them is lost or re-encoded. Files
//! are read as streams (64 KiB at a time), so an archive of any size replays in flat memory.
//! A corrupt record is logged with its file and byte offset, counted, and skipped; an
//! unreadable file likewise; the replay goes on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;

use super::{parse_time, sleep_until};
use crate::bus::DataKind;
use crate::bus::Payload;
use crate::formats::mseed::{OwnedRecord, RecordStream, StreamItem};
use crate::model::{Nanos, YearDayTime};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Bytes as Size, Flow, Need};
use crate::pipeline::summary::plural;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// An SDS tree when the path holds `YEAR/NET/STA/CHA.D` folders, otherwise files.
    #[default]
    Auto,
    /// Every file under the path, in name order.
    Files,
    /// An SDS archive: day files selected by `start`/`end` and `streams`, replayed day by day.
    Sds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speed {
    /// As fast as the rest of the pipeline takes it.
    #[default]
    Fast,
    /// Each record is sent when its last sample would have been recorded (times `speedup`),
    /// records of all files interleaved by time, like a live feed.
    Realtime,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MseedSourceConfig {
    /// A file, a directory or an SDS root (relative paths: from the working directory).
    pub path: PathBuf,
    #[serde(default)]
    pub layout: Layout,
    /// Only SDS day files from this day on (`2024-03-01` or a full ISO time).
    #[serde(default)]
    pub start: Option<String>,
    /// Only SDS day files before this time.
    #[serde(default)]
    pub end: Option<String>,
    /// Only these streams: `NET.STA.LOC.CHA` patterns with `*` and `?` (e.g. `FR.*.00.HH?`).
    #[serde(default)]
    pub streams: Vec<String>,
    #[serde(default)]
    pub speed: Speed,
    /// Replay speed factor for `speed = "realtime"`.
    #[serde(default = "one")]
    pub speedup: f64,
    /// A progress bar on a terminal.
    #[serde(default = "yes")]
    pub progress: bool,
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

type Fail = KeyError;

impl StageType for MseedSourceConfig {
    const NAME: &'static str = "mseed";
    const ROLE: Role = Role::Source;
    const ABOUT: &'static str =
        "miniSEED files, folders and SDS archives, as fast as possible or at recorded speed";
    const ACCEPTS: &'static [DataKind] = &[];
    const EMITS: Option<DataKind> = Some(DataKind::Records);
}

impl Component for MseedSourceConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        self.check_values()
    }

    fn check_here(&self) -> Result<(), KeyError> {
        self.check_path()
    }

    fn memory(&self, _: &Flow) -> Need {
        let files = self.files().unwrap_or_default();
        let scan = scan(&files);
        let open = match self.speed {
            Speed::Fast => 1,
            Speed::Realtime => files.len().max(1) as u64,
        };
        // Each open file: the 64 KiB read buffer and the decoder's (at most as much again,
        // plus one record).
        let per_file = 2 * READ_BUFFER + scan.record_bytes;
        Need::new(
            open * per_file,
            format!(
                "{open} open file{} x {}; {} stream{}, records up to {}{}",
                plural(open),
                Size(per_file),
                scan.streams,
                plural(scan.streams),
                Size(scan.record_bytes),
                scan.note
            ),
            Flow {
                message_bytes: scan.record_bytes,
                streams: scan.streams,
                channels: 1,
                rate_hz: scan.rate_hz,
            },
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::source(self, ctx.stage, |cfg, _, em| run(cfg, em)))
    }
}

/// The read buffer of each open file.
const READ_BUFFER: u64 = 64 * 1024;
/// Files whose first records are looked at for the memory estimate.
const SCAN_FILES: usize = 2000;

/// What the first records of the files say: streams, the longest record, the highest rate.
struct Scan {
    streams: u64,
    record_bytes: u64,
    rate_hz: f64,
    note: &'static str,
}

/// Reads the first 64 KiB of each file (of the first [`SCAN_FILES`]), as the replay will.
/// Without files (a processing host of a split pipeline) it assumes 4 KiB records of 1,000
/// streams at 100 Hz, and says so.
fn scan(files: &[PathBuf]) -> Scan {
    use std::io::Read;
    let mut ids = std::collections::HashSet::new();
    let (mut longest, mut rate) = (0usize, 0f64);
    let mut buf = vec![0; READ_BUFFER as usize];
    for f in files.iter().take(SCAN_FILES) {
        if let Some((stream, _, _)) = sds_day(f) {
            ids.insert(stream);
        }
        let Ok(mut file) = File::open(f) else {
            continue;
        };
        let n = file.read(&mut buf).unwrap_or(0);
        for r in crate::formats::mseed::RecordReader::new(&buf[..n]).flatten() {
            ids.insert(r.header.sid.as_str().to_string());
            longest = longest.max(r.header.record_length);
            rate = rate.max(r.header.rate.hz());
        }
    }
    if longest == 0 {
        return Scan {
            streams: 1000,
            record_bytes: 4096,
            rate_hz: 100.0,
            note: " (no files here: assumed)",
        };
    }
    Scan {
        streams: ids.len().max(1) as u64,
        record_bytes: longest as u64,
        rate_hz: rate,
        note: if files.len() > SCAN_FILES {
            " (first 2000 files)"
        } else {
            ""
        },
    }
}

impl MseedSourceConfig {
    fn check_values(&self) -> Result<(), Fail> {
        self.window()?;
        if !(self.speedup > 0.0 && self.speedup.is_finite()) {
            return Err((Some("speedup".into()), "must be a positive number".into()));
        }
        Ok(())
    }

    /// What only the host that runs the stage can check.
    fn check_path(&self) -> Result<(), Fail> {
        if self.path.exists() {
            Ok(())
        } else {
            Err((
                Some("path".into()),
                format!("{} does not exist", self.path.display()),
            ))
        }
    }

    fn window(&self) -> Result<(Option<Nanos>, Option<Nanos>), Fail> {
        let t = |v: &Option<String>, key: &str| match v {
            None => Ok(None),
            Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                (
                    Some(key.to_string()),
                    format!("{s:?} is not a date (2024-03-01) or time (2024-03-01T12:00:00Z)"),
                )
            }),
        };
        Ok((t(&self.start, "start")?, t(&self.end, "end")?))
    }

    /// The files to replay, in replay order.
    pub fn files(&self) -> Result<Vec<PathBuf>, Fail> {
        let (start, end) = self.window()?;
        let all = crate::paths::expand_paths(std::slice::from_ref(&self.path));
        let sds = match self.layout {
            Layout::Sds => true,
            Layout::Files => false,
            Layout::Auto => all.iter().take(64).any(|f| in_sds_tree(f)),
        };
        if !sds {
            return Ok(all);
        }
        let mut days: Vec<((i32, u16), PathBuf)> = all
            .into_iter()
            .filter_map(|f| {
                let (stream, year, doy) = sds_day(&f)?;
                let day0 = YearDayTime {
                    year,
                    doy,
                    hour: 0,
                    minute: 0,
                    second: 0,
                    nanosecond: 0,
                }
                .to_nanos();
                let day1 = day0 + 86_400_000_000_000;
                let in_time = start.is_none_or(|s| day1 > s) && end.is_none_or(|e| day0 < e);
                (in_time && self.wants(&stream)).then_some(((year, doy), f))
            })
            .collect();
        days.sort();
        Ok(days.into_iter().map(|(_, f)| f).collect())
    }

    fn wants(&self, seed_text: &str) -> bool {
        self.streams.is_empty() || self.streams.iter().any(|p| glob(p, seed_text))
    }
}

/// `NET.STA.LOC.CHA`, year and day of an SDS day file name `NET.STA.LOC.CHA.TYPE.YEAR.DOY`.
fn sds_day(path: &Path) -> Option<(String, i32, u16)> {
    let name = path.file_name()?.to_str()?;
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() != 7 || parts[4].len() != 1 || parts[5].len() != 4 || parts[6].len() != 3 {
        return None;
    }
    let year = parts[5].parse().ok()?;
    let doy: u16 = parts[6].parse().ok()?;
    (1..=366)
        .contains(&doy)
        .then(|| (parts[..4].join("."), year, doy))
}

/// Whether `path` sits where SDS puts a day file: `YEAR/NET/STA/CHA.TYPE/NET.STA.LOC.CHA.TYPE.YEAR.DOY`.
fn in_sds_tree(path: &Path) -> bool {
    let Some((stream, year, _)) = sds_day(path) else {
        return false;
    };
    let codes: Vec<&str> = stream.split('.').collect();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let kind = name.split('.').nth(4).unwrap_or("");
    let dirs: Vec<&str> = path
        .ancestors()
        .skip(1)
        .take(4)
        .filter_map(|a| a.file_name().and_then(|n| n.to_str()))
        .collect();
    dirs.len() == 4
        && dirs[0] == format!("{}.{kind}", codes[3])
        && dirs[1] == codes[1]
        && dirs[2] == codes[0]
        && dirs[3] == year.to_string()
}

/// Shell-style match with `*` and `?`.
pub fn glob(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// One open file of the replay.
struct Reader {
    path: PathBuf,
    records: RecordStream<File>,
    damage: Damage,
}

/// The damaged spans of one file: each logged at `debug`, the file summarised once at `warn`
/// when it has been read (a file broken in a thousand places is one line, not a thousand).
#[derive(Default)]
struct Damage {
    spans: u64,
    first: u64,
    last: u64,
    example: String,
    /// Records read despite an odd header (a start-time fraction of 10000), and the first.
    odd: u64,
    odd_example: String,
}

impl Reader {
    fn open(path: PathBuf) -> std::io::Result<Reader> {
        Ok(Reader {
            records: RecordStream::new(File::open(&path)?),
            path,
            damage: Damage::default(),
        })
    }

    /// The next good record; bad ones are logged and counted on the way.
    fn next(&mut self, out: &Emitter<'_>) -> Option<OwnedRecord> {
        loop {
            let Some(item) = self.records.next() else {
                self.summarise();
                return None;
            };
            match item {
                StreamItem::Record(r) => {
                    if let Some(w) = r.header.warnings.first() {
                        let d = &mut self.damage;
                        if d.odd == 0 {
                            d.odd_example = format!("byte {}: {w}", r.offset);
                        }
                        d.odd += 1;
                        tracing::debug!(file = %self.path.display(), offset = r.offset, "{w}");
                    }
                    return Some(r);
                }
                StreamItem::Bad(e) => {
                    out.metrics.dropped("corrupt_record", 1);
                    tracing::debug!(file = %self.path.display(), "skipped: {e}");
                    let d = &mut self.damage;
                    if d.spans == 0 {
                        d.first = e.offset;
                        d.example = e.to_string();
                    }
                    d.spans += 1;
                    d.last = e.offset;
                }
                StreamItem::Io(e) => {
                    out.metrics.dropped("io_error", 1);
                    tracing::error!(file = %self.path.display(), "read error, rest of file skipped: {e}");
                    self.summarise();
                    return None;
                }
            }
        }
    }

    fn summarise(&mut self) {
        let d = std::mem::take(&mut self.damage);
        if d.odd > 0 {
            tracing::warn!(file = %self.path.display(), "read {} record{} with an odd header, as ObsPy reads them (first: {})",
                d.odd, plural(d.odd), d.odd_example);
        }
        match d.spans {
            0 => {}
            1 => {
                tracing::warn!(file = %self.path.display(), "skipped 1 damaged span: {}", d.example)
            }
            n => tracing::warn!(
                file = %self.path.display(),
                "skipped {n} damaged spans between bytes {} and {} (first: {})",
                d.first,
                d.last,
                d.example
            ),
        }
    }
}

/// Replays the files into `out`.
pub fn run(cfg: &MseedSourceConfig, out: &mut Emitter<'_>) -> Result<(), StageError> {
    let files = cfg.files().map_err(|(_, m)| StageError::Other(m))?;
    let total: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let bar = (cfg.progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            b.set_style(style);
        }
        b
    });
    tracing::info!(files = files.len(), bytes = total, path = %cfg.path.display(), "replaying miniSEED");
    let mut readers = files
        .into_iter()
        .filter_map(|path| match Reader::open(path.clone()) {
            Ok(r) => Some(r),
            Err(e) => {
                out.metrics.dropped("io_error", 1);
                tracing::error!(file = %path.display(), "cannot open: {e}");
                None
            }
        });
    let send = |rec: OwnedRecord, out: &mut Emitter<'_>| -> Result<bool, StageError> {
        if let Some(b) = &bar {
            b.inc(rec.bytes.len() as u64);
        }
        if !cfg.wants(&rec.header.seed_text()) {
            out.metrics.dropped("not_selected", 1);
            return Ok(true);
        }
        let key = rec.header.sid.as_str().to_string();
        out.emit(&key, Payload::Record(Bytes::from(rec.bytes)))?;
        Ok(!out.stopping())
    };
    match cfg.speed {
        Speed::Fast => {
            'files: for mut r in readers.by_ref() {
                while let Some(rec) = r.next(out) {
                    if !send(rec, out)? {
                        break 'files;
                    }
                }
            }
        }
        Speed::Realtime => {
            // Merge all files by record time; send each record when its last sample is due.
            let mut open: Vec<Reader> = readers.collect();
            let mut heap = BinaryHeap::new();
            let mut pending: Vec<Option<OwnedRecord>> = Vec::with_capacity(open.len());
            for (i, r) in open.iter_mut().enumerate() {
                let rec = r.next(out);
                if let Some(rec) = &rec {
                    heap.push(Reverse((rec.header.start, i)));
                }
                pending.push(rec);
            }
            let mut clock: Option<(Nanos, Instant)> = None;
            while let Some(Reverse((_, i))) = heap.pop() {
                let Some(rec) = pending[i].take() else {
                    continue;
                };
                let h = &rec.header;
                let due = crate::model::sample_time(h.start, h.sample_count as i64, h.rate.hz());
                let (t0, w0) = *clock.get_or_insert((due, Instant::now()));
                let wait = ((due - t0).max(0) as f64 / cfg.speedup) as u64;
                if !sleep_until(w0 + Duration::from_nanos(wait), || out.stopping()) {
                    break;
                }
                if !send(rec, out)? {
                    break;
                }
                pending[i] = open[i].next(out);
                if let Some(r) = &pending[i] {
                    heap.push(Reverse((r.header.start, i)));
                }
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_sds_names() {
        assert!(glob("FR.*.00.HH?", "FR.CIEL.00.HHZ"));
        assert!(!glob("FR.*.00.HH?", "FR.CIEL.10.HHZ"));
        assert!(glob("*", ""));
        assert_eq!(
            sds_day(Path::new("/a/2024/FR/CIEL/HHZ.D/FR.CIEL.00.HHZ.D.2024.061")),
            Some(("FR.CIEL.00.HHZ".into(), 2024, 61))
        );
        assert_eq!(sds_day(Path::new("x.mseed")), None);
        assert!(in_sds_tree(Path::new(
            "/a/2024/FR/CIEL/HHZ.D/FR.CIEL.00.HHZ.D.2024.061"
        )));
        assert!(!in_sds_tree(Path::new("/a/FR.CIEL.00.HHZ.D.2024.061")));
    }
}
