//! Process-wide memory policy.
//!
//! Decoding a file allocates its traces afresh. With the C library's defaults, glibc serves
//! blocks above 128 KiB–32 MiB by `mmap` and returns them to the kernel when freed, so every file
//! pays one page fault per 4 KiB of samples again: on the benchmark file that costs more than
//! the decoding itself. A long-running reader (a directory or an archive replay, a pipeline
//! stage) should instead keep freed memory and reuse it. The price is that the process keeps its
//! peak heap (up to the trim threshold below) instead of shrinking after a large file.

/// Blocks up to this size come from the heap and are reused after being freed.
pub const MMAP_THRESHOLD: usize = 256 << 20;
/// Free heap kept at the top of the heap instead of being returned to the kernel.
pub const TRIM_THRESHOLD: usize = 1 << 30;

/// Tells the C allocator to keep and reuse freed memory (glibc only; elsewhere a no-op).
/// Call once, early, before threads start.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads
    // exist (documented contract of this function) and takes plain integers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD as libc::c_int);
    }
}
