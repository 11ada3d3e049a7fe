//! A pure-Rust miniSEED 2 and 3 codec.
//!
//! - [`reader`]: finds records in a buffer ([`RecordReader`], zero-copy) or in bytes arriving
//!   from a socket ([`StreamDecoder`]); bad bytes yield errors with offsets, never a panic.
//! - [`v2`], [`v3`]: header parsing for each format version into one [`RecordHeader`].
//! - [`data`], [`steim`]: sample decoding for every encoding, legacy ones included.
//! - [`assemble`]: records into contiguous segments per stream, gaps and overlaps as data.
//! - [`writer`]: samples into v2 or v3 records.
//!
//! Nothing here opens files or sockets: callers hand in bytes (or, with [`RecordStream`], any
//! `std::io::Read`), which keeps the codec usable from files, sockets and Kafka messages alike,
//! and makes it fuzzable.

pub mod assemble;
pub mod data;
pub mod encoding;
pub mod error;
pub mod pack;
pub mod reader;
pub mod record;
pub mod selfcheck;
pub mod steim;
pub mod v2;
pub mod v3;
pub mod writer;

pub use assemble::{read_buffer, Assembler, Assembly, Discontinuity, GapKind, Segment};
pub use encoding::{ByteOrder, Encoding, SampleType, Samples};
pub use error::{EncodeError, ErrorKind, MseedError};
pub use reader::{parse_record, RecordReader, RecordStream, StreamDecoder, StreamItem};
pub use record::{Blockette, OwnedRecord, Record, RecordHeader, V2Fields};
pub use writer::{encode, EncodeOptions};
