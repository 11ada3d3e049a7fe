//! The `mseed` sink: a miniSEED archive in SDS layout
//! (`ROOT/YEAR/NET/STA/CHA.D/NET.STA.LOC.CHA.D.YEAR.DOY`), which ObsPy, SeisComP and every
//! FDSN data centre read.
//!
//! Records arrive as bytes and are appended as they are; sample blocks are encoded (FLOAT32 by
//! default, any writable encoding by choice) and filled to whole records across blocks
//! ([`Packer`]): the samples waiting for a record's worth are kept in the checkpoint, so a
//! block of a few samples never becomes a short record, not even across a restart (FLOAT64
//! blocks are encoded block by block). Exactly once across crashes: the sink keeps a
//! checkpoint (`.seisreduce/STAGE.checkpoint.json` under its root) holding the length of every
//! file it writes and, for each Kafka partition, the next offset it has not stored. A sync
//! fsyncs the files, then replaces the checkpoint atomically (write, fsync, rename, fsync the
//! folder); only then are offsets committed to Kafka. On restart, files are cut back to their
//! checkpointed lengths, files created after the checkpoint are removed, and messages below
//! the checkpointed offsets (re-delivered because the commit did not happen) are skipped.

mod day_files;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{replace_file, Positions, Sink, SinkReport};
use crate::bus::{DataKind, Message, Payload};
use crate::formats::mseed::pack::{Packer, Pending};
use crate::formats::mseed::{encode, EncodeOptions, Encoding, RecordReader, Samples};
use crate::model::{Nanos, SourceId, YearDayTime};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Bytes, Flow, Need};
use crate::pipeline::summary::plural;
use crate::telemetry::metrics::StageMetrics;

use self::day_files::{DayFiles, FILE_BUFFER, MAX_BUFFERED, MAX_OPEN};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// Archive root; relative paths are under the storage root of the settings.
    pub path: PathBuf,
    /// Encoding of sample blocks (records are stored as received).
    #[serde(default = "float32")]
    pub encoding: String,
    #[serde(default = "reclen")]
    pub record_length: usize,
    /// miniSEED version of encoded blocks, 2 or 3.
    #[serde(default = "two")]
    pub format_version: u8,
    /// Seconds between syncs (each sync is followed by a Kafka offset commit).
    #[serde(default = "one")]
    pub commit_interval_s: f64,
}

fn float32() -> String {
    "FLOAT32".into()
}
fn reclen() -> usize {
    512
}
fn two() -> u8 {
    2
}
fn one() -> f64 {
    1.0
}

impl StageType for ArchiveConfig {
    const NAME: &'static str = "mseed";
    const ROLE: Role = Role::Sink;
    const ABOUT: &'static str =
        "an SDS miniSEED archive, exactly once across crashes (records as received, blocks encoded)";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Records, DataKind::Samples];
    const EMITS: Option<DataKind> = None;
}

impl Component for ArchiveConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        let bad = |k: &str, m: String| Err((Some(k.to_string()), m));
        let Some(enc) = Encoding::from_name(&self.encoding) else {
            return bad(
                "encoding",
                format!(
                    "{:?}: use STEIM1, STEIM2, INT16, INT32, FLOAT32 or FLOAT64",
                    self.encoding
                ),
            );
        };
        if matches!(
            enc,
            Encoding::Steim1 | Encoding::Steim2 | Encoding::Int16 | Encoding::Int32
        ) {
            tracing::debug!(
                "sample blocks will be rounded to integers for {}",
                self.encoding
            );
        }
        if !matches!(self.format_version, 2 | 3) {
            return bad("format_version", "must be 2 or 3".into());
        }
        if !(256..=8192).contains(&self.record_length) || !self.record_length.is_power_of_two() {
            return bad(
                "record_length",
                "must be a power of two from 256 to 8192".into(),
            );
        }
        if !self.commit_interval_s.is_finite() || self.commit_interval_s <= 0.0 {
            return bad("commit_interval_s", "must be positive".into());
        }
        Ok(())
    }

    fn memory(&self, input: &Flow) -> Need {
        // A block's records while they are encoded, and an open file, its write buffer and a
        // checkpoint entry per day file (at most the open-file limit).
        let files = input.all_channels().min(MAX_OPEN as u64);
        Need::new(
            2 * input.message_bytes + files * 1024 + (MAX_BUFFERED + FILE_BUFFER) as u64,
            format!("encoding one block, {files} open day files and their write buffers"),
            Flow::default(),
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let root = ctx.settings.storage.resolve(&self.path);
        let sink = Archive::open(self, root, ctx.stage, ctx.metrics.clone())?;
        Ok(Work::sink(sink, self.commit_interval_s))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    /// Relative path -> length in bytes.
    files: BTreeMap<String, u64>,
    /// `topic/partition` -> next offset not yet stored.
    positions: Positions,
    /// Samples of each stream waiting to fill a record (already counted as stored).
    #[serde(default)]
    pending: BTreeMap<String, Pending>,
}

pub struct Archive {
    root: PathBuf,
    checkpoint_path: PathBuf,
    opts: EncodeOptions,
    integer: bool,
    /// Fills records across blocks (none for FLOAT64, encoded block by block).
    packer: Option<Packer>,
    state: Checkpoint,
    files: DayFiles,
    metrics: StageMetrics,
    /// This run's output, for the summary: bytes appended and the day files they went to.
    written: u64,
    touched: std::collections::BTreeSet<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StageError + '_ {
    move |e| StageError::io(path.display(), e)
}

impl Archive {
    /// Opens the archive at `root`, recovering to the last checkpoint if there is one.
    pub fn open(
        cfg: &ArchiveConfig,
        root: PathBuf,
        stage: &str,
        metrics: StageMetrics,
    ) -> Result<Archive, StageError> {
        std::fs::create_dir_all(root.join(".seisreduce")).map_err(io(&root))?;
        let checkpoint_path = root
            .join(".seisreduce")
            .join(format!("{stage}.checkpoint.json"));
        let encoding = Encoding::from_name(&cfg.encoding).unwrap_or(Encoding::Float32);
        let opts = EncodeOptions {
            format_version: cfg.format_version,
            encoding,
            record_length: cfg.record_length,
            ..Default::default()
        };
        let mut a = Archive {
            packer: (encoding != Encoding::Float64).then(|| Packer::new(opts.clone())),
            opts,
            integer: !matches!(encoding, Encoding::Float32 | Encoding::Float64),
            checkpoint_path,
            state: Checkpoint::default(),
            files: DayFiles::new(root.clone()),
            metrics,
            written: 0,
            touched: Default::default(),
            root,
        };
        a.recover()?;
        Ok(a)
    }

    fn data_files(&self) -> Vec<(String, PathBuf)> {
        crate::paths::expand_paths(std::slice::from_ref(&self.root))
            .into_iter()
            .filter_map(|p| {
                let rel = p.strip_prefix(&self.root).ok()?.to_str()?.to_string();
                (!rel.starts_with(".seisreduce")).then_some((rel, p))
            })
            .collect()
    }

    fn recover(&mut self) -> Result<(), StageError> {
        match std::fs::read(&self.checkpoint_path) {
            Ok(bytes) => {
                self.state = serde_json::from_slice(&bytes).map_err(|e| {
                    StageError::Other(format!(
                        "{}: corrupt checkpoint: {e}",
                        self.checkpoint_path.display()
                    ))
                })?;
                if let Some(p) = self.packer.as_mut() {
                    p.restore(self.state.pending.clone());
                }
                for (rel, path) in self.data_files() {
                    match self.state.files.get(&rel) {
                        Some(&len) => {
                            let f = OpenOptions::new()
                                .write(true)
                                .open(&path)
                                .map_err(io(&path))?;
                            let now = f.metadata().map_err(io(&path))?.len();
                            if now > len {
                                tracing::info!(file = %path.display(), from = now, to = len, "cut back to the checkpoint");
                                f.set_len(len).map_err(io(&path))?;
                                f.sync_all().map_err(io(&path))?;
                            }
                        }
                        None => {
                            tracing::info!(file = %path.display(), "removed: written after the checkpoint");
                            std::fs::remove_file(&path).map_err(io(&path))?;
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // First start: what is already there belongs to someone else and stays as is.
                for (rel, path) in self.data_files() {
                    let len = path.metadata().map_err(io(&path))?.len();
                    self.state.files.insert(rel, len);
                }
                self.write_checkpoint()?;
            }
            Err(e) => return Err(StageError::io(self.checkpoint_path.display(), e)),
        }
        Ok(())
    }

    fn write_checkpoint(&self) -> Result<(), StageError> {
        let body =
            serde_json::to_vec_pretty(&self.state).map_err(|e| StageError::Other(e.to_string()))?;
        replace_file(&self.checkpoint_path, &body)
    }

    /// SDS path of a record of `sid` starting at `start`.
    fn sds_path(sid: &SourceId, start: i64) -> String {
        let t = YearDayTime::from_nanos(start);
        match sid.to_seed() {
            Ok(s) => format!(
                "{y}/{n}/{st}/{c}.D/{n}.{st}.{l}.{c}.D.{y}.{d:03}",
                y = t.year,
                n = s.network,
                st = s.station,
                c = s.channel,
                l = s.location,
                d = t.doy
            ),
            Err(_) => {
                let safe: String = sid
                    .as_str()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{y}/{safe}.{y}.{d:03}", y = t.year, d = t.doy)
            }
        }
    }

    /// Appends each record to the day file of its own start.
    fn store_records(&mut self, sid: &SourceId, records: Vec<Vec<u8>>) -> Result<(), StageError> {
        for r in records {
            let start = match RecordReader::new(&r).next() {
                Some(Ok(rec)) => rec.header.start,
                _ => {
                    return Err(StageError::Other(format!(
                        "encoding {sid}: unreadable record"
                    )))
                }
            };
            self.append(sid, start, &r)?;
        }
        Ok(())
    }

    /// Appends a record of `sid` starting at `start` to the day file of its start.
    fn append(&mut self, sid: &SourceId, start: Nanos, bytes: &[u8]) -> Result<(), StageError> {
        let (files, touched) = (&mut self.state.files, &mut self.touched);
        self.files.append(
            sid,
            start,
            bytes,
            || Self::sds_path(sid, start),
            |rel, len| {
                files.entry(rel.to_string()).or_insert(len);
                touched.insert(rel.to_string());
            },
        )?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl Sink for Archive {
    fn write(&mut self, m: &Message) -> Result<(), StageError> {
        if self.state.positions.already_stored(m) {
            self.metrics.dropped("already_stored", 1);
            return Ok(());
        }
        match &m.payload {
            Payload::Record(bytes) => match RecordReader::new(bytes).next() {
                Some(Ok(rec)) => {
                    let h = &rec.header;
                    self.metrics.data_time(crate::model::sample_time(
                        h.start,
                        h.sample_count as i64,
                        h.rate.hz(),
                    ));
                    self.append(&h.sid, h.start, bytes)?;
                }
                Some(Err(e)) => {
                    self.metrics.dropped("corrupt_record", 1);
                    tracing::warn!(stream = %m.key, "record not stored{}: {e}", m.origin());
                }
                None => {
                    self.metrics.dropped("corrupt_record", 1);
                    tracing::warn!(stream = %m.key, "empty record not stored{}", m.origin());
                }
            },
            // The graph check keeps other kinds away; counted should one arrive.
            Payload::Correlations(_) | Payload::Spectra(_) | Payload::Table(_) => {
                self.metrics.dropped("wrong_kind", 1)
            }
            Payload::Block(c) => {
                for (row, meta) in c.data.rows().into_iter().zip(&c.channels) {
                    let samples = if self.integer {
                        Samples::Int(row.iter().map(|v| v.round() as i32).collect())
                    } else if self.opts.encoding == Encoding::Float64 {
                        Samples::Float64(row.iter().map(|&v| v as f64).collect())
                    } else {
                        Samples::Float32(row.to_vec())
                    };
                    let fail = |e| StageError::Other(format!("encoding {}: {e}", meta.source_id));
                    let records = match self.packer.as_mut() {
                        Some(p) => p
                            .push(&meta.source_id, c.start, c.rate, samples)
                            .map_err(fail)?
                            .into_iter()
                            .map(|(_, r)| r)
                            .collect(),
                        None => encode(&meta.source_id, c.start, c.rate, &samples, &self.opts)
                            .map_err(fail)?,
                    };
                    self.store_records(&meta.source_id, records)?;
                }
            }
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StageError> {
        // Back to the last checkpoint on disk, exactly as a restart after a crash would go.
        // Buffered bytes were never written: they come again too.
        self.files.close_all();
        self.recover()
    }

    fn sync(&mut self) -> Result<(), StageError> {
        let lengths = &mut self.state.files;
        self.files.sync(|rel, appended| {
            *lengths.entry(rel.to_string()).or_default() += appended;
        })?;
        if let Some(p) = &self.packer {
            self.state.pending.clone_from(p.pending());
        }
        self.write_checkpoint()
    }

    /// The input ended: what waits to fill a record is written (as short records).
    fn finish(&mut self, _: &std::sync::atomic::AtomicBool) -> Result<(), StageError> {
        let Some(p) = self.packer.as_mut() else {
            return Ok(());
        };
        let recs = p
            .flush()
            .map_err(|e| StageError::Other(format!("encoding: {e}")))?;
        for (sid, r) in recs {
            self.store_records(&sid, vec![r])?;
        }
        Ok(())
    }

    fn report(&self) -> Option<SinkReport> {
        let at = self.root.display();
        let files = self.touched.len();
        Some(SinkReport {
            wrote: format!(
                "{at}: SDS archive, {} appended to {files} day file{}",
                Bytes(self.written),
                plural(files as u64)
            ),
            open_with: Some(format!("obspy.read(\"{at}/*/*/*/*/*\")")),
        })
    }
}
