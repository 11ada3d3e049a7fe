//! Sinks: where data leaves a pipeline. A sink takes messages and, when asked, makes what it
//! took durable; only then does the runtime commit the input positions, so a crash replays
//! rather than loses.

pub mod archive;
pub mod null;
pub mod parquet;
pub mod parquet_table;
pub mod seedlink;
pub mod zarr;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bus::Message;
use crate::pipeline::emit::StageError;

pub trait Sink: Send {
    fn write(&mut self, m: &Message) -> Result<(), StageError>;
    /// Everything written so far (and the positions it came from) is durable when this returns.
    fn sync(&mut self) -> Result<(), StageError>;
    /// Forgets everything written since the last sync (it will be delivered again).
    fn rollback(&mut self) -> Result<(), StageError>;
    /// The input has ended (the sink syncs after this): write out what is held back.
    fn finish(&mut self, _shutdown: &std::sync::atomic::AtomicBool) -> Result<(), StageError> {
        Ok(())
    }
    /// What the sink wrote and where, for the run's closing summary.
    fn report(&self) -> Option<SinkReport> {
        None
    }
}

/// What a sink tells its user at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkReport {
    /// `out/quickstart/etna.zarr: 3 channels x 10.0 s at 1000 Hz, zstd 2.1x`.
    pub wrote: String,
    /// The one line that opens it: `xarray.open_zarr("out/quickstart/etna.zarr")`.
    pub open_with: Option<String>,
}

/// Replaces `path` with `bytes` so that a crash leaves the old file or the new one, never a
/// mix: temporary file, fsync, rename, fsync of the folder.
pub fn replace_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), StageError> {
    use std::io::Write;
    let io = |p: &std::path::Path| {
        let p = p.display().to_string();
        move |e| StageError::io(p, e)
    };
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    let tmp = std::path::PathBuf::from(name);
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

/// For each `topic/partition`, the next offset a sink has not stored: kept in the sink's
/// checkpoint, so that messages re-delivered after a crash (their commit did not happen) are
/// recognised and skipped.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Positions(BTreeMap<String, i64>);

impl Positions {
    /// Records that offsets below `next` of `log` (`topic/partition`) are stored.
    pub fn advance(&mut self, log: &str, next: i64) {
        let e = self.0.entry(log.to_string()).or_insert(next);
        *e = (*e).max(next);
    }

    /// Every `topic/partition` and the next offset not stored.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &i64)> {
        self.0.iter()
    }

    /// Merges what `other` says is stored.
    pub fn merge(&mut self, other: &Positions) {
        for (k, v) in &other.0 {
            self.advance(k, *v);
        }
    }

    /// True when `m` was stored before; otherwise records it as stored.
    pub fn already_stored(&mut self, m: &Message) -> bool {
        let Some(p) = &m.position else {
            return false;
        };
        let log = p.log();
        if self.0.get(&log).is_some_and(|&next| p.offset < next) {
            return true;
        }
        self.0.insert(log, p.offset + 1);
        false
    }
}
