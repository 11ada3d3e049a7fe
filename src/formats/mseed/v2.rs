//! miniSEED 2 (SEED 2.4 data records): the 48-byte fixed header and blockettes 100, 1000, 1001.
//!
//! The header byte order is detected from the year and day-of-year fields; the data byte order
//! comes from blockette 1000. Records without blockette 1000 are still read: their length is found
//! by looking for the next record header at 64-byte steps, and their encoding defaults to Steim1,
//! which is libmseed's fallback.

use super::encoding::{ByteOrder, Encoding};
use super::error::ErrorKind;
use super::record::{incomplete, Blockette, Parsed, RecordHeader, V2Fields};
use crate::model::{SampleRate, SourceId, YearDayTime};

pub const FIXED_HEADER: usize = 48;
pub const MIN_RECORD: usize = 128;
pub const MAX_RECORD: usize = 131_072;

fn rd16(b: &[u8], at: usize, o: ByteOrder) -> u16 {
    let x = [b[at], b[at + 1]];
    match o {
        ByteOrder::Big => u16::from_be_bytes(x),
        ByteOrder::Little => u16::from_le_bytes(x),
    }
}

fn rd32(b: &[u8], at: usize, o: ByteOrder) -> u32 {
    let x = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    match o {
        ByteOrder::Big => u32::from_be_bytes(x),
        ByteOrder::Little => u32::from_le_bytes(x),
    }
}

fn is_seq_char(c: u8) -> bool {
    c.is_ascii_digit() || c == b' ' || c == 0
}

fn is_quality(c: u8) -> bool {
    matches!(c, b'D' | b'R' | b'Q' | b'M')
}

/// The header byte order, if `b` starts with a plausible miniSEED 2 fixed header: sequence
/// digits, a quality indicator, a valid time in one byte order or the other.
pub fn header_order(b: &[u8]) -> Option<ByteOrder> {
    if b.len() < FIXED_HEADER {
        return None;
    }
    if !b[..6].iter().all(|&c| is_seq_char(c))
        || !is_quality(b[6])
        || !(b[7] == b' ' || b[7] == 0)
        || b[24] > 23
        || b[25] > 59
        || b[26] > 60
    {
        return None;
    }
    [ByteOrder::Big, ByteOrder::Little].into_iter().find(|&o| {
        let year = rd16(b, 20, o);
        let doy = rd16(b, 22, o);
        (1900..=2100).contains(&year) && (1..=366).contains(&doy)
    })
}

/// A SEED code field without its padding (spaces or NULs). Non-ASCII bytes, which only a
/// corrupt record has, are replaced rather than rejected so the record can still be reported.
fn code(b: &[u8]) -> std::borrow::Cow<'_, str> {
    let pad = |c: &u8| *c == b' ' || *c == 0;
    let start = b.iter().position(|c| !pad(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !pad(c)).map_or(start, |e| e + 1);
    String::from_utf8_lossy(&b[start..end])
}

/// Nominal rate from the factor and multiplier, as SEED defines them.
pub fn nominal_rate(factor: i16, multiplier: i16) -> f64 {
    let mut r = match factor {
        f if f > 0 => f as f64,
        f if f < 0 => -1.0 / f as f64,
        _ => 0.0,
    };
    if multiplier > 0 {
        r *= multiplier as f64;
    } else if multiplier < 0 {
        r = -r / multiplier as f64;
    }
    r
}

/// Length of a blockette body we do not interpret, from the SEED table of fixed sizes (or the
/// length field of blockette 2000), falling back to the distance to the next blockette.
fn blockette_len(kind: u16, b: &[u8], at: usize, next: usize, end: usize, o: ByteOrder) -> usize {
    let fixed = match kind {
        100 => 12,
        200 => 52,
        201 => 60,
        300 => 60,
        310 => 60,
        320 => 64,
        390 => 28,
        395 => 16,
        400 => 16,
        405 => 6,
        500 => 200,
        1000 | 1001 => 8,
        2000 if at + 6 <= end => rd16(b, at + 4, o) as usize,
        _ => 0,
    };
    let by_next = if next > at {
        next - at
    } else {
        end.saturating_sub(at)
    };
    let len = if fixed > 0 { fixed } else { by_next };
    len.min(end.saturating_sub(at)).max(4)
}

/// Length of a record without blockette 1000: `Ok(Ok(len))` when found, `Ok(Err(n))` when
/// at least `n` bytes are needed to tell.
fn search_record_length(b: &[u8], eof: bool) -> Result<Result<usize, usize>, ErrorKind> {
    // The next record header, looked for at 64-byte steps.
    let mut off = MIN_RECORD;
    while off <= MAX_RECORD && off + FIXED_HEADER <= b.len() {
        if header_order(&b[off..]).is_some() {
            return Ok(Ok(off));
        }
        off += 64;
    }
    if !eof && b.len() < MAX_RECORD + FIXED_HEADER {
        return Ok(Err(b.len() + 64));
    }
    // At the end of the data: the rest is the record if its length is a power of two.
    let n = b.len().min(MAX_RECORD);
    if n >= MIN_RECORD && n.is_power_of_two() {
        return Ok(Ok(n));
    }
    Err(ErrorKind::BadRecordLength(n as u64))
}

/// Parses the v2 record at the start of `b`. `eof` says that no more bytes will follow, so a
/// record running past the end is truncated rather than incomplete.
pub fn parse(b: &[u8], eof: bool) -> Result<Parsed, ErrorKind> {
    let o = header_order(b).ok_or(ErrorKind::NotMiniseed {
        len: b.len().min(FIXED_HEADER),
    })?;
    let sequence = std::str::from_utf8(&b[..6])
        .ok()
        .and_then(|s| s.trim().trim_matches('\0').parse().ok())
        .unwrap_or(0);
    let sid = SourceId::from_codes(
        &code(&b[18..20]),
        &code(&b[8..13]),
        &code(&b[13..15]),
        &code(&b[15..18]),
    );
    // Some dataloggers write a whole second as 10000 ten-thousandths. ObsPy (libmseed 2)
    // reads any fraction as that many ten-thousandths, with a warning; so do we, rather than
    // lose the record (libmseed 3 refuses it).
    let fract = rd16(b, 28, o);
    let mut warnings = Vec::new();
    if fract > 9999 {
        warnings.push(format!(
            "start time fraction {fract} is more than 9999 ten-thousandths of a second: read as {:.4} s more",
            fract as f64 / 10_000.0
        ));
    }
    let t = YearDayTime {
        year: rd16(b, 20, o) as i32,
        doy: rd16(b, 22, o),
        hour: b[24],
        minute: b[25],
        second: b[26],
        nanosecond: 0,
    };
    let sample_count = rd16(b, 30, o) as usize;
    let factor = rd16(b, 32, o) as i16;
    let multiplier = rd16(b, 34, o) as i16;
    let activity_flags = b[36];
    let io_flags = b[37];
    let data_quality_flags = b[38];
    let time_correction = rd32(b, 40, o) as i32;
    let data_offset = rd16(b, 44, o) as usize;
    let first_blockette = rd16(b, 46, o) as usize;

    // Walk the blockette chain. Offsets must increase, so the walk always ends.
    let mut rate_b100: Option<f32> = None;
    let mut b1000: Option<(u8, ByteOrder, u8)> = None;
    let mut b1001: Option<(u8, i8)> = None;
    let mut other = Vec::new();
    let mut at = first_blockette;
    let mut header_end = FIXED_HEADER;
    let limit = b.len().min(MAX_RECORD);
    let mut seen = 0usize;
    while at != 0 {
        if at < FIXED_HEADER {
            return Err(ErrorKind::BadBlockette {
                at: 46,
                next: at,
                why: "inside the fixed header",
            });
        }
        if at + 4 > limit {
            if !eof && at + 4 <= MAX_RECORD {
                return Ok(Parsed::NeedMore(at + 4));
            }
            return Err(ErrorKind::BadBlockette {
                at,
                next: at,
                why: "beyond the end of the record",
            });
        }
        let kind = rd16(b, at, o);
        let next = rd16(b, at + 2, o) as usize;
        if next != 0 && next <= at {
            return Err(ErrorKind::BadBlockette {
                at,
                next,
                why: "not after the current blockette",
            });
        }
        let body_len_needed = match kind {
            100 => 12,
            1000 | 1001 => 8,
            _ => 4,
        };
        if at + body_len_needed > limit {
            if !eof {
                return Ok(Parsed::NeedMore(at + body_len_needed));
            }
            return Err(ErrorKind::BadBlockette {
                at,
                next,
                why: "blockette runs past the end of the data",
            });
        }
        match kind {
            100 => {
                rate_b100 = Some(f32::from_bits(rd32(b, at + 4, o)));
            }
            1000 => {
                let word_order = if b[at + 5] == 0 {
                    ByteOrder::Little
                } else {
                    ByteOrder::Big
                };
                b1000 = Some((b[at + 4], word_order, b[at + 6]));
            }
            1001 => {
                b1001 = Some((b[at + 4], b[at + 5] as i8));
            }
            _ => {
                let len = blockette_len(kind, b, at, next, limit, o);
                other.push(Blockette {
                    kind,
                    body: b[at + 4..at + len].to_vec(),
                    order: o,
                });
            }
        }
        header_end = header_end.max(at + body_len_needed);
        // Offsets strictly increase, so the walk ends anyway; this bounds the work on junk.
        seen += 1;
        if seen > 64 {
            return Err(ErrorKind::BadBlockette {
                at,
                next,
                why: "too many blockettes",
            });
        }
        at = next;
    }

    let (encoding, data_order, record_length) = match b1000 {
        Some((enc, order, exp)) => {
            if !(7..=17).contains(&exp) {
                return Err(ErrorKind::BadRecordLength(1u64 << exp.min(63)));
            }
            (Encoding::from_code(enc), order, 1usize << exp)
        }
        None => {
            let len = match search_record_length(b, eof)? {
                Ok(len) => len,
                Err(need) => return Ok(Parsed::NeedMore(need)),
            };
            (Encoding::Steim1, o, len)
        }
    };
    // Blockette offsets must also lie inside the record once its length is known.
    if header_end > record_length {
        return Err(ErrorKind::BadBlockette {
            at: first_blockette,
            next: header_end,
            why: "blockettes extend beyond the record length",
        });
    }
    if let Some(outcome) = incomplete(record_length, b.len(), eof) {
        return outcome;
    }
    if sample_count > 0 && (data_offset < FIXED_HEADER || data_offset >= record_length) {
        return Err(ErrorKind::BadDataOffset {
            offset: data_offset,
            header_end,
            record_length,
        });
    }
    let data_offset = data_offset.min(record_length);

    let mut start = t.to_nanos() + fract as i64 * 100_000;
    if time_correction != 0 && activity_flags & 0x02 == 0 {
        start = start.saturating_add(time_correction as i64 * 100_000);
    }
    if let Some((_, usec)) = b1001 {
        start = start.saturating_add(usec as i64 * 1000);
    }
    let rate = match rate_b100 {
        Some(r) if r.is_finite() && r >= 0.0 => r as f64,
        _ => nominal_rate(factor, multiplier),
    };
    let pub_version = match b[6] {
        b'R' => 1,
        b'D' => 2,
        b'Q' => 3,
        _ => 4,
    };
    Ok(Parsed::Record(RecordHeader {
        format_version: 2,
        sid,
        start,
        rate: SampleRate(rate),
        sample_count,
        encoding,
        data_order,
        record_length,
        pub_version,
        flags: 0,
        extra: None,
        data_offset,
        data_length: record_length - data_offset,
        warnings,
        v2: Some(V2Fields {
            sequence,
            quality: b[6],
            activity_flags,
            io_flags,
            data_quality_flags,
            time_correction,
            header_order: o,
            timing_quality: b1001.map(|x| x.0),
            has_b1000: b1000.is_some(),
            other_blockettes: other,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nominal_rates() {
        assert_eq!(nominal_rate(40, 1), 40.0);
        assert_eq!(nominal_rate(-10, 1), 0.1);
        assert_eq!(nominal_rate(1, -10), 0.1);
        assert_eq!(nominal_rate(20, -1), 20.0);
        assert_eq!(nominal_rate(0, 0), 0.0);
    }

    #[test]
    fn garbage_is_not_a_header() {
        assert!(header_order(&[b'x'; 64]).is_none());
        assert!(header_order(&[0u8; 10]).is_none());
    }
}
