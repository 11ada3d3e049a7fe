//! The `das` source: the folder a DAS interrogator writes its rolling files into (or one
//! file), read as one continuous stream of (channel, time) blocks.
//!
//! - Files are taken in name order (interrogators name them by start time) and recognised
//!   by content ([`DasFile::open`]), so any mix of the layouts read works.
//! - The newest file may still be growing: each poll reads the rows that were already there
//!   at the previous poll (a row the writer has just allocated may not hold its samples
//!   yet), and reads on as the file grows. A file is finished once a newer one exists.
//! - A file that cannot be opened yet (half-written: no complete HDF5 metadata) is retried;
//!   once a newer file exists and it still fails after `settle_s`, it is logged with its
//!   path, counted (`dropped{reason="unreadable_file"}`) and passed over.
//! - Consecutive files are joined: a start more than half a sample after the previous end is
//!   a gap (logged with both files, counted as a `gap` event; downstream fills it with NaN),
//!   a start before it an overlap whose repeated rows are dropped and counted.
//! - With `checkpoint`, what has been read (rows per file, the next expected time) is saved
//!   after every poll once the blocks are flushed downstream, so a restart goes on from there
//!   (at least once: rows sent after the last checkpoint are sent again).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::sleep_until;
use crate::bus::DataKind;
use crate::formats::das::{Axis, DasFile, DasInfo};
use crate::model::{ChannelMeta, Chunk, Iso, Nanos, SampleRate};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Values {
    /// As the interrogator stored them (counts, radians, ...), the factor kept in metadata.
    #[default]
    Stored,
    /// Multiplied by the format's conversion factor (strain, strain rate, ...).
    Physical,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DasSourceConfig {
    /// A DAS file, or the folder an interrogator writes into.
    pub path: PathBuf,
    /// File names to take (`*` and `?`), e.g. `*.h5`; default: every file.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Keep watching for new files and growing ones until the pipeline is stopped.
    #[serde(default)]
    pub follow: bool,
    /// Seconds between looks at the folder when following.
    #[serde(default = "one")]
    pub poll_s: f64,
    /// Seconds an unreadable file is retried for once a newer file exists.
    #[serde(default = "ten")]
    pub settle_s: f64,
    /// Length of each emitted block, seconds.
    #[serde(default = "one")]
    pub chunk_s: f64,
    /// FDSN network code of the channels; each channel's station code is its index along
    /// the fibre (`00042`), as GEOFON names its DAS channels.
    #[serde(default = "network")]
    pub network: String,
    #[serde(default)]
    pub location: String,
    /// SEED channel code (band, instrument, orientation), e.g. `HSF`.
    #[serde(default = "hsf")]
    pub channel: String,
    #[serde(default)]
    pub values: Values,
    /// Which array of each file to read, for files holding several (`seisreduce inspect`
    /// lists them: a PRODML file's Raw array and its Fbe bands, a DASDAE file's patches).
    #[serde(default)]
    pub array: usize,
    /// JSON file recording what has been read, for restarts.
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
}

fn one() -> f64 {
    1.0
}
fn ten() -> f64 {
    10.0
}
fn network() -> String {
    "XX".into()
}
fn hsf() -> String {
    "HSF".into()
}

impl StageType for DasSourceConfig {
    const NAME: &'static str = "das";
    const ROLE: Role = Role::Source;
    const ABOUT: &'static str =
        "DAS interrogator files (PRODML, Febus, OptoDAS, Terra15, AP Sensing, Silixa HDF5 and TDMS, Neubrex DAS and DSS/DTS, Sentek, GDR, DASDAE, H5Simple, SEG-Y), a file or a folder followed as it grows";
    const ACCEPTS: &'static [DataKind] = &[];
}

impl Component for DasSourceConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        let bad = |k: &str, m: &str| Err((Some(k.to_string()), m.to_string()));
        if !(self.poll_s > 0.0 && self.poll_s.is_finite()) {
            return bad("poll_s", "must be a positive number of seconds");
        }
        if !(self.chunk_s > 0.0 && self.chunk_s.is_finite()) {
            return bad("chunk_s", "must be a positive number of seconds");
        }
        if !(self.settle_s >= 0.0 && self.settle_s.is_finite()) {
            return bad("settle_s", "must be zero or more seconds");
        }
        super::check_fibre_naming(&self.network, &self.channel)
    }

    fn memory(&self, _: &Flow) -> Need {
        // The shape of the first file stands for the others (an interrogator's files share it).
        let first = list(self).ok().and_then(|files| {
            files
                .iter()
                .find_map(|(_, p)| DasFile::open_array(p, self.array).ok())
        });
        let (channels, rate, dtype, note) = match &first {
            Some(f) => (
                f.info.distance.len() as u64,
                f.info.rate_hz,
                f.info.dtype.clone(),
                String::new(),
            ),
            None => (
                10_000,
                1000.0,
                "float32".into(),
                " (no file yet: assumed 10,000 ch x 1 kHz)".into(),
            ),
        };
        let out = Flow {
            message_bytes: 0,
            streams: 1,
            channels,
            rate_hz: rate,
        }
        .with_blocks(rate, self.chunk_s);
        let stored = match dtype.as_str() {
            "int16" | "uint16" => 2,
            "float64" | "int64" | "uint64" => 8,
            _ => 4,
        };
        // One window read in the stored type, and the block it becomes.
        let window = out.message_bytes / 4 * stored;
        Need::new(
            window + out.message_bytes,
            format!(
                "a {} s window of {channels} ch x {rate} Hz ({dtype} read, float32 block){note}",
                self.chunk_s
            ),
            out,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::source(self, ctx.stage, run))
    }
}

/// What has been read of one file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FileState {
    rows: usize,
    finished: bool,
    /// Not a DAS file at all (no HDF5 signature): passed over, and never the current file.
    #[serde(default)]
    foreign: bool,
    /// Rows seen at the previous look (read up to here while the file grows).
    #[serde(skip)]
    seen: usize,
    #[serde(skip)]
    failing_since: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    files: BTreeMap<String, FileState>,
    /// Time the next sample of the stream is expected at.
    next_ns: Option<Nanos>,
    /// The file the last rows came from (named in gap and overlap reports).
    last_file: Option<String>,
}

impl Checkpoint {
    fn load(path: &Path) -> Result<Checkpoint, StageError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                StageError::Other(format!("{}: checkpoint is not valid: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(StageError::io(path.display(), e)),
        }
    }
}

/// Candidate files, in name order.
fn list(cfg: &DasSourceConfig) -> Result<Vec<(String, PathBuf)>, StageError> {
    if cfg.path.is_file() {
        let name = cfg
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string());
        return Ok(vec![(name.unwrap_or_default(), cfg.path.clone())]);
    }
    let rd = std::fs::read_dir(&cfg.path).map_err(|e| StageError::io(cfg.path.display(), e))?;
    let mut out: Vec<(String, PathBuf)> = rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.path()))
        .filter(|(n, _)| !n.starts_with('.'))
        .filter(|(n, _)| {
            cfg.pattern
                .as_deref()
                .is_none_or(|p| super::files::glob(p, n))
        })
        .collect();
    out.sort();
    Ok(out)
}

struct Reader<'c> {
    cfg: &'c DasSourceConfig,
    stream: String,
    state: Checkpoint,
    started: Instant,
}

impl Reader<'_> {
    fn channels(&self, info: &DasInfo) -> Vec<ChannelMeta> {
        // Channel numbers are not positions: no distance is invented for them.
        let position = |i: usize| match info.axis {
            Axis::Distance => info.distance.get(i).copied(),
            Axis::Channel => None,
        };
        let c = self.cfg;
        super::fibre_channels(
            &c.network,
            &c.location,
            &c.channel,
            (0..info.n_distance).map(position),
        )
    }

    /// Rows of a file's start that repeat what was already sent (overlap), after reporting
    /// how this file joins the previous one.
    fn join(&mut self, name: &str, info: &DasInfo, out: &Emitter<'_>) -> usize {
        let Some(next) = self.state.next_ns else {
            return 0;
        };
        let half = (5e8 / info.rate_hz) as i64;
        let prev = self.state.last_file.clone().unwrap_or_default();
        let d = info.start - next;
        if d > half {
            out.metrics.event("gap");
            tracing::warn!(file = name, previous = %prev, from = %Iso(next), to = %Iso(info.start),
                missing_s = d as f64 / 1e9, "gap between files");
            0
        } else if d < -half {
            let skip = (0..info.n_time)
                .take_while(|&r| info.time_of(r) < next - half)
                .count();
            out.metrics.event("overlap");
            out.metrics
                .dropped("overlap", (skip * info.n_distance) as u64);
            tracing::warn!(file = name, previous = %prev, overlap_s = -d as f64 / 1e9, rows = skip,
                "file overlaps the previous one; repeated rows dropped");
            skip
        } else {
            0
        }
    }

    /// Something other than HDF5 in the folder (notes, logs) is passed over once, and is never
    /// taken for the current file: an interrogator writes the HDF5 signature first, so 8
    /// bytes without it are not a file still being written.
    fn sort_out_foreign(&mut self, name: &str, path: &Path, out: &Emitter<'_>) {
        if self
            .state
            .files
            .get(name)
            .is_some_and(|s| s.finished || s.rows > 0)
        {
            return;
        }
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size >= 8 && !crate::formats::das::is_das(path) {
            tracing::error!(file = %path.display(), "not a DAS file of a layout read (`seisreduce inspect --formats`); passed over");
            out.metrics.dropped("not_das", 1);
            let st = self.state.files.entry(name.to_string()).or_default();
            st.finished = true;
            st.foreign = true;
        }
    }

    /// Reads what is ready of one file; returns whether it is finished.
    fn read_file(
        &mut self,
        name: &str,
        path: &Path,
        newest: bool,
        out: &mut Emitter<'_>,
    ) -> Result<bool, StageError> {
        let now = self.started.elapsed().as_secs();
        let f = match DasFile::open_array(path, self.cfg.array) {
            Ok(f) => f,
            Err(e) => {
                let st = self.state.files.entry(name.to_string()).or_default();
                let since = *st.failing_since.get_or_insert(now);
                let waited = (now - since) as f64 >= self.cfg.settle_s;
                // Following: the newest file may be half-written, an older one is given
                // `settle_s` to become readable.
                if self.cfg.follow && (newest || !waited) {
                    tracing::debug!(error = %e, "not readable yet; retrying");
                    return Ok(false);
                }
                tracing::error!(error = %e, "unreadable DAS file passed over");
                out.metrics.dropped("unreadable_file", 1);
                st.finished = true;
                return Ok(true);
            }
        };
        let info = &f.info;
        let st = self
            .state
            .files
            .entry(name.to_string())
            .or_default()
            .clone();
        if st.rows == 0 {
            for w in &info.warnings {
                tracing::warn!(file = name, "{w}");
            }
        }
        // A growing file: only rows that were already there at the previous look.
        let growing = newest && self.cfg.follow;
        let ready = if growing {
            st.seen.min(info.n_time)
        } else {
            info.n_time
        };
        let mut row = st.rows;
        if row == 0 && ready > 0 {
            row = self.join(name, info, out);
        }
        let factor = match self.cfg.values {
            Values::Physical => info.units.factor,
            Values::Stored => None,
        };
        let mut meta = info.meta();
        if factor.is_some() {
            // The blocks carry physical values: say so, and drop the factor already applied.
            meta.units = meta.physical_units.clone();
            meta.scale_factor = None;
        }
        let meta = Arc::new(meta);
        let channels = self.channels(info);
        let per = ((self.cfg.chunk_s * info.rate_hz).round() as usize).max(1);
        while row < ready && !out.stopping() {
            let end = (row + per).min(ready);
            let mut data = f
                .read(row..end, 0..info.n_distance)
                .map_err(|e| StageError::Other(e.to_string()))?;
            if let Some(k) = factor {
                data.mapv_inplace(|v| (v as f64 * k) as f32);
            }
            out.emit_chunk(Chunk {
                stream: self.stream.clone(),
                start: info.time_of(row),
                rate: SampleRate(info.rate_hz),
                channels: channels.clone(),
                data,
                das: Some(meta.clone()),
                units: None,
            })?;
            row = end;
            self.state.next_ns = Some(info.time_of(row));
            self.state.last_file = Some(name.to_string());
        }
        let finished = !growing && row >= info.n_time;
        if finished {
            tracing::info!(file = name, format = info.format, rows = info.n_time, channels = info.n_distance,
                from = %Iso(info.start), to = %Iso(info.time_max()), "DAS file read");
        }
        let st = self.state.files.entry(name.to_string()).or_default();
        st.rows = row;
        st.seen = info.n_time;
        st.finished = finished;
        st.failing_since = None;
        Ok(finished)
    }

    fn save(&self, out: &mut Emitter<'_>) -> Result<(), StageError> {
        out.flush()?;
        if let Some(p) = &self.cfg.checkpoint {
            let json = serde_json::to_vec_pretty(&self.state)
                .map_err(|e| StageError::Other(e.to_string()))?;
            crate::sinks::replace_file(p, &json)?;
        }
        Ok(())
    }
}

pub fn run(cfg: &DasSourceConfig, stage: &str, out: &mut Emitter<'_>) -> Result<(), StageError> {
    let state = match &cfg.checkpoint {
        Some(p) => Checkpoint::load(p)?,
        None => Checkpoint::default(),
    };
    if let (Some(p), Some(next)) = (&cfg.checkpoint, state.next_ns) {
        let done = state.files.values().filter(|f| f.finished).count();
        tracing::info!(checkpoint = %p.display(), files_done = done, next = %Iso(next), "resuming");
    }
    let mut r = Reader {
        cfg,
        stream: format!("{}.{stage}", cfg.network),
        state,
        started: Instant::now(),
    };
    loop {
        let files = list(cfg)?;
        for (name, path) in &files {
            r.sort_out_foreign(name, path, out);
        }
        // The current (possibly growing) file: the last one by name that is not foreign.
        let current = files
            .iter()
            .rposition(|(n, _)| !r.state.files.get(n).is_some_and(|s| s.foreign));
        for (k, (name, path)) in files.iter().enumerate() {
            if r.state.files.get(name).is_some_and(|s| s.finished) {
                continue;
            }
            let finished = r.read_file(name, path, Some(k) == current, out)?;
            // Files are one stream in name order: never skip ahead of one still growing.
            if !finished || out.stopping() {
                break;
            }
        }
        r.save(out)?;
        let all_done = files
            .iter()
            .all(|(n, _)| r.state.files.get(n).is_some_and(|s| s.finished));
        if !cfg.follow && files.is_empty() {
            tracing::warn!(path = %cfg.path.display(), "no DAS files to read");
        }
        if out.stopping() || (!cfg.follow && all_done) {
            return Ok(());
        }
        // Saved above: a stop while waiting leaves nothing unsaved.
        let due = Instant::now() + Duration::from_secs_f64(cfg.poll_s);
        if !sleep_until(due, || out.stopping()) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::bus::collect::Collect;
    use crate::formats::das::prodml_write::{Acquisition, ProdmlWriter};
    use crate::telemetry::metrics::Metrics;

    fn file(path: &Path, start: Nanos, seconds: usize) {
        let acq = Acquisition {
            start,
            rate_hz: 100.0,
            channels: 4,
            start_locus: 2,
            spacing_m: 5.0,
            gauge_length_m: 10.0,
        };
        let mut w = ProdmlWriter::<f32>::create(path, acq).unwrap();
        let rows = 100 * seconds;
        w.append(ndarray::Array2::from_shape_fn((rows, 4), |(t, x)| (t * 10 + x) as f32).view())
            .unwrap();
    }

    fn config(path: &Path) -> DasSourceConfig {
        toml::from_str(&format!(
            "path = \"{}\"\nchunk_s = 0.3\nnetwork = \"XF\"",
            path.display()
        ))
        .unwrap()
    }

    #[test]
    fn blocks_carry_ids_positions_metadata_and_exact_times() {
        let dir = tempfile::tempdir().unwrap();
        let s = 1_700_000_000_000_000_000;
        file(&dir.path().join("a.h5"), s, 1);
        file(&dir.path().join("b.h5"), s + 1_000_000_000, 1);
        let out = Collect::default();
        let metrics = Metrics::new("t").stage("fibre");
        let stop = AtomicBool::new(false);
        let mut em = Emitter::new("fibre", Some(Box::new(out.clone())), &metrics, &stop);
        run(&config(dir.path()), "fibre", &mut em).unwrap();
        let chunks = out.0.lock().unwrap();
        // 1 s files in 0.3 s blocks: 30, 30, 30, 10 rows each.
        let lens: Vec<usize> = chunks.iter().map(|c| c.n_samples()).collect();
        assert_eq!(lens, [30, 30, 30, 10, 30, 30, 30, 10]);
        let mut t = s;
        for c in chunks.iter() {
            assert_eq!(c.start, t, "contiguous, exact");
            t = c.end_exclusive();
            assert_eq!(c.stream, "XF.fibre");
        }
        let c = &chunks[4];
        assert_eq!(c.channels[1].source_id.as_str(), "FDSN:XF_00001__H_S_F");
        assert_eq!(c.channels[1].distance_m, Some(15.0));
        assert_eq!(c.data[[2, 0]], 2.0, "first row of the second file");
        let meta = c.das.as_ref().unwrap();
        assert_eq!(
            (meta.format.as_str(), meta.gauge_length_m),
            ("PRODML", Some(10.0))
        );
        assert_eq!(meta.spatial_sampling_interval_m, Some(5.0));
    }

    #[test]
    fn a_missing_folder_and_bad_keys_are_named() {
        let cfg = config(Path::new("/nonexistent/das"));
        let metrics = Metrics::new("t").stage("fibre");
        let stop = AtomicBool::new(false);
        let mut em = Emitter::new("fibre", None, &metrics, &stop);
        let e = run(&cfg, "fibre", &mut em).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/das"), "{e}");
        let bad: DasSourceConfig = toml::from_str("path = \"x\"\nchannel = \"HS\"").unwrap();
        assert_eq!(
            Component::check(&bad, "fibre").unwrap_err().0.as_deref(),
            Some("channel")
        );
        assert!(toml::from_str::<DasSourceConfig>("path = \"x\"\nfolow = true").is_err());
    }
}
