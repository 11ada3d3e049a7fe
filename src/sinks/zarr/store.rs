//! Where a Zarr store lives: a local directory or an S3-compatible bucket.
//!
//! Local writes go to a temporary file beside the key and are renamed over it, so a reader (or a
//! writer restarted after a SIGKILL) only ever sees whole chunks and whole `zarr.json` files;
//! the files written since the last sync are fsynced by [`ZarrStore::sync`] (once per commit
//! interval rather than once per chunk, which is what makes streaming writes cheap). Objects in
//! S3 are replaced whole by every PUT, so the same holds there without renames.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use zarrs::filesystem::FilesystemStore;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::storage_adapter::async_to_sync::{
    AsyncToSyncBlockOn, AsyncToSyncStorageAdapter,
};
use zarrs::storage::{
    AsyncWritableStorageTraits, Bytes, ListableStorageTraits, MaybeBytesIterator,
    OffsetBytesIterator, ReadableStorageTraits, ReadableWritableListableStorage, StorageError,
    StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};
use zarrs_object_store::object_store::aws::{AmazonS3, AmazonS3Builder};
use zarrs_object_store::object_store::ClientOptions;
use zarrs_object_store::AsyncObjectStore;

use crate::pipeline::emit::StageError;
use crate::settings::StorageSettings;

mod direct;

/// An opened store and how to make its writes durable.
pub struct ZarrStore {
    pub storage: ReadableWritableListableStorage,
    local: Option<Arc<DurableDirStore>>,
    remote: Option<Remote>,
    /// Node path of the group in the store: `/`, or the prefix of an S3 URL.
    pub base: String,
    /// For messages: the directory or URL.
    pub location: String,
}

impl ZarrStore {
    /// Opens `path`: `s3://bucket/prefix`, or a directory (relative ones under the storage root,
    /// which may itself be an `s3://` URL).
    pub fn open(path: &str, storage: &StorageSettings) -> Result<ZarrStore, StageError> {
        let root = storage.root.to_string_lossy();
        let url = if path.starts_with("s3://") {
            Some(path.to_string())
        } else if root.starts_with("s3://") && !Path::new(path).is_absolute() {
            Some(format!("{}/{}", root.trim_end_matches('/'), path))
        } else {
            None
        };
        match url {
            Some(url) => open_s3(&url, storage),
            None => {
                let dir = storage.resolve(Path::new(path));
                let local = Arc::new(DurableDirStore::new(&dir)?);
                Ok(ZarrStore {
                    storage: local.clone(),
                    local: Some(local),
                    remote: None,
                    base: "/".into(),
                    location: dir.display().to_string(),
                })
            }
        }
    }

    /// The storage root itself (a folder or an `s3://` prefix), where the catalogues of every
    /// product live. Other stores' writes go on below it, so nothing there is cleaned up.
    pub fn open_root(storage: &StorageSettings) -> Result<ZarrStore, StageError> {
        let root = storage.root.to_string_lossy().to_string();
        if root.starts_with("s3://") {
            return open_s3(&root, storage);
        }
        let local = Arc::new(DurableDirStore::shared(&storage.root)?);
        Ok(ZarrStore {
            storage: local.clone(),
            local: Some(local),
            remote: None,
            base: "/".into(),
            location: storage.root.display().to_string(),
        })
    }

    /// Where the data array's objects are written.
    pub fn objects(&self) -> Objects {
        Objects {
            storage: self.storage.clone(),
            local: self.local.clone(),
            remote: self.remote.clone(),
        }
    }

    /// Makes every write so far durable (local files: fsync of the files and their folders).
    pub fn sync(&self) -> Result<(), StageError> {
        match &self.local {
            Some(l) => l.sync(),
            None => Ok(()),
        }
    }
}

fn open_s3(url: &str, storage: &StorageSettings) -> Result<ZarrStore, StageError> {
    let bad = |m: String| StageError::Other(format!("{url}: {m}"));
    let rest = url.trim_start_matches("s3://");
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad("no bucket in the URL (s3://BUCKET/PREFIX)".into()));
    }
    let s3 = storage;
    if s3.s3_puts_at_once == 0 {
        return Err(bad("storage.s3_puts_at_once is 0: at least 1".into()));
    }
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&s3.s3_region)
        .with_client_options(ClientOptions::new().with_allow_http(s3.s3_allow_http));
    if let Some(e) = &s3.s3_endpoint {
        b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
    }
    if let Some(k) = &s3.s3_access_key_id {
        b = b.with_access_key_id(k);
    }
    if let Some(k) = &s3.s3_secret_access_key {
        b = b.with_secret_access_key(k.expose());
    }
    let store = b.build().map_err(|e| bad(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| bad(format!("cannot start the I/O runtime: {e}")))?;
    let remote = Remote {
        store: Arc::new(AsyncObjectStore::new(store)),
        runtime: Arc::new(runtime),
        at_once: s3.s3_puts_at_once,
    };
    let adapter =
        AsyncToSyncStorageAdapter::new(remote.store.clone(), BlockOn(remote.runtime.clone()));
    Ok(ZarrStore {
        storage: Arc::new(adapter),
        local: None,
        remote: Some(remote),
        base: format!("/{}", prefix.trim_matches('/')),
        location: url.to_string(),
    })
}

/// Runs the object store's futures on the sink's own thread.
struct BlockOn(Arc<tokio::runtime::Runtime>);

/// An S3 bucket's own asynchronous store, beside the synchronous one zarrs uses: a column's
/// objects are PUT several at a time with it. One after the other, a column of a distant
/// bucket would take its round trips added up (tens of ms each, and a column holds one object
/// per block of channels); a few at a time they overlap without flooding the endpoint.
#[derive(Clone)]
pub struct Remote {
    store: Arc<AsyncObjectStore<AmazonS3>>,
    runtime: Arc<tokio::runtime::Runtime>,
    /// `storage.s3_puts_at_once`.
    at_once: usize,
}

impl AsyncToSyncBlockOn for BlockOn {
    fn block_on<F: core::future::Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// Each object's key and stored size (None: erased, nothing was recorded in it).
pub type Stored = Vec<(StoreKey, Option<u64>)>;

/// Where a data array's objects (shards or chunks) go: written from the encoded chunks as they
/// lie, without first concatenating a shard (a local store writes them straight to its file, see
/// [`DurableDirStore::set_parts`]; S3 takes one body).
#[derive(Clone)]
pub struct Objects {
    pub storage: ReadableWritableListableStorage,
    local: Option<Arc<DurableDirStore>>,
    remote: Option<Remote>,
}

impl Objects {
    /// Stores `parts`, one after the other, as the object `key`.
    pub fn set_parts(&self, key: &StoreKey, parts: &[&[u8]]) -> Result<(), String> {
        match &self.local {
            Some(l) => l.set_parts(key, parts),
            None => self.storage.set(key, Bytes::from(parts.concat())),
        }
        .map_err(|e| e.to_string())
    }

    pub fn erase(&self, key: &StoreKey) -> Result<(), String> {
        self.storage.erase(key).map_err(|e| e.to_string())
    }

    /// A remote store, whose objects are better sent together ([`Remote::put_together`])
    /// than streamed one by one from their pieces ([`Objects::set_parts`]).
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_ref()
    }
}

impl Remote {
    /// Stores each object whose bytes are given and erases the others,
    /// `storage.s3_puts_at_once` at a time; the answer is in the order given.
    pub fn put_together(&self, objects: Vec<(StoreKey, Option<Bytes>)>) -> Result<Stored, String> {
        use futures::{StreamExt, TryStreamExt};
        let store = &self.store;
        let puts = futures::stream::iter(objects).map(|(key, bytes)| async move {
            let size = match bytes {
                Some(b) => {
                    let n = b.len() as u64;
                    store.set(&key, b).await.map(|_| Some(n))
                }
                None => store.erase(&key).await.map(|_| None),
            };
            size.map(|size| (key, size)).map_err(|e| e.to_string())
        });
        self.runtime
            .block_on(puts.buffered(self.at_once).try_collect())
    }
}

/// A directory store with whole-file replacement and deferred fsync.
pub struct DurableDirStore {
    fs: FilesystemStore,
    root: PathBuf,
    written: Mutex<Vec<PathBuf>>,
    /// Large objects are written with direct I/O until the filesystem refuses it.
    direct: AtomicBool,
}

fn io_err(path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Other(format!("{}: {e}", path.display()))
}

impl DurableDirStore {
    pub fn new(root: &Path) -> Result<DurableDirStore, StageError> {
        let store = DurableDirStore::shared(root)?;
        store.remove_leftovers(root);
        Ok(store)
    }

    /// A folder other writers share (the storage root): interrupted writes below it are
    /// theirs to clean, not this store's.
    pub fn shared(root: &Path) -> Result<DurableDirStore, StageError> {
        std::fs::create_dir_all(root).map_err(|e| StageError::io(root.display(), e))?;
        let fs = FilesystemStore::new(root)
            .map_err(|e| StageError::Other(format!("{}: {e}", root.display())))?;
        Ok(DurableDirStore {
            fs,
            root: root.to_path_buf(),
            written: Mutex::new(Vec::new()),
            direct: AtomicBool::new(true),
        })
    }

    /// Temporary files of writes a crash interrupted; their targets are intact.
    fn remove_leftovers(&self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                self.remove_leftovers(&p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_temporary)
            {
                tracing::info!(file = %p.display(), "removing a write interrupted by a crash");
                let _ = std::fs::remove_file(&p);
            }
        }
    }

    fn path(&self, key: &StoreKey) -> PathBuf {
        self.fs.key_to_fspath(key)
    }

    /// Writes a new version of `key` through a temporary file beside it, renamed over it.
    fn replace(
        &self,
        key: &StoreKey,
        write: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<(), StorageError> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("value");
        let tmp = path.with_file_name(format!(
            ".{name}{TEMP_MARK}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        write(&tmp).map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path);
        Ok(())
    }

    /// Stores `parts`, one after the other, as the object `key`. An object of a MiB or more
    /// goes to the disk with direct I/O (Linux `O_DIRECT`), from a reused aligned buffer: the
    /// kernel then neither copies it into the page cache nor zeroes pages for it, which cost
    /// the sink as much CPU as a tenth of zstd's encoding. The call waits for the device, so it
    /// is made on the thread that stores a column, not on the encoding threads. Filesystems
    /// without direct I/O get ordinary writes (and this store stops trying).
    pub fn set_parts(&self, key: &StoreKey, parts: &[&[u8]]) -> Result<(), StorageError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.replace(key, |tmp| {
            if len >= direct::MIN_LEN && self.direct.load(Ordering::Relaxed) {
                match direct::write(tmp, parts) {
                    Ok(()) => return Ok(()),
                    Err(e) if direct::unsupported(&e) => {
                        tracing::debug!(file = %tmp.display(), error = %e,
                            "direct I/O refused here; the store writes through the page cache");
                        self.direct.store(false, Ordering::Relaxed);
                    }
                    Err(e) => return Err(e),
                }
            }
            write_early(tmp, parts)
        })
    }

    pub fn sync(&self) -> Result<(), StageError> {
        let mut written =
            std::mem::take(&mut *self.written.lock().unwrap_or_else(|e| e.into_inner()));
        written.sort();
        written.dedup();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for p in &written {
            let mut d = p.parent();
            while let Some(dir) = d {
                dirs.push(dir.to_path_buf());
                if dir == self.root {
                    break;
                }
                d = dir.parent();
            }
        }
        dirs.sort();
        dirs.dedup();
        // Files before the folders that name them.
        fsync_all(&written, true)?;
        fsync_all(&dirs, false)
    }
}

/// Fsyncs `paths` from a few threads at once: the filesystem's journal then commits their
/// metadata together instead of once per file (ext4 and XFS batch concurrent fsyncs), which
/// made a sync of a few dozen files wait a few milliseconds each. Files gone since (replaced,
/// then erased) are skipped; folders that cannot be opened too.
fn fsync_all(paths: &[PathBuf], files: bool) -> Result<(), StageError> {
    const THREADS: usize = 8;
    let one = |p: &PathBuf| match std::fs::File::open(p) {
        Ok(f) => f.sync_all().map_err(|e| StageError::io(p.display(), e)),
        Err(e) if !files || e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StageError::io(p.display(), e)),
    };
    if paths.len() <= 1 {
        return paths.iter().try_for_each(one);
    }
    let per = paths.len().div_ceil(THREADS);
    std::thread::scope(|s| {
        let running: Vec<_> = paths
            .chunks(per)
            .map(|group| s.spawn(move || group.iter().try_for_each(one)))
            .collect();
        running.into_iter().try_for_each(|t| {
            t.join()
                .unwrap_or_else(|_| Err(StageError::Other("an fsync thread panicked".into())))
        })
    })
}

/// Writes a new file and starts its writeback at once (Linux), so that the fsync at the next
/// sync finds most of it on disk already instead of waiting for all of it then.
fn write_early(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    for p in parts {
        f.write_all(p)?;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; the call only queues writeback of its pages.
        unsafe { libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    }
    Ok(())
}

const TEMP_MARK: &str = ".seisreduce-tmp";

fn is_temporary(name: &str) -> bool {
    name.contains(TEMP_MARK)
}

impl ReadableStorageTraits for DurableDirStore {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        self.fs.get_partial_many(key, byte_ranges)
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.fs.size_key(key)
    }

    fn supports_get_partial(&self) -> bool {
        true
    }
}

impl ListableStorageTraits for DurableDirStore {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.fs.list()
    }
    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.fs.list_prefix(prefix)
    }
    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.fs.list_dir(prefix)
    }
    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        self.fs.size_prefix(prefix)
    }
}

impl WritableStorageTraits for DurableDirStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        self.replace(key, |tmp| write_early(tmp, &[&value]))
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        _offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        Err(StorageError::Other(format!(
            "{key}: partial writes would not be atomic"
        )))
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.fs.erase(key)
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.fs.erase_prefix(prefix)
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}
