//! Records into contiguous segments per stream, with gaps and overlaps reported as data.
//!
//! A record joins the segment before it when it has the same sample type, a rate within
//! libmseed's tolerance (1e-4 relative) and starts within half a sample period of where the
//! segment's next sample is due: libmseed's (and so ObsPy's) rule. Records arriving out of order
//! start segments of their own; [`Assembler::finish`] sorts each stream's segments by time and
//! joins those that then touch. Nothing is bridged: whatever does not touch stays a separate
//! segment, and the space between two segments is listed as a gap or an overlap.

use std::collections::HashMap;

use super::encoding::{Encoding, SampleType, Samples};
use super::error::{ErrorKind, MseedError};
use super::reader::RecordReader;
use super::record::Record;
use crate::model::{sample_time, Nanos, SampleRate, SourceId};

/// A contiguous run of samples of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub sid: SourceId,
    pub start: Nanos,
    pub rate: SampleRate,
    /// Encoding of the first record.
    pub encoding: Encoding,
    /// Length of the first record.
    pub record_length: usize,
    pub format_version: u8,
    pub samples: Samples,
    pub records: usize,
}

impl Segment {
    pub fn npts(&self) -> usize {
        self.samples.len()
    }

    /// Time of the last sample.
    pub fn end(&self) -> Nanos {
        if self.npts() == 0 {
            self.start
        } else {
            sample_time(self.start, self.npts() as i64 - 1, self.rate.hz())
        }
    }

    /// Time at which the next sample is due.
    pub fn next_expected(&self) -> Nanos {
        sample_time(self.start, self.npts() as i64, self.rate.hz())
    }

    /// Whether data of `rate` and sample type starting at `start` continues this segment.
    fn continued_by(&self, start: Nanos, rate: SampleRate, t: SampleType) -> bool {
        if self.samples.sample_type() != t || !self.rate.tolerably_equal(rate) {
            return false;
        }
        let Some(period) = self.rate.period_ns() else {
            return false;
        };
        (start.saturating_sub(self.next_expected()) as f64).abs() <= 0.5 * period
    }
}

/// Whether a discontinuity is missing data or doubled data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    Gap,
    Overlap,
}

/// A gap or overlap between two consecutive segments of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Discontinuity {
    pub sid: SourceId,
    pub kind: GapKind,
    /// Last sample before the discontinuity.
    pub start: Nanos,
    /// First sample after it.
    pub end: Nanos,
    /// `end - start`, negative for an overlap.
    pub duration_ns: i64,
    /// Samples missing (gap, positive) or doubled (overlap, negative).
    pub samples: i64,
}

/// The result of assembling a set of records.
#[derive(Debug, Default)]
pub struct Assembly {
    /// Sorted by source id, then start time.
    pub segments: Vec<Segment>,
    pub gaps: Vec<Discontinuity>,
    /// Records or bytes that could not be read, with their offsets.
    pub errors: Vec<MseedError>,
    /// Records whose Steim last-sample check failed (their samples are kept, as libmseed does).
    pub integrity_warnings: Vec<u64>,
    /// Records read despite an odd header (byte offset, what was odd).
    pub header_warnings: Vec<(u64, String)>,
    pub records: usize,
}

/// Builds segments from records fed one at a time.
#[derive(Default)]
pub struct Assembler {
    /// Segments per stream, in order of first appearance; `index` finds a stream's slot and
    /// `last` short-cuts the lookup for consecutive records of one stream (the common case).
    streams: Vec<(SourceId, Vec<Segment>)>,
    index: HashMap<SourceId, usize>,
    last: usize,
    errors: Vec<MseedError>,
    integrity_warnings: Vec<u64>,
    header_warnings: Vec<(u64, String)>,
    records: usize,
}

impl Assembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `rec` into the segment it continues, or a new one. A record that fails to decode
    /// is reported and leaves the segments as they were.
    pub fn add(&mut self, rec: &Record<'_>) -> Result<(), MseedError> {
        let h = &rec.header;
        let t = h.encoding.sample_type().ok_or_else(|| {
            MseedError::at(
                rec.offset,
                ErrorKind::UnsupportedEncoding(h.encoding.code()),
            )
        })?;
        let slot = match self.streams.get(self.last) {
            Some((sid, _)) if *sid == h.sid => self.last,
            _ => match self.index.get(&h.sid) {
                Some(&i) => i,
                None => {
                    self.index.insert(h.sid.clone(), self.streams.len());
                    self.streams.push((h.sid.clone(), Vec::new()));
                    self.streams.len() - 1
                }
            },
        };
        self.last = slot;
        let segs = &mut self.streams[slot].1;
        let joins = segs
            .last()
            .is_some_and(|s| s.continued_by(h.start, h.rate, t));
        if !joins {
            segs.push(Segment {
                sid: h.sid.clone(),
                start: h.start,
                rate: h.rate,
                encoding: h.encoding,
                record_length: h.record_length,
                format_version: h.format_version,
                samples: Samples::empty(t),
                records: 0,
            });
        }
        let Some(seg) = segs.last_mut() else {
            return Ok(());
        };
        match rec.decode_into(&mut seg.samples) {
            Ok(intact) => {
                if !intact {
                    self.integrity_warnings.push(rec.offset);
                }
                for w in &h.warnings {
                    self.header_warnings.push((rec.offset, w.clone()));
                }
                seg.records += 1;
                self.records += 1;
                Ok(())
            }
            Err(kind) => {
                // The samples are as they were (decode_into's contract); drop the segment
                // if this record would have been its first.
                if seg.records == 0 {
                    segs.pop();
                }
                Err(MseedError::at(rec.offset, kind))
            }
        }
    }

    /// Records an error met while reading, so it is reported with the assembly.
    pub fn report(&mut self, e: MseedError) {
        self.errors.push(e);
    }

    pub fn finish(self) -> Assembly {
        let mut out = Assembly {
            errors: self.errors,
            integrity_warnings: self.integrity_warnings,
            header_warnings: self.header_warnings,
            records: self.records,
            ..Default::default()
        };
        let mut streams = self.streams;
        streams.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, mut segs) in streams {
            segs.sort_by_key(|s| s.start);
            let mut merged: Vec<Segment> = Vec::with_capacity(segs.len());
            for s in segs {
                if let Some(last) = merged.last_mut() {
                    if last.continued_by(s.start, s.rate, s.samples.sample_type()) {
                        last.records += s.records;
                        last.samples.append(s.samples);
                        continue;
                    }
                    if let Some(d) = discontinuity(last, &s) {
                        out.gaps.push(d);
                    }
                }
                merged.push(s);
            }
            out.segments.extend(merged);
        }
        out
    }
}

fn discontinuity(prev: &Segment, next: &Segment) -> Option<Discontinuity> {
    let period = prev.rate.period_ns()?;
    let start = prev.end();
    let end = next.start;
    let duration_ns = end.saturating_sub(start);
    let samples = ((duration_ns as f64 / period).round() as i64).saturating_sub(1);
    let kind = if end > prev.next_expected() {
        GapKind::Gap
    } else {
        GapKind::Overlap
    };
    Some(Discontinuity {
        sid: prev.sid.clone(),
        kind,
        start,
        end,
        duration_ns,
        samples,
    })
}

/// Reads every record of a buffer (a whole file) into segments, collecting errors.
pub fn read_buffer(buf: &[u8]) -> Assembly {
    let mut asm = Assembler::new();
    // Smaller than any record (a v3 header with a one-byte id): say so rather than "not miniSEED".
    if buf.len() <= super::v3::FIXED_HEADER {
        asm.report(MseedError::at(0, ErrorKind::TooShort { len: buf.len() }));
        return asm.finish();
    }
    for item in RecordReader::new(buf) {
        match item {
            Ok(rec) => {
                if let Err(e) = asm.add(&rec) {
                    asm.report(e);
                }
            }
            Err(e) => asm.report(e),
        }
    }
    asm.finish()
}
