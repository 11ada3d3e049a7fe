//! A parsed record header and a record borrowed from its bytes.

use super::data;
use super::encoding::{ByteOrder, Encoding, SampleType, Samples};
use super::error::ErrorKind;
use crate::model::{Nanos, SampleRate, SourceId};

/// Outcome of parsing a header at the start of a buffer.
#[derive(Debug)]
pub enum Parsed {
    Record(RecordHeader),
    /// The record continues past the buffer; at least this many bytes are needed.
    NeedMore(usize),
}

/// Whether a record of `record_length` bytes is all in a buffer of `available` bytes: `None`
/// when it is, otherwise "need more" (more bytes may come) or "truncated" (`eof`: none will).
pub fn incomplete(
    record_length: usize,
    available: usize,
    eof: bool,
) -> Option<Result<Parsed, ErrorKind>> {
    if record_length <= available {
        None
    } else if eof {
        Some(Err(ErrorKind::Truncated {
            needed: record_length,
            available,
        }))
    } else {
        Some(Ok(Parsed::NeedMore(record_length)))
    }
}

/// A SEED blockette this library does not interpret, kept so that a record can be written back
/// with it. `body` is everything after the 4-byte type/next header, in the record's header byte
/// order (`order`).
#[derive(Debug, Clone, PartialEq)]
pub struct Blockette {
    pub kind: u16,
    pub body: Vec<u8>,
    pub order: ByteOrder,
}

/// Fields only miniSEED 2 has.
#[derive(Debug, Clone, PartialEq)]
pub struct V2Fields {
    /// Sequence number (0 when the field is blank).
    pub sequence: u32,
    /// Data quality indicator: `D`, `R`, `Q` or `M`.
    pub quality: u8,
    pub activity_flags: u8,
    pub io_flags: u8,
    pub data_quality_flags: u8,
    /// Time correction in units of 0.0001 s.
    pub time_correction: i32,
    pub header_order: ByteOrder,
    /// Timing quality from blockette 1001, percent.
    pub timing_quality: Option<u8>,
    /// Whether blockette 1000 was present (if not, the record length was found by searching
    /// for the next header and the encoding defaulted to Steim1, as libmseed does).
    pub has_b1000: bool,
    /// Blockettes other than 100, 1000 and 1001.
    pub other_blockettes: Vec<Blockette>,
}

/// Everything a record header says, in one shape for both format versions.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordHeader {
    /// 2 or 3.
    pub format_version: u8,
    pub sid: SourceId,
    /// Time of the first sample, with v2 time corrections and blockette 1001 applied.
    pub start: Nanos,
    pub rate: SampleRate,
    pub sample_count: usize,
    pub encoding: Encoding,
    /// Byte order of the data section.
    pub data_order: ByteOrder,
    pub record_length: usize,
    /// miniSEED 3 publication version (v2: derived from the quality indicator as libmseed
    /// does: R=1, D=2, Q=3, M=4).
    pub pub_version: u8,
    /// miniSEED 3 flags (v2: zero).
    pub flags: u8,
    /// miniSEED 3 extra headers (JSON text).
    pub extra: Option<String>,
    pub data_offset: usize,
    pub data_length: usize,
    /// What is odd but still readable (a start-time fraction of 10000), read the way the
    /// reference readers read it; callers log these.
    pub warnings: Vec<String>,
    pub v2: Option<V2Fields>,
}

impl RecordHeader {
    /// `NET.STA.LOC.CHA`.
    pub fn seed_text(&self) -> String {
        self.sid.seed_text()
    }
}

/// A record: its header and its bytes, borrowed from the buffer it was found in.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub header: RecordHeader,
    pub bytes: &'a [u8],
    /// Byte offset of the record in its input.
    pub offset: u64,
}

impl Record<'_> {
    pub fn data(&self) -> &[u8] {
        let h = &self.header;
        &self.bytes[h.data_offset..h.data_offset + h.data_length]
    }

    pub fn sample_type(&self) -> Option<SampleType> {
        self.header.encoding.sample_type()
    }

    /// Decodes the samples, appending to `out` (which must have this record's sample type).
    /// Returns whether the data's own integrity check passed (Steim's last-sample check).
    pub fn decode_into(&self, out: &mut Samples) -> Result<bool, ErrorKind> {
        let h = &self.header;
        data::decode_into(h.encoding, self.data(), h.sample_count, h.data_order, out)
    }

    pub fn decode(&self) -> Result<Samples, ErrorKind> {
        let t = self
            .sample_type()
            .ok_or(ErrorKind::UnsupportedEncoding(self.header.encoding.code()))?;
        let mut out = Samples::empty(t);
        self.decode_into(&mut out)?;
        Ok(out)
    }
}

/// A record that owns its bytes, as the incremental decoder hands them out.
#[derive(Debug, Clone)]
pub struct OwnedRecord {
    pub header: RecordHeader,
    pub bytes: Vec<u8>,
    pub offset: u64,
}

impl OwnedRecord {
    pub fn as_record(&self) -> Record<'_> {
        Record {
            header: self.header.clone(),
            bytes: &self.bytes,
            offset: self.offset,
        }
    }
}
