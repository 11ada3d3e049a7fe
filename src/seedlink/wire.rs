//! SeedLink packets on the wire, both protocol versions, in both directions.
//!
//! - v3: `SL` + six hex digits of sequence + one miniSEED record. The header carries no
//!   length, so the record's own header says how long it is (blockette 1000, or the v3
//!   length field); only a v2 record without blockette 1000 is taken as the protocol's
//!   standard 512 bytes. INFO replies are `SLINFO *` (more follow) or `SLINFO  ` (last) +
//!   a text-encoded miniSEED record holding part of the XML.
//! - v4: `SE`, format and subformat bytes, payload length (u32 LE), sequence (u64 LE),
//!   station-id length (u8), the station id (`NET_STA`), the payload.
//! - In both, a bare `END` ends a dial-up (fetch) session, and an `ERROR` line can arrive
//!   where a packet would.
//!
//! [`FrameReader`] takes bytes as they arrive and yields whole frames; anything malformed is
//! an error (the caller reconnects), never a panic or an unbounded buffer.

use crate::formats::mseed::record::{Parsed, RecordHeader};
use crate::formats::mseed::{self, Encoding, Samples};
use crate::model::SourceId;

/// The largest payload accepted from a peer; real packets are a few KiB.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// The longest reply or command line accepted.
pub const MAX_LINE: usize = 8192;
/// The v3 protocol's record length (and what v3 clients such as ObsPy's expect).
pub const V3_RECORD: usize = 512;

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V3,
    V4,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V3 => 3,
            Version::V4 => 4,
        }
    }
}

/// One thing read from a streaming connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A data packet. v3 packets carry no station id: it is taken from the record.
    Data {
        seq: u64,
        station: String,
        /// v4 format byte (`2`, `3`); v3: `2` or `3` from the record.
        format: u8,
        subformat: u8,
        payload: Vec<u8>,
    },
    /// An INFO reply (or keepalive answer): the text (v3 XML, v4 JSON) and whether more
    /// INFO packets of the same reply follow (v3 only). `error` for v4 JSON error packets.
    Info {
        text: String,
        more: bool,
        error: bool,
    },
    /// End of a fetch session or of the requested time windows.
    End,
    /// An `ERROR` line in the stream.
    Error(String),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error("not a SeedLink packet: bytes {0:?} where a packet header was expected")]
    Signature(String),
    #[error("bad v3 sequence number {0:?}")]
    Sequence(String),
    #[error("payload of {0} bytes is more than the {MAX_PAYLOAD} accepted")]
    TooLong(usize),
    #[error("station id of {0} bytes is not text")]
    StationId(usize),
    #[error("payload is not a miniSEED record: {0}")]
    Record(String),
    #[error("INFO reply is not text: {0}")]
    Info(String),
}

/// Splits the bytes of a streaming connection into [`Frame`]s.
#[derive(Debug)]
pub struct FrameReader {
    version: Version,
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf` (compacted before growing).
    at: usize,
}

impl FrameReader {
    pub fn new(version: Version) -> Self {
        FrameReader {
            version,
            buf: Vec::with_capacity(16 * 1024),
            at: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        } else if self.at > self.buf.capacity() / 2 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `None` when more bytes are needed. After an error the reader is
    /// in an unknown place in the stream: the caller drops the connection.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        // Line ends left between frames (a server's `END\r\n`) are not frames.
        while matches!(self.buf.get(self.at), Some(b'\r' | b'\n')) {
            self.at += 1;
        }
        let b = &self.buf[self.at..];
        let Some((frame, used)) = parse_frame(b, self.version)? else {
            return Ok(None);
        };
        self.at += used;
        Ok(Some(frame))
    }
}

/// Parses one frame at the start of `b`: the frame and the bytes it took, or `None` when
/// `b` holds only part of it.
pub fn parse_frame(b: &[u8], version: Version) -> Result<Option<(Frame, usize)>, WireError> {
    if b.len() < 3 {
        let opens = |c: &[u8]| c.starts_with(b) || b.starts_with(c);
        return if [&b"END"[..], b"ERROR", b"SL", b"SE"].into_iter().any(opens) {
            Ok(None)
        } else {
            Err(bad_signature(b))
        };
    }
    if b.starts_with(b"END") {
        return Ok(Some((Frame::End, 3)));
    }
    if b.starts_with(b"ERR") {
        let Some(end) = find_eol(b) else {
            return if b.len() > MAX_LINE {
                Err(WireError::TooLong(b.len()))
            } else {
                Ok(None)
            };
        };
        if b[end] == b'\r' && end + 1 == b.len() {
            // A LF may follow: wait for it, so CRLF is taken whole however it arrives.
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&b[..end]).trim().to_string();
        return Ok(Some((Frame::Error(text), line_end(b, end))));
    }
    match (version, &b[..2]) {
        (_, b"SL") => parse_v3(b),
        (Version::V4, b"SE") => parse_v4(b),
        _ => Err(bad_signature(b)),
    }
}

/// The bytes that rule a signature out: the first when no signature starts with it, else
/// the first two (the same however the bytes arrived).
fn bad_signature(b: &[u8]) -> WireError {
    let n = if matches!(b[0], b'S' | b'E') { 2 } else { 1 };
    WireError::Signature(show(&b[..n.min(b.len())]))
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Index of the first CR or LF.
pub fn find_eol(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\r' || c == b'\n')
}

/// The index after a line ending at `end` (CR, LF or CRLF).
pub fn line_end(b: &[u8], end: usize) -> usize {
    if b.get(end) == Some(&b'\r') && b.get(end + 1) == Some(&b'\n') {
        end + 2
    } else {
        end + 1
    }
}

/// The miniSEED record at the start of `b`: its length and header, `None` if more bytes are
/// needed to tell. v2 records without blockette 1000 are the v3 protocol's 512 bytes.
pub fn record_at(b: &[u8]) -> Result<Option<(usize, RecordHeader)>, WireError> {
    if b.len() < 64 {
        return Ok(None);
    }
    match mseed::parse_record(b, false) {
        Ok(Parsed::Record(h)) => {
            let has_b1000 = h.v2.as_ref().is_none_or(|v| v.has_b1000);
            let len = if has_b1000 {
                h.record_length
            } else {
                V3_RECORD
            };
            Ok(Some((len, h)))
        }
        Ok(Parsed::NeedMore(n)) if n <= MAX_PAYLOAD => Ok(None),
        Ok(Parsed::NeedMore(n)) => Err(WireError::TooLong(n)),
        Err(e) => Err(WireError::Record(e.to_string())),
    }
}

fn parse_v3(b: &[u8]) -> Result<Option<(Frame, usize)>, WireError> {
    if b.len() < 8 {
        return Ok(None);
    }
    let info = b.starts_with(b"SLINFO");
    let seq = if info {
        0
    } else {
        let hex = std::str::from_utf8(&b[2..8]).unwrap_or("");
        u64::from_str_radix(hex, 16).map_err(|_| WireError::Sequence(show(&b[2..8])))?
    };
    let rec = &b[8..];
    let Some((len, h)) = record_at(rec)? else {
        return Ok(None);
    };
    if rec.len() < len {
        return Ok(None);
    }
    let rec = &rec[..len];
    if info {
        let text = info_text(rec)?;
        let more = b[7] == b'*';
        return Ok(Some((
            Frame::Info {
                text,
                more,
                error: false,
            },
            8 + len,
        )));
    }
    Ok(Some((
        Frame::Data {
            seq,
            station: station_of(&h.sid),
            format: b'0' + h.format_version,
            subformat: b'D',
            payload: rec.to_vec(),
        },
        8 + len,
    )))
}

const V4_HEAD: usize = 17;

fn parse_v4(b: &[u8]) -> Result<Option<(Frame, usize)>, WireError> {
    if b.len() < V4_HEAD {
        return Ok(None);
    }
    let format = b[2];
    let subformat = b[3];
    let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    let seq = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"));
    let sid_len = b[16] as usize;
    if len > MAX_PAYLOAD {
        return Err(WireError::TooLong(len));
    }
    let total = V4_HEAD + sid_len + len;
    if b.len() < total {
        return Ok(None);
    }
    let station = std::str::from_utf8(&b[V4_HEAD..V4_HEAD + sid_len])
        .map_err(|_| WireError::StationId(sid_len))?
        .to_string();
    let payload = &b[V4_HEAD + sid_len..total];
    let frame = match format {
        b'J' | b'X' => Frame::Info {
            text: std::str::from_utf8(payload)
                .map_err(|e| WireError::Info(e.to_string()))?
                .to_string(),
            more: false,
            error: subformat == b'E',
        },
        _ => Frame::Data {
            seq,
            station,
            format,
            subformat,
            payload: payload.to_vec(),
        },
    };
    Ok(Some((frame, total)))
}

/// `NET_STA` of a source id: the station id SeedLink uses.
pub fn station_of(sid: &SourceId) -> String {
    let (net, sta, _) = split_sid(sid);
    format!("{net}_{sta}")
}

/// A source id as (network, station, stream): `FDSN:FR_CIEL_00_H_H_Z` gives `FR`, `CIEL`,
/// `00_H_H_Z` (the v4 stream id, location first).
pub fn split_sid(sid: &SourceId) -> (&str, &str, &str) {
    let s = sid.as_str().strip_prefix("FDSN:").unwrap_or(sid.as_str());
    let mut it = s.splitn(3, '_');
    let net = it.next().unwrap_or("");
    let sta = it.next().unwrap_or("");
    let rest = it.next().unwrap_or("");
    (net, sta, rest)
}

/// The text of an INFO record (text-encoded miniSEED), without trailing padding.
fn info_text(rec: &[u8]) -> Result<String, WireError> {
    let r = mseed::RecordReader::new(rec)
        .next()
        .ok_or_else(|| WireError::Info("no record".into()))?
        .map_err(|e| WireError::Info(e.to_string()))?;
    match r.decode() {
        Ok(Samples::Text(t)) => Ok(String::from_utf8_lossy(&t)
            .trim_end_matches(['\0', ' '])
            .to_string()),
        Ok(_) => Err(WireError::Info("record is not text-encoded".into())),
        Err(e) => Err(WireError::Info(e.to_string())),
    }
}

/// A v3 data packet.
pub fn v3_packet(seq: u64, record: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + record.len());
    p.extend_from_slice(format!("SL{:06X}", seq & 0xFF_FFFF).as_bytes());
    p.extend_from_slice(record);
    p
}

/// A v4 packet.
pub fn v4_packet(format: u8, subformat: u8, seq: u64, station: &str, payload: &[u8]) -> Vec<u8> {
    let sid = &station.as_bytes()[..station.len().min(255)];
    let mut p = Vec::with_capacity(V4_HEAD + sid.len() + payload.len());
    p.extend_from_slice(b"SE");
    p.push(format);
    p.push(subformat);
    p.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.push(sid.len() as u8);
    p.extend_from_slice(sid);
    p.extend_from_slice(payload);
    p
}

/// A v3 INFO reply: the text cut into 512-byte text records, each behind `SLINFO *`
/// (more follow) or `SLINFO  ` (the last).
pub fn v3_info_packets(text: &str) -> Vec<Vec<u8>> {
    let sid = SourceId::from_codes("SL", "INFO", "", "LOG");
    let opts = mseed::EncodeOptions {
        encoding: Encoding::Ascii,
        record_length: V3_RECORD,
        ..Default::default()
    };
    let samples = Samples::Text(text.as_bytes().to_vec());
    let rate = crate::model::SampleRate(0.0);
    let records =
        mseed::encode(&sid, crate::model::now(), rate, &samples, &opts).unwrap_or_default();
    let n = records.len();
    records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut p = Vec::with_capacity(8 + r.len());
            p.extend_from_slice(if i + 1 < n { b"SLINFO *" } else { b"SLINFO  " });
            p.extend_from_slice(&r);
            p
        })
        .collect()
}

/// Reads `data` as a stream of both versions, whole and in pieces of `piece` bytes, and
/// checks the two agree; also reads it as command and reply text. The fuzz target's body:
/// nothing here may panic, loop for ever or grow without bound.
pub fn selfcheck(data: &[u8], piece: usize) -> Result<(), String> {
    for v in [Version::V3, Version::V4] {
        let whole = frames_of(data, data.len().max(1), v);
        let split = frames_of(data, piece.max(1), v);
        if whole != split {
            return Err(format!(
                "{v:?}: whole {whole:?} but in pieces of {piece} {split:?}"
            ));
        }
    }
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let _ = super::select::Pattern::parse(line).map(|p| (p.v3_select(), p.v3_station()));
        let _ = super::select::Selector::parse(line);
        let _ = super::select::StationSel::parse(line, line.len() % 2 == 0);
        let _ = super::info::parse_any_time(line);
    }
    let _ = super::info::stations(&text);
    let _ = super::info::as_json(&text);
    Ok(())
}

/// The frames (and the first error) found in `data` pushed `piece` bytes at a time.
fn frames_of(data: &[u8], piece: usize, v: Version) -> Vec<Result<Frame, WireError>> {
    let mut r = FrameReader::new(v);
    let mut out = Vec::new();
    for c in data.chunks(piece) {
        r.push(c);
        loop {
            match r.next_frame() {
                Ok(Some(f)) => out.push(Ok(f)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u32) -> Vec<u8> {
        let sid = SourceId::from_codes("FR", "CIEL", "00", "HHZ");
        let opts = mseed::EncodeOptions {
            record_length: 512,
            first_sequence: seq,
            ..Default::default()
        };
        let s = Samples::Int((0..100).collect());
        mseed::encode(
            &sid,
            1_700_000_000_000_000_000,
            crate::model::SampleRate(100.0),
            &s,
            &opts,
        )
        .unwrap()
        .remove(0)
    }

    #[test]
    fn v3_packets_read_back_in_any_pieces() {
        let mut bytes = v3_packet(0xABCDEF, &record(1));
        bytes.extend(v3_info_packets(&"<seedlink>x</seedlink>".repeat(40)).concat());
        bytes.extend_from_slice(b"END");
        for piece in [1, 7, 100, 10_000] {
            let mut r = FrameReader::new(Version::V3);
            let mut frames = Vec::new();
            for c in bytes.chunks(piece) {
                r.push(c);
                while let Some(f) = r.next_frame().unwrap() {
                    frames.push(f);
                }
            }
            let Frame::Data {
                seq,
                station,
                payload,
                ..
            } = &frames[0]
            else {
                panic!()
            };
            assert_eq!(
                (*seq, station.as_str(), payload.len()),
                (0xABCDEF, "FR_CIEL", 512)
            );
            let text: String = frames[1..frames.len() - 1]
                .iter()
                .map(|f| match f {
                    Frame::Info { text, .. } => text.clone(),
                    _ => panic!(),
                })
                .collect();
            assert_eq!(text, "<seedlink>x</seedlink>".repeat(40));
            assert_eq!(frames.last(), Some(&Frame::End));
        }
    }

    #[test]
    fn v4_packets_read_back() {
        let rec = record(3);
        let p = v4_packet(b'2', b'D', 1 << 40, "FR_CIEL", &rec);
        let (f, used) = parse_frame(&p, Version::V4).unwrap().unwrap();
        assert_eq!(used, p.len());
        assert_eq!(
            f,
            Frame::Data {
                seq: 1 << 40,
                station: "FR_CIEL".into(),
                format: b'2',
                subformat: b'D',
                payload: rec
            }
        );
        assert_eq!(parse_frame(&p[..p.len() - 1], Version::V4).unwrap(), None);
    }

    #[test]
    fn malformed_bytes_are_errors() {
        assert!(parse_frame(b"XYZ12345", Version::V3).is_err());
        assert!(parse_frame(b"SLZZZZZZ", Version::V3).is_err());
        let mut big = b"SE2D".to_vec();
        big.extend_from_slice(&(u32::MAX).to_le_bytes());
        big.extend_from_slice(&[0; 9]);
        assert_eq!(
            parse_frame(&big, Version::V4),
            Err(WireError::TooLong(u32::MAX as usize))
        );
        let (f, n) = parse_frame(b"ERROR UNSUPPORTED no\r\nSL", Version::V4)
            .unwrap()
            .unwrap();
        assert_eq!((f, n), (Frame::Error("ERROR UNSUPPORTED no".into()), 22));
    }

    /// What the fuzz target does, on a deterministic sample: valid packets of both
    /// versions with bytes flipped and cut, read whole and in pieces.
    #[test]
    fn damaged_streams_read_alike_whole_and_in_pieces() {
        let mut clean = v3_packet(7, &record(1));
        clean.extend(v4_packet(b'2', b'D', 9, "FR_CIEL", &record(2)));
        clean.extend(v3_info_packets("<seedlink/>").concat());
        clean.extend_from_slice(b"ERROR ARGUMENTS bad\r\nEND");
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..3000 {
            let mut d = clean.clone();
            for _ in 0..(i % 5) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % d.len();
                d[at] = (x >> 32) as u8;
            }
            d.truncate(d.len() - (x as usize >> 40) % 64);
            selfcheck(&d, 1 + i % 97).unwrap();
        }
    }
}
