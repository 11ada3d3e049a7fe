//! The day files an SDS archive appends to: each opened once and then found by stream and day
//! (no path formatted and no map of paths searched per record), their records gathered before
//! they are written, and made durable together at a sync.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::time::NS_PER_SEC;
use crate::model::{Nanos, SourceId};
use crate::pipeline::emit::StageError;

use super::io;

/// Bytes gathered for one day file before they are written: records arrive one at a time
/// (512 bytes for most stations), and a write per record would cost a system call each.
pub const FILE_BUFFER: usize = 64 << 10;
/// Bytes gathered for all day files before every one is written out.
pub const MAX_BUFFERED: usize = 16 << 20;
/// Day files kept open between syncs.
pub const MAX_OPEN: usize = 4096;
/// Dirty files from which a sync flushes the archive's whole file system at once (`syncfs`)
/// instead of each file: a live network makes every stream's file dirty between two syncs,
/// and a data sync of each one then also wrote its inode synchronously, one device round trip
/// per file (2100 files each second were most of the archive's time).
const SYNC_FILESYSTEM_FROM: usize = 32;

const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

/// A day file being appended to.
struct DayFile {
    /// Relative to the archive's root, as the checkpoint names it.
    rel: String,
    file: File,
    /// Bytes not yet written to it.
    pending: Vec<u8>,
    /// Bytes appended since the last sync.
    appended: u64,
}

impl DayFile {
    fn write_out(&mut self, root: &Path) -> Result<usize, StageError> {
        let n = self.pending.len();
        if n > 0 {
            self.file
                .write_all(&self.pending)
                .map_err(|e| StageError::io(root.join(&self.rel).display(), e))?;
            self.pending.clear();
        }
        Ok(n)
    }
}

pub struct DayFiles {
    root: PathBuf,
    files: Vec<DayFile>,
    /// Relative path -> index in `files`.
    by_path: HashMap<String, usize>,
    /// Per stream, the day (since 1970-01-01) of its last record and that day's file.
    current: HashMap<SourceId, (i64, usize)>,
    /// Bytes in the files' buffers.
    buffered: usize,
}

impl DayFiles {
    pub fn new(root: PathBuf) -> DayFiles {
        DayFiles {
            root,
            files: Vec::new(),
            by_path: HashMap::new(),
            current: HashMap::new(),
            buffered: 0,
        }
    }

    /// Appends `bytes`, a record of `sid` starting at `start`, to the day file of its start.
    /// A file opened (or created) for it is first passed to `opened` with its path relative to
    /// the root and its length then.
    pub fn append(
        &mut self,
        sid: &SourceId,
        start: Nanos,
        bytes: &[u8],
        path: impl FnOnce() -> String,
        opened: impl FnOnce(&str, u64),
    ) -> Result<(), StageError> {
        let day = start.div_euclid(NS_PER_DAY);
        let k = match self.current.get(sid) {
            Some(&(d, k)) if d == day => k,
            _ => {
                let k = self.open(path(), opened)?;
                self.current.insert(sid.clone(), (day, k));
                k
            }
        };
        let f = &mut self.files[k];
        f.pending.extend_from_slice(bytes);
        f.appended += bytes.len() as u64;
        self.buffered += bytes.len();
        if f.pending.len() >= FILE_BUFFER {
            self.buffered -= f.write_out(&self.root)?;
        }
        if self.buffered > MAX_BUFFERED {
            self.write_out()?;
        }
        Ok(())
    }

    /// The index of the day file `rel`, opened for appending (created with its folders).
    fn open(&mut self, rel: String, opened: impl FnOnce(&str, u64)) -> Result<usize, StageError> {
        if let Some(&k) = self.by_path.get(&rel) {
            return Ok(k);
        }
        let path = self.root.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        opened(&rel, len);
        self.by_path.insert(rel.clone(), self.files.len());
        self.files.push(DayFile {
            rel,
            file,
            pending: Vec::new(),
            appended: 0,
        });
        Ok(self.files.len() - 1)
    }

    /// Writes every file's buffer.
    pub fn write_out(&mut self) -> Result<(), StageError> {
        for f in &mut self.files {
            f.write_out(&self.root)?;
        }
        self.buffered = 0;
        Ok(())
    }

    /// Writes every buffer and makes what was appended durable; then passes each file that
    /// changed to `synced` with the bytes appended to it since the last sync. Files beyond
    /// the open-file limit are closed afterwards (a live archive's day files change once a
    /// day).
    pub fn sync(&mut self, mut synced: impl FnMut(&str, u64)) -> Result<(), StageError> {
        self.write_out()?;
        let dirty: Vec<usize> = (0..self.files.len())
            .filter(|&k| self.files[k].appended > 0)
            .collect();
        let whole = dirty.len() >= SYNC_FILESYSTEM_FROM
            && sync_filesystem(&self.root).map_err(io(&self.root))?;
        if !whole {
            for &k in &dirty {
                let f = &self.files[k];
                f.file
                    .sync_data()
                    .map_err(|e| StageError::io(self.root.join(&f.rel).display(), e))?;
            }
        }
        for k in dirty {
            let f = &mut self.files[k];
            synced(&f.rel, std::mem::take(&mut f.appended));
        }
        if self.files.len() > MAX_OPEN {
            self.close_all();
        }
        Ok(())
    }

    /// Closes every file, dropping what was not written (a rollback: it comes again).
    pub fn close_all(&mut self) {
        self.files.clear();
        self.by_path.clear();
        self.current.clear();
        self.buffered = 0;
    }
}

/// Flushes the file system holding `root` (Linux `syncfs`: every dirty file and folder on it,
/// written back in one pass, and the device's cache); false where there is no such call.
fn sync_filesystem(root: &Path) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = File::open(root)?;
        // SAFETY: a descriptor open for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeedId;

    fn sid(k: usize) -> SourceId {
        SeedId::new("XX", &format!("S{k:03}"), "", "HHZ").to_source_id()
    }

    /// `DAY.STREAM`, as the archive names files (the day from the start).
    fn name(s: &SourceId, start: Nanos) -> String {
        format!(
            "{}/{}",
            start.div_euclid(NS_PER_DAY),
            s.as_str().replace(':', "_")
        )
    }

    #[test]
    fn records_go_to_their_days_file_and_a_sync_reports_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = DayFiles::new(dir.path().to_path_buf());
        let mut opened = Vec::new();
        let day = NS_PER_DAY * 19_000;
        // 40 streams (a sync of the whole file system), each with a record before midnight,
        // one after it, and a late one for the day before, which goes back to its file.
        for k in 0..40 {
            let s = sid(k);
            for (t, b) in [(day - 1, b'a'), (day, b'b'), (day - 2, b'c')] {
                files
                    .append(
                        &s,
                        t,
                        &[b; 3],
                        || name(&s, t),
                        |rel, len| opened.push((rel.to_string(), len)),
                    )
                    .unwrap();
            }
        }
        assert_eq!(opened.len(), 80, "one open per stream and day");
        assert!(opened.iter().all(|(_, len)| *len == 0));
        let mut synced = Vec::new();
        files
            .sync(|rel, n| synced.push((rel.to_string(), n)))
            .unwrap();
        synced.sort();
        assert_eq!(synced.len(), 80);
        assert!(synced.iter().all(|(_, n)| *n == 3 || *n == 6));
        let s = sid(7);
        let before = std::fs::read(dir.path().join(name(&s, day - 1))).unwrap();
        let after = std::fs::read(dir.path().join(name(&s, day))).unwrap();
        assert_eq!(before, b"aaaccc");
        assert_eq!(after, b"bbb");
        // Nothing appended since: nothing to report at the next sync.
        let mut again = 0;
        files.sync(|_, _| again += 1).unwrap();
        assert_eq!(again, 0);
        // A few dirty files: each synced on its own. The stream's last record was for the
        // day before: its file for this day is found open.
        files
            .append(
                &s,
                day,
                b"d",
                || name(&s, day),
                |_, _| panic!("opened again"),
            )
            .unwrap();
        let mut one = Vec::new();
        files.sync(|rel, n| one.push((rel.to_string(), n))).unwrap();
        assert_eq!(one, vec![(name(&s, day), 1)]);
        assert_eq!(
            std::fs::read(dir.path().join(name(&s, day))).unwrap(),
            b"bbbd"
        );
    }

    #[test]
    fn closing_drops_what_was_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = DayFiles::new(dir.path().to_path_buf());
        let s = sid(1);
        files
            .append(&s, 0, b"kept", || name(&s, 0), |_, _| {})
            .unwrap();
        files.sync(|_, _| {}).unwrap();
        files
            .append(&s, 0, b"lost", || name(&s, 0), |_, _| {})
            .unwrap();
        files.close_all();
        let mut reopened = None;
        files
            .append(&s, 0, b"!", || name(&s, 0), |_, len| reopened = Some(len))
            .unwrap();
        files.sync(|_, _| {}).unwrap();
        assert_eq!(reopened, Some(4), "reopened at its synced length");
        assert_eq!(
            std::fs::read(dir.path().join(name(&s, 0))).unwrap(),
            b"kept!"
        );
    }
}
