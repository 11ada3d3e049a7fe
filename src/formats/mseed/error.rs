//! Errors of the miniSEED codec. Every decoding error carries the byte offset of the record (or
//! of the bytes) it concerns, so that a message can name the place in the file; the file name is
//! added by whoever opened the file.

use super::encoding::Encoding;

/// What went wrong with one record or one stretch of bytes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    #[error("{len} bytes are not miniSEED (no valid v2 or v3 record header found)")]
    NotMiniseed { len: usize },
    #[error("file is empty or shorter than the smallest miniSEED record ({len} bytes; a v2 record is at least 128 and a v3 header 40)")]
    TooShort { len: usize },
    #[error("record is truncated: it needs {needed} bytes but only {available} remain")]
    Truncated { needed: usize, available: usize },
    #[error("record length {0} is outside the supported range 128..=131072 bytes")]
    BadRecordLength(u64),
    #[error("blockette chain is corrupt: blockette at byte {at} points to the next one at byte {next} ({why})")]
    BadBlockette {
        at: usize,
        next: usize,
        why: &'static str,
    },
    #[error("data offset {offset} is outside the record (header ends at {header_end}, record length {record_length})")]
    BadDataOffset {
        offset: usize,
        header_end: usize,
        record_length: usize,
    },
    #[error("encoding {0} is not supported for decoding")]
    UnsupportedEncoding(u8),
    #[error("{encoding} data holds {decoded} samples but the header says {expected}")]
    SampleCount {
        encoding: Encoding,
        expected: usize,
        decoded: usize,
    },
    #[error("corrupt {encoding} data: {why}")]
    CorruptData { encoding: Encoding, why: String },
    #[error("CRC-32C mismatch: record says {stored:#010x}, data gives {computed:#010x}")]
    Crc { stored: u32, computed: u32 },
    #[error("invalid header field {field}: {why}")]
    BadHeader { field: &'static str, why: String },
}

/// A decoding error at a byte offset of the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("byte {offset}: {kind}")]
pub struct MseedError {
    pub offset: u64,
    pub kind: ErrorKind,
}

impl MseedError {
    pub fn at(offset: u64, kind: ErrorKind) -> Self {
        MseedError { offset, kind }
    }
}

/// Why samples could not be written as miniSEED.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    #[error("sample {index} ({value}) does not fit {encoding}")]
    OutOfRange {
        index: usize,
        value: f64,
        encoding: Encoding,
    },
    #[error("difference {diff} before sample {index} exceeds Steim2's 30-bit range; use STEIM1 or INT32")]
    SteimRange { index: usize, diff: i64 },
    #[error("{encoding} cannot encode {samples} samples (use an encoding of that sample type)")]
    WrongSampleType {
        encoding: Encoding,
        samples: &'static str,
    },
    #[error("encoding {0} cannot be written (only STEIM1, STEIM2, INT16, INT32, FLOAT32, FLOAT64 and ASCII)")]
    Unwritable(Encoding),
    #[error("record length {0} is not supported for writing (v2: a power of two from 256 to 8192; v3: 256 to 131072)")]
    RecordLength(usize),
    #[error("{0} has codes too long for miniSEED 2 (network 2, station 5, location 2, channel 3 characters); write miniSEED 3")]
    Codes(String),
    #[error("blockette {kind} was read in the other byte order; write with that byte order (its body cannot be swapped without knowing its layout)")]
    BlocketteOrder { kind: u16 },
    #[error("year {0} cannot be written as miniSEED 2, whose readers accept 1900 to 2100; write miniSEED 3")]
    TimeRange(i32),
    #[error("source id {0:?} is longer than 255 bytes")]
    SourceIdTooLong(String),
    #[error("extra headers are {0} bytes, more than the 65535 miniSEED 3 allows")]
    ExtraTooLong(usize),
}
