//! Finding records in bytes: over a whole buffer ([`RecordReader`], records borrowed from the
//! buffer, no copies) or over bytes as they arrive from a socket ([`StreamDecoder`]).
//!
//! Both share one step function, so a file and a stream of the same bytes yield the same
//! records and the same errors. Bad bytes never stop the reading: a stretch that is not miniSEED
//! or a record that is corrupt yields one error naming its byte offset, and reading resumes at the
//! next plausible record header. Every step consumes at least one byte, so the loop always ends.

use super::error::{ErrorKind, MseedError};
use super::record::{OwnedRecord, Parsed, Record, RecordHeader};
use super::{v2, v3};

enum Step {
    Record(RecordHeader),
    /// An error covering `skip` bytes; reading resumes after them. `resynced` is false when
    /// the next header is not in the buffer yet (streaming), so more bytes belong to this error.
    Error(ErrorKind, usize, bool),
    NeedMore,
}

/// Whether a record may start at the beginning of `b`.
fn candidate(b: &[u8]) -> bool {
    v3::looks_like(b) || v2::header_order(b).is_some()
}

/// Parses the record at the start of `b`, whatever its version.
pub fn parse_record(b: &[u8], eof: bool) -> Result<Parsed, ErrorKind> {
    if v3::looks_like(b) {
        v3::parse(b, eof)
    } else {
        v2::parse(b, eof)
    }
}

/// Position of the next plausible header after byte 0 (`true`), or how far it is safe to skip
/// when there is none yet (`false`): everything at the end of the data, all but a header's worth
/// otherwise.
fn resync(b: &[u8], eof: bool) -> Option<(usize, bool)> {
    let found = (1..b.len()).find(|&i| candidate(&b[i..]));
    match found {
        Some(i) => Some((i, true)),
        None if eof => Some((b.len(), true)),
        None => {
            let keep = v2::FIXED_HEADER - 1;
            (b.len() > keep).then(|| (b.len() - keep, false))
        }
    }
}

fn step(b: &[u8], eof: bool) -> Step {
    if b.is_empty() {
        return Step::NeedMore;
    }
    if !candidate(b) {
        if !eof && b.len() < v2::FIXED_HEADER {
            return Step::NeedMore;
        }
        return match resync(b, eof) {
            Some((skip, done)) => Step::Error(ErrorKind::NotMiniseed { len: skip }, skip, done),
            None => Step::NeedMore,
        };
    }
    match parse_record(b, eof) {
        Ok(Parsed::Record(h)) => Step::Record(h),
        Ok(Parsed::NeedMore(_)) => Step::NeedMore,
        Err(kind) => {
            // A truncated record at the end of the data takes the rest with it.
            let skip = if matches!(kind, ErrorKind::Truncated { .. }) && eof {
                Some((b.len(), true))
            } else {
                resync(b, eof)
            };
            match skip {
                Some((skip, done)) => Step::Error(kind, skip, done),
                None => Step::NeedMore,
            }
        }
    }
}

/// Iterates over the records of a complete buffer (a file's bytes), borrowing them.
pub struct RecordReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> RecordReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        RecordReader { buf, pos: 0 }
    }
}

impl<'a> Iterator for RecordReader<'a> {
    type Item = Result<Record<'a>, MseedError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let offset = self.pos as u64;
        match step(rest, true) {
            Step::Record(header) => {
                let len = header.record_length;
                self.pos += len;
                Some(Ok(Record {
                    header,
                    bytes: &rest[..len],
                    offset,
                }))
            }
            Step::Error(kind, skip, _) => {
                self.pos += skip.max(1);
                Some(Err(MseedError::at(offset, kind)))
            }
            Step::NeedMore => {
                // Only reachable with eof=true for an empty rest, handled above.
                self.pos = self.buf.len();
                None
            }
        }
    }
}

/// Decodes records from bytes pushed as they arrive (a SeedLink socket, a growing file).
///
/// Push bytes with [`StreamDecoder::push`], take records with [`StreamDecoder::next_record`]
/// until it returns `None`, and call [`StreamDecoder::finish`] at the end of the input so that a
/// trailing partial record is reported as truncated.
#[derive(Default)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    pos: usize,
    /// Offset of `buf[0]` in the whole input.
    base: u64,
    eof: bool,
    /// A run of non-miniSEED bytes not yet reported: (offset, length). Runs are reported whole,
    /// once their end is known, so a stream reports them as a file read at once would.
    junk: Option<(u64, usize)>,
    /// The bytes up to the next header belong to an error already reported.
    silent: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        // Drop consumed bytes before growing, so memory stays bounded by one record.
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Marks the end of input: what remains is decoded as final.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    pub fn next_record(&mut self) -> Option<Result<OwnedRecord, MseedError>> {
        loop {
            let rest = &self.buf[self.pos..];
            let offset = self.base + self.pos as u64;
            let step = if rest.is_empty() {
                Step::NeedMore
            } else {
                step(rest, self.eof)
            };
            match step {
                Step::Error(ErrorKind::NotMiniseed { len }, skip, done) => {
                    if !self.silent {
                        let run = self.junk.get_or_insert((offset, 0));
                        run.1 += len;
                    }
                    self.silent &= !done;
                    self.pos += skip.max(1);
                    continue;
                }
                Step::NeedMore if !self.eof || !self.buf[self.pos..].is_empty() => return None,
                _ if self.junk.is_some() => {
                    // Whatever ends the run (a record, another error, the end) comes next call.
                    let (at, len) = self.junk.take()?;
                    return Some(Err(MseedError::at(at, ErrorKind::NotMiniseed { len })));
                }
                Step::Record(header) => {
                    let len = header.record_length;
                    let rec = OwnedRecord {
                        header,
                        bytes: rest[..len].to_vec(),
                        offset,
                    };
                    self.pos += len;
                    return Some(Ok(rec));
                }
                Step::Error(kind, skip, done) => {
                    self.pos += skip.max(1);
                    self.silent = !done;
                    return Some(Err(MseedError::at(offset, kind)));
                }
                Step::NeedMore => return None,
            }
        }
    }
}

/// Records from anything that implements [`std::io::Read`] (a TCP stream, a pipe, a growing
/// file): reads in blocks of up to 64 KiB and hands each record out as soon as it is whole.
/// I/O errors end the iteration after being yielded once.
pub struct RecordStream<R> {
    reader: R,
    decoder: StreamDecoder,
    buf: Vec<u8>,
    done: bool,
}

/// An item of a [`RecordStream`]: a record, a decoding error, or the reader's I/O error.
#[derive(Debug)]
pub enum StreamItem {
    Record(OwnedRecord),
    Bad(MseedError),
    Io(std::io::Error),
}

impl<R: std::io::Read> RecordStream<R> {
    pub fn new(reader: R) -> Self {
        RecordStream {
            reader,
            decoder: StreamDecoder::new(),
            buf: vec![0; 64 * 1024],
            done: false,
        }
    }
}

impl<R: std::io::Read> Iterator for RecordStream<R> {
    type Item = StreamItem;

    fn next(&mut self) -> Option<StreamItem> {
        loop {
            match self.decoder.next_record() {
                Some(Ok(rec)) => return Some(StreamItem::Record(rec)),
                Some(Err(e)) => return Some(StreamItem::Bad(e)),
                None if self.done => return None,
                None => {}
            }
            match self.reader.read(&mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    self.decoder.finish();
                }
                Ok(n) => self.decoder.push(&self.buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    self.decoder.finish();
                    return Some(StreamItem::Io(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_yields_one_error_and_ends() {
        let junk = vec![b'x'; 1000];
        let items: Vec<_> = RecordReader::new(&junk).collect();
        assert_eq!(items.len(), 1);
        let e = items[0].as_ref().unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(matches!(e.kind, ErrorKind::NotMiniseed { len: 1000 }));
    }

    #[test]
    fn stream_waits_for_more_bytes() {
        let mut d = StreamDecoder::new();
        d.push(b"MS\x03");
        assert!(d.next_record().is_none());
        d.finish();
        let e = d.next_record().unwrap().unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Truncated { .. }));
        assert!(d.next_record().is_none());
    }
}
