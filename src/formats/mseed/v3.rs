//! miniSEED 3: a 40-byte little-endian header, the source id, JSON extra headers and the data
//! payload, protected by a CRC-32C over the whole record (CRC field taken as zero).

use super::encoding::{ByteOrder, Encoding};
use super::error::ErrorKind;
use super::record::{incomplete, Parsed, RecordHeader};
use crate::model::{SampleRate, SourceId, YearDayTime};

pub const FIXED_HEADER: usize = 40;

/// Whether `b` starts like a miniSEED 3 record.
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 3 && b[0] == b'M' && b[1] == b'S' && b[2] == 3
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// CRC-32C of a record with its CRC field (bytes 28..32) taken as zero.
pub fn record_crc(record: &[u8]) -> u32 {
    let c = crc32c::crc32c(&record[..28]);
    let c = crc32c::crc32c_append(c, &[0; 4]);
    crc32c::crc32c_append(c, &record[32..])
}

/// Parses the v3 record at the start of `b`, checking its CRC.
pub fn parse(b: &[u8], eof: bool) -> Result<Parsed, ErrorKind> {
    if let Some(outcome) = incomplete(FIXED_HEADER, b.len(), eof) {
        return outcome;
    }
    let sid_len = b[33] as usize;
    let extra_len = u16le(b, 34) as usize;
    let payload_len = u32le(b, 36) as usize;
    let record_length = FIXED_HEADER + sid_len + extra_len + payload_len;
    if payload_len > 16 * 1024 * 1024 {
        return Err(ErrorKind::BadRecordLength(record_length as u64));
    }
    if let Some(outcome) = incomplete(record_length, b.len(), eof) {
        return outcome;
    }
    let rec = &b[..record_length];
    let stored = u32le(rec, 28);
    let computed = record_crc(rec);
    if stored != computed {
        return Err(ErrorKind::Crc { stored, computed });
    }
    let nanosecond = u32le(rec, 4);
    let t = YearDayTime {
        year: u16le(rec, 8) as i32,
        doy: u16le(rec, 10),
        hour: rec[12],
        minute: rec[13],
        second: rec[14],
        nanosecond,
    };
    // i64 nanoseconds span 1677-09-21 to 2262-04-11.
    if !(1678..=2261).contains(&t.year)
        || !(1..=366).contains(&t.doy)
        || t.hour > 23
        || t.minute > 59
        || t.second > 60
        || nanosecond >= 1_000_000_000
    {
        return Err(ErrorKind::BadHeader {
            field: "start time",
            why: format!(
                "year {} day {} {:02}:{:02}:{:02}.{:09} is not a valid time",
                t.year, t.doy, t.hour, t.minute, t.second, nanosecond
            ),
        });
    }
    let encoding = Encoding::from_code(rec[15]);
    let rate_or_period = f64::from_le_bytes(rec[16..24].try_into().unwrap_or([0; 8]));
    if !rate_or_period.is_finite() {
        return Err(ErrorKind::BadHeader {
            field: "sample rate",
            why: format!("{rate_or_period} is not finite"),
        });
    }
    let sample_count = u32le(rec, 24) as usize;
    let sid_bytes = &rec[FIXED_HEADER..FIXED_HEADER + sid_len];
    let sid = String::from_utf8_lossy(sid_bytes).into_owned();
    let extra_bytes = &rec[FIXED_HEADER + sid_len..FIXED_HEADER + sid_len + extra_len];
    let extra = if extra_len == 0 {
        None
    } else {
        let text = std::str::from_utf8(extra_bytes).map_err(|_| ErrorKind::BadHeader {
            field: "extra headers",
            why: "not UTF-8 text".into(),
        })?;
        if serde_json::from_str::<serde_json::Value>(text).is_err() {
            return Err(ErrorKind::BadHeader {
                field: "extra headers",
                why: "not valid JSON".into(),
            });
        }
        Some(text.to_string())
    };
    // Steim frames are big-endian in every version; everything else in v3 is little-endian.
    let data_order = if encoding.is_steim() {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
    Ok(Parsed::Record(RecordHeader {
        format_version: 3,
        sid: SourceId::from_raw(sid),
        start: t.to_nanos(),
        rate: SampleRate::from_rate_or_period(rate_or_period),
        sample_count,
        encoding,
        data_order,
        record_length,
        pub_version: rec[32],
        flags: rec[3],
        extra,
        data_offset: FIXED_HEADER + sid_len + extra_len,
        data_length: payload_len,
        warnings: Vec::new(),
        v2: None,
    }))
}
