//! Windows filled from incoming blocks: one buffer per channel on its own sample grid, from the
//! oldest window still open to the newest sample. Windows start on multiples of `step` since
//! the epoch, so every channel (and every process) cuts the same windows whatever the blocks.

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

/// One channel's samples on its grid.
pub struct ChannelBuf {
    pub meta: ChannelMeta,
    rate: f64,
    /// Time of index 0 of the grid.
    anchor: Nanos,
    /// Index of `buf[head]`.
    first: i64,
    /// Samples held are `buf[head..]`; the dropped front is reclaimed when it is the larger
    /// part (a Vec, not a VecDeque: appending a block is then one copy).
    buf: Vec<f32>,
    /// Whether each buffered sample was recorded (false: a gap, filled with 0).
    valid: Vec<bool>,
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
            buf: Vec::new(),
            valid: Vec::new(),
            head: 0,
            gap_samples: 0,
            overlap_samples: 0,
        }
    }

    fn len(&self) -> usize {
        self.buf.len() - self.head
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
                self.buf.clear();
                self.valid.clear();
                self.head = 0;
                self.first = idx;
            } else {
                self.buf.resize(self.buf.len() + n, 0.0);
                self.valid.resize(self.valid.len() + n, false);
            }
        }
        let row = &row[skip..];
        if row.iter().all(|v| v.is_finite()) {
            self.buf.extend_from_slice(row);
            self.valid.resize(self.valid.len() + row.len(), true);
        } else {
            self.buf
                .extend(row.iter().map(|&v| if v.is_finite() { v } else { 0.0 }));
            self.valid.extend(row.iter().map(|v| v.is_finite()));
        }
    }

    /// Whether the window `[t, t + len)` of `npts` samples has been received whole.
    pub fn covers(&self, t: Nanos, npts: usize) -> bool {
        self.next() >= self.index_at_or_after(t) + npts as i64
    }

    /// The window of `npts` samples from the first at or after `t`, into `samples`.
    pub fn cut(&self, t: Nanos, npts: usize, samples: &mut Vec<f32>) -> Cut {
        let i0 = self.index_at_or_after(t);
        let offset_ns = (sample_time(self.anchor, i0, self.rate) - t) as f64;
        samples.clear();
        // The part of the window the buffer holds: buffer positions a..b, window positions
        // from a - k0. Gaps inside are stored as zeros, so only their count is needed; the
        // rest of the window is zeros, written once (not zeroed and then overwritten).
        let k0 = i0 - self.first;
        let len = self.len() as i64;
        let a = k0.clamp(0, len) as usize;
        let b = (k0 + npts as i64).clamp(0, len) as usize;
        let mut held = 0;
        let recorded = |k: i64| (0..len).contains(&k) && self.valid[self.head + k as usize];
        let ends_recorded = recorded(k0) && recorded(k0 + npts as i64 - 1);
        if b > a {
            let at = (a as i64 - k0) as usize;
            let (h, bh) = (self.head + a, self.head + b);
            samples.resize(at, 0.0);
            samples.extend_from_slice(&self.buf[h..bh]);
            held = self.valid[h..bh].iter().filter(|v| **v).count();
        }
        samples.resize(npts, 0.0);
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
        if self.head > self.len() {
            self.buf.drain(..self.head);
            self.valid.drain(..self.head);
            self.head = 0;
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
}
