//! Windows filled from incoming blocks: one buffer per channel on its own sample grid, from the
//! oldest window still open to the newest sample. Windows start on multiples of `step` since
//! the epoch, so every channel (and every process) cuts the same windows whatever the blocks.

use std::sync::Arc;

use crate::model::{sample_time, ChannelMeta, Nanos};

/// What a window holds of one channel (its `npts` samples are written to the caller's buffer,
/// zero where nothing was recorded).
pub struct Cut {
    pub missing: usize,
    /// ns from the window's start to its first sample (under one sample period).
    pub offset_ns: f64,
    /// Whether the window's first and last samples were recorded: a window the data start
    /// or end inside is not whole, whatever gaps are allowed within it.
    pub ends_recorded: bool,
}

/// Whether no sample is NaN or infinite: without an early exit, so that the check vectorises.
fn all_finite(row: &[f32]) -> bool {
    row.iter().fold(true, |ok, v| ok & v.is_finite())
}

/// Appends `row` to `buf` with NaN and infinities as 0, and returns their offsets in `row`.
/// One pass over `row`: each piece is checked where it was just copied, still in L1, instead
/// of reading a block of hours twice from memory.
fn append_finite(buf: &mut Vec<f32>, row: &[f32]) -> Vec<usize> {
    const PIECE: usize = 256;
    let mut bad = Vec::new();
    buf.reserve(row.len());
    for (p, piece) in row.chunks(PIECE).enumerate() {
        let from = buf.len();
        buf.extend_from_slice(piece);
        let copied = &mut buf[from..];
        if !all_finite(copied) {
            for (k, v) in copied.iter_mut().enumerate() {
                if !v.is_finite() {
                    bad.push(p * PIECE + k);
                    *v = 0.0;
                }
            }
        }
    }
    bad
}

/// A window's samples: a range of a channel's buffer, or a copy where it was not held whole.
pub enum Window {
    Held(Arc<Vec<f32>>, std::ops::Range<usize>),
    Copied(Vec<f32>),
}

impl std::ops::Deref for Window {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            Window::Held(buf, range) => &buf[range.clone()],
            Window::Copied(samples) => samples,
        }
    }
}

/// One channel's samples on its grid.
pub struct ChannelBuf {
    pub meta: ChannelMeta,
    rate: f64,
    /// Time of index 0 of the grid.
    anchor: Nanos,
    /// Index of `buf[head]`.
    first: i64,
    /// Samples held are `buf[head..]`; the dropped front is reclaimed when it is the larger
    /// part (a Vec, not a VecDeque: appending a block is then one copy). Shared with the
    /// windows [`ChannelBuf::window`] hands out, so that a window held whole is not copied;
    /// while one is out, the next change copies the samples still held instead.
    buf: Arc<Vec<f32>>,
    /// The samples not recorded (gaps, filled with 0, and NaN samples), as sorted, disjoint
    /// ranges of grid indices: nothing to keep per sample when, as usual, all were recorded.
    gaps: Vec<std::ops::Range<i64>>,
    head: usize,
    /// Gap and overlap samples seen.
    pub gap_samples: u64,
    pub overlap_samples: u64,
}

impl ChannelBuf {
    pub fn new(meta: ChannelMeta, rate: f64, start: Nanos) -> ChannelBuf {
        ChannelBuf {
            meta,
            rate,
            anchor: start,
            first: 0,
            buf: Arc::new(Vec::new()),
            gaps: Vec::new(),
            head: 0,
            gap_samples: 0,
            overlap_samples: 0,
        }
    }

    fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    /// The samples to change: the buffer itself, or, while windows share it, a copy of what
    /// is still held (the dropped front left behind).
    fn samples_mut(&mut self) -> &mut Vec<f32> {
        if Arc::get_mut(&mut self.buf).is_none() {
            let mut live = Vec::with_capacity(self.len() * 2);
            live.extend_from_slice(&self.buf[self.head..]);
            self.head = 0;
            self.buf = Arc::new(live);
        }
        Arc::get_mut(&mut self.buf).expect("no window shares a buffer just made")
    }

    fn next(&self) -> i64 {
        self.first + self.len() as i64
    }

    /// Time of the oldest sample held (or of where the next will go).
    pub fn first_time(&self) -> Nanos {
        sample_time(self.anchor, self.first, self.rate)
    }

    /// Time just after the last sample received.
    pub fn end(&self) -> Nanos {
        sample_time(self.anchor, self.next(), self.rate)
    }

    /// The grid index nearest `t`.
    fn index_near(&self, t: Nanos) -> i64 {
        ((t - self.anchor) as f64 * self.rate / 1e9).round() as i64
    }

    /// The first grid index at or after `t`.
    fn index_at_or_after(&self, t: Nanos) -> i64 {
        let mut i = ((t - self.anchor) as f64 * self.rate / 1e9).ceil() as i64;
        while sample_time(self.anchor, i, self.rate) < t {
            i += 1;
        }
        while sample_time(self.anchor, i - 1, self.rate) >= t {
            i -= 1;
        }
        i
    }

    /// Appends one row of samples starting at `start`. NaN samples count as missing.
    pub fn push(&mut self, start: Nanos, row: &[f32]) {
        let idx = self.index_near(start);
        let next = self.next();
        let mut skip = 0usize;
        if idx < next {
            skip = ((next - idx) as usize).min(row.len());
            self.overlap_samples += skip as u64;
        } else if idx > next {
            let n = (idx - next) as usize;
            self.gap_samples += n as u64;
            if self.len() == 0 {
                // Nothing held: the buffer simply starts again after the gap (what is before
                // `first` reads as missing).
                self.samples_mut().clear();
                self.gaps.clear();
                self.head = 0;
                self.first = idx;
            } else {
                self.missing(next..idx);
                let buf = self.samples_mut();
                buf.resize(buf.len() + n, 0.0);
            }
        }
        let at = self.next();
        let bad = append_finite(self.samples_mut(), &row[skip..]);
        for k in bad {
            self.missing(at + k as i64..at + k as i64 + 1);
        }
    }

    /// Marks grid indices `r` (at or after every range marked so far) as not recorded.
    fn missing(&mut self, r: std::ops::Range<i64>) {
        match self.gaps.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => self.gaps.push(r),
        }
    }

    /// Samples of grid indices `r` that were not recorded.
    fn missing_in(&self, r: std::ops::Range<i64>) -> usize {
        self.gaps
            .iter()
            .map(|g| (g.end.min(r.end) - g.start.max(r.start)).max(0) as usize)
            .sum()
    }

    /// Whether the window `[t, t + len)` of `npts` samples has been received whole.
    pub fn covers(&self, t: Nanos, npts: usize) -> bool {
        self.next() >= self.index_at_or_after(t) + npts as i64
    }

    /// The window of `npts` samples from the first at or after `t`: the buffer's own samples
    /// when it holds the window whole (no copy), else a copy with zeros where nothing is held.
    pub fn window(&self, t: Nanos, npts: usize) -> (Window, Cut) {
        let i0 = self.index_at_or_after(t);
        let k0 = i0 - self.first;
        if k0 >= 0 && k0 as usize + npts <= self.len() {
            let from = self.head + k0 as usize;
            let cut = self.cut_from((t, i0), npts, |_, _| {});
            (Window::Held(self.buf.clone(), from..from + npts), cut)
        } else {
            let mut samples = Vec::with_capacity(npts);
            let cut = self.cut_into((t, i0), npts, &mut samples);
            (Window::Copied(samples), cut)
        }
    }

    /// The window of `npts` samples from the first at or after `t`, into `samples`.
    pub fn cut(&self, t: Nanos, npts: usize, samples: &mut Vec<f32>) -> Cut {
        self.cut_into((t, self.index_at_or_after(t)), npts, samples)
    }

    /// [`ChannelBuf::cut`] from `t` and its first grid index at or after it.
    fn cut_into(&self, (t, i0): (Nanos, i64), npts: usize, samples: &mut Vec<f32>) -> Cut {
        samples.clear();
        let cut = self.cut_from((t, i0), npts, |at, held| {
            samples.resize(at, 0.0);
            samples.extend_from_slice(held);
        });
        samples.resize(npts, 0.0);
        cut
    }

    /// What the window of `npts` samples from grid index `i0` (the first at or after `t`)
    /// holds; `copy` gets the part the buffer holds and its position in the window, if any.
    fn cut_from(
        &self,
        (t, i0): (Nanos, i64),
        npts: usize,
        mut copy: impl FnMut(usize, &[f32]),
    ) -> Cut {
        let offset_ns = (sample_time(self.anchor, i0, self.rate) - t) as f64;
        // The part of the window the buffer holds: buffer positions a..b, window positions
        // from a - k0. Gaps inside are stored as zeros, so only their count is needed; the
        // rest of the window is zeros, written once (not zeroed and then overwritten).
        let k0 = i0 - self.first;
        let len = self.len() as i64;
        let a = k0.clamp(0, len) as usize;
        let b = (k0 + npts as i64).clamp(0, len) as usize;
        let mut held = 0;
        let recorded = |k: i64| {
            let i = self.first + k;
            (0..len).contains(&k) && self.missing_in(i..i + 1) == 0
        };
        let ends_recorded = recorded(k0) && recorded(k0 + npts as i64 - 1);
        if b > a {
            let at = (a as i64 - k0) as usize;
            let (h, bh) = (self.head + a, self.head + b);
            copy(at, &self.buf[h..bh]);
            let first = self.first + a as i64;
            held = (b - a) - self.missing_in(first..first + (b - a) as i64);
        }
        Cut {
            missing: npts - held,
            offset_ns,
            ends_recorded,
        }
    }

    /// Forgets samples before `t` (no window still open needs them).
    pub fn drop_before(&mut self, t: Nanos) {
        let i = self.index_at_or_after(t);
        let n = (i - self.first).clamp(0, self.len() as i64) as usize;
        self.head += n;
        self.first += n as i64;
        let first = self.first;
        self.gaps.retain(|g| g.end > first);
        // While a window shares the buffer, the next change copies what is still held.
        if self.head > self.len() {
            if let Some(buf) = Arc::get_mut(&mut self.buf) {
                buf.drain(..self.head);
                self.head = 0;
            }
        }
    }

    pub fn held(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeedId;

    fn meta() -> ChannelMeta {
        ChannelMeta {
            source_id: SeedId::new("XX", "A", "", "HHZ").to_source_id(),
            distance_m: None,
        }
    }

    #[test]
    fn gaps_overlaps_and_offsets() {
        let sec = 1_000_000_000;
        // 10 Hz, starting 0.03 s after a second.
        let mut b = ChannelBuf::new(meta(), 10.0, 30_000_000);
        b.push(30_000_000, &(0..10).map(|v| v as f32).collect::<Vec<_>>());
        // a gap of 5 samples, then an overlap of 2
        b.push(
            30_000_000 + 15 * sec / 10,
            &(15..20).map(|v| v as f32).collect::<Vec<_>>(),
        );
        b.push(
            30_000_000 + 18 * sec / 10,
            &(18..25).map(|v| v as f32).collect::<Vec<_>>(),
        );
        assert_eq!((b.gap_samples, b.overlap_samples), (5, 2));
        assert!(b.covers(sec, 10));
        let mut x = Vec::new();
        let c = b.cut(sec, 10, &mut x);
        assert_eq!(c.offset_ns, 30_000_000.0);
        assert_eq!(x[0], 0.0); // index 10 is in the gap
        assert_eq!(c.missing, 5);
        assert!(!c.ends_recorded); // the first sample falls in the gap
        assert!(b.cut(sec + sec / 2, 10, &mut Vec::new()).ends_recorded);
        assert!(!b.cut(-sec, 10, &mut Vec::new()).ends_recorded); // before the first sample
        assert_eq!(x[5], 15.0);
        b.drop_before(2 * sec);
        assert_eq!(b.held(), 5);
    }

    /// A window held whole is the buffer's own samples; it keeps them while the buffer takes
    /// more blocks and drops its front, and it counts NaN samples and gaps as `cut` does.
    #[test]
    fn shared_windows_stay_as_cut_while_the_buffer_moves_on() {
        let sec = 1_000_000_000;
        let mut b = ChannelBuf::new(meta(), 10.0, 0);
        let mut row: Vec<f32> = (0..30).map(|v| v as f32).collect();
        row[12] = f32::NAN;
        b.push(0, &row);
        let (w, c) = b.window(sec, 10);
        assert!(matches!(w, Window::Held(..)));
        let mut x = Vec::new();
        let cut = b.cut(sec, 10, &mut x);
        assert_eq!(&w[..], &x[..]);
        assert_eq!((c.missing, cut.missing), (1, 1));
        assert_eq!(w[2], 0.0);
        // a gap of 4 samples, then the front dropped, while the window is out
        b.push(34 * sec / 10, &[34.0, 35.0, 36.0]);
        b.drop_before(25 * sec / 10);
        b.push(
            37 * sec / 10,
            &(37..60).map(|v| v as f32).collect::<Vec<_>>(),
        );
        assert_eq!(&w[..], &x[..]);
        assert_eq!(w[0], 10.0);
        let (late, c) = b.window(3 * sec, 10);
        assert_eq!(c.missing, 4);
        assert_eq!(late[..4], [0.0; 4]);
        assert_eq!(late[4], 34.0);
        assert_eq!(b.held(), 35);
        // not held whole: a copy, zero beyond the last sample
        let (tail, c) = b.window(55 * sec / 10, 10);
        assert!(matches!(tail, Window::Copied(_)));
        assert_eq!((c.missing, tail[4], tail[5]), (5, 59.0, 0.0));
    }
}
