//! Direct I/O writes of large objects (Linux `O_DIRECT`): the bytes go from a reused, aligned
//! staging buffer to the device, with no copy into the page cache and no page cache to fill
//! and later evict. What the filesystem cannot take directly is reported as unsupported, and
//! the caller writes through the page cache instead.

#[cfg(not(target_os = "linux"))]
use std::path::Path;

/// Objects smaller than this go through the page cache.
pub const MIN_LEN: usize = 1 << 20;

/// Whether `e` says the filesystem does not do direct I/O (tmpfs, some overlays), rather than
/// that the write itself failed.
pub fn unsupported(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
        )
}

#[cfg(target_os = "linux")]
pub use self::linux::write;

#[cfg(not(target_os = "linux"))]
pub fn write(_: &Path, _: &[&[u8]]) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(target_os = "linux")]
mod linux {
    use std::alloc::Layout;
    use std::cell::RefCell;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    /// Alignment of the buffer, of the file offsets and of the lengths written directly: a
    /// multiple of both 512-byte and 4 KiB logical blocks.
    const ALIGN: usize = 4096;
    /// Bytes staged and written at a time.
    const STAGE: usize = 4 << 20;

    /// A heap buffer aligned for direct I/O.
    struct Staging(*mut u8);

    impl Staging {
        fn new() -> Staging {
            let layout = Layout::from_size_align(STAGE, ALIGN).expect("a valid layout");
            // SAFETY: a non-zero size; the pointer is checked for failure.
            let p = unsafe { std::alloc::alloc(layout) };
            if p.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            Staging(p)
        }

        fn bytes(&mut self) -> &mut [u8] {
            // SAFETY: STAGE bytes allocated by `new`, owned by this value, borrowed mutably.
            unsafe { std::slice::from_raw_parts_mut(self.0, STAGE) }
        }
    }

    impl Drop for Staging {
        fn drop(&mut self) {
            let layout = Layout::from_size_align(STAGE, ALIGN).expect("a valid layout");
            // SAFETY: allocated in `new` with this layout.
            unsafe { std::alloc::dealloc(self.0, layout) };
        }
    }

    thread_local! {
        static STAGING: RefCell<Option<Staging>> = const { RefCell::new(None) };
    }

    /// Writes `parts`, one after the other, as the new file `path`: whole blocks directly,
    /// the last partial block through the page cache.
    pub fn write(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)?;
        STAGING.with(|s| {
            let mut s = s.borrow_mut();
            let buf = s.get_or_insert_with(Staging::new).bytes();
            let mut fill = 0;
            for part in parts {
                let mut rest = *part;
                while !rest.is_empty() {
                    let n = rest.len().min(STAGE - fill);
                    buf[fill..fill + n].copy_from_slice(&rest[..n]);
                    fill += n;
                    rest = &rest[n..];
                    if fill == STAGE {
                        f.write_all(buf)?;
                        fill = 0;
                    }
                }
            }
            let whole = fill / ALIGN * ALIGN;
            f.write_all(&buf[..whole])?;
            if fill > whole {
                let fd = f.as_raw_fd();
                // SAFETY: fcntl on a descriptor this function owns, reading then clearing a flag.
                let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
                if flags < 0
                    || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                f.write_all(&buf[whole..fill])?;
            }
            Ok(())
        })
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn objects_of_any_length_read_back_whole() {
            let dir = tempfile::tempdir().unwrap();
            let data: Vec<u8> = (0..(9 << 20) + 123).map(|i| (i * 31 % 251) as u8).collect();
            for len in [1 << 20, (4 << 20) + 4096, (9 << 20) + 123] {
                let (a, b) = data[..len].split_at(len / 3);
                let p = dir.path().join(format!("{len}"));
                match super::write(&p, &[a, &[], b]) {
                    Ok(()) => assert_eq!(std::fs::read(&p).unwrap(), &data[..len], "{len}"),
                    // This test's folder may be on a filesystem without direct I/O.
                    Err(e) if super::super::unsupported(&e) => return,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
}
