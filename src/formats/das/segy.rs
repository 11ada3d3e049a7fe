//! SEG-Y (revisions 0, 1, 2.0, 2.1) with one trace per channel, as DAS exports write it: a
//! 3200-byte textual header, a 400-byte binary header (sample interval and count, the data
//! format code, the revision, the count of extended textual headers), the extended
//! headers, then the traces, each a 240-byte header and its samples. Big-endian unless a
//! revision 2 file's byte-order mark (binary header bytes 97–100) says otherwise.
//!
//! Time: the first trace's year, day of year, hour, minute and second, and its sample
//! interval (µs; the binary header's when the trace gives none). The second axis is the
//! trace number ([`Axis::Channel`]): SEG-Y has no channel positions that DAS writers fill in
//! consistently, so none are invented. Recognised as DASCore (after ObsPy) recognises it —
//! plausible counts, interval, format code and revision in the binary header — and by a
//! textual header that is text.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::binary::{BinaryArray, Bytes, Scalar, Segment};
use super::{Axis, DasInfo, DataUnits, Quantity};
use crate::model::parse_iso;

const TEXT: usize = 3200;
const BINARY: usize = 400;
const TRACE_HEADER: u64 = 240;

/// The sample type of a data format code.
fn format(code: u16, big: bool) -> Option<Scalar> {
    Some(match code {
        1 => Scalar::Ibm32,
        2 => Scalar::I32 { big },
        3 => Scalar::I16 { big },
        5 => Scalar::F32 { big },
        6 => Scalar::F64 { big },
        8 => Scalar::I8,
        10 => Scalar::U32 { big },
        11 => Scalar::U16 { big },
        12 => Scalar::I64 { big },
        16 => Scalar::U8,
        _ => return None,
    })
}

/// The binary header's byte order: revision 2's mark (0x01020304 as written), else big.
fn big_endian(bin: &[u8]) -> bool {
    !matches!(bin.get(96..100), Some([4, 3, 2, 1]))
}

/// Whether the textual header is text: EBCDIC (the standard's) or ASCII (revision 2
/// allows it), at least 90 % printable. Binary data (a miniSEED file, say) is not.
fn textual(text: &[u8]) -> bool {
    let ebcdic = |c: u8| matches!(c, 0x40 | 0x4B..=0x50 | 0x5A..=0x61 | 0x6B..=0x6F | 0x7A..=0x7F | 0x81..=0xA9 | 0xC1..=0xC9 | 0xD1..=0xD9 | 0xE2..=0xE9 | 0xF0..=0xF9);
    let ascii = |c: u8| (0x20..0x7f).contains(&c) || c == b'\n' || c == b'\r';
    let share =
        |f: &dyn Fn(u8) -> bool| text.iter().filter(|c| f(**c)).count() * 10 >= text.len() * 9;
    share(&ebcdic) || share(&ascii)
}

pub fn probe(_: &Path, head: &[u8]) -> Option<String> {
    if !textual(head.get(..TEXT)?) {
        return None;
    }
    let bin = head.get(TEXT..TEXT + BINARY)?;
    let big = big_endian(bin);
    let b = Bytes { b: bin, big };
    let data_traces = b.i16(12)?;
    let aux_traces = b.i16(14)?;
    let interval = b.i16(16)?;
    let samples = b.i16(20)?;
    let code = b.i16(24)?;
    let (major, minor) = (bin[300], bin[301]);
    let fixed = b.i16(302)?;
    let ok = samples > 0
        && interval >= 0
        && (1..=16).contains(&code)
        && major <= 3
        && data_traces >= 0
        && aux_traces >= 0
        && matches!(minor, 0..=3 | 100)
        && matches!(fixed, 0 | 1);
    ok.then(|| format!("{major}.{minor}"))
}

pub fn open(_path: &Path, file: File, version: &str) -> Result<(DasInfo, BinaryArray), String> {
    let mut head = vec![0u8; TEXT + BINARY];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| format!("segy: headers: {e}"))?;
    let bin = &head[TEXT..];
    let big = big_endian(bin);
    let b = Bytes { b: bin, big };
    let code = b.u16(24).unwrap_or(0);
    let scalar =
        format(code, big).ok_or_else(|| format!("segy: data format code {code} is not read"))?;
    let extended = b.i16(304).unwrap_or(0).max(0) as u64;
    let first = (TEXT + BINARY) as u64 + extended * TEXT as u64;
    let mut th = [0u8; TRACE_HEADER as usize];
    file.read_exact_at(&mut th, first)
        .map_err(|e| format!("segy: no trace header at byte {first}: {e}"))?;
    let t = Bytes { b: &th, big };
    let samples = match t.u16(114).unwrap_or(0) {
        0 => b.u16(20).unwrap_or(0),
        n => n,
    } as u64;
    let interval_us = match t.u16(116).unwrap_or(0) {
        0 => b.u16(16).unwrap_or(0),
        n => n,
    };
    if samples == 0 || interval_us == 0 {
        return Err("segy: no sample count or sample interval in the headers".into());
    }
    let trace_bytes = TRACE_HEADER + samples * scalar.size() as u64;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let body = len.saturating_sub(first);
    let traces = body / trace_bytes;
    let mut warnings = Vec::new();
    if body % trace_bytes != 0 {
        warnings.push(format!(
            "{} bytes after the last whole trace are not read (traces of different lengths, or a truncated file)",
            body % trace_bytes
        ));
    }
    if traces == 0 {
        return Err(format!(
            "segy: no whole trace of {samples} samples after byte {first}"
        ));
    }
    let field = |at: usize| t.i16(at).unwrap_or(0) as i64;
    let (year, day, hour, minute, second) =
        (field(156), field(158), field(160), field(162), field(164));
    let start = if year > 0 && day > 0 {
        let jan1 = parse_iso(&format!("{year:04}-01-01T00:00:00"))
            .ok_or_else(|| format!("segy: year {year} in the first trace header"))?;
        jan1 + (((day - 1) * 24 + hour) * 60 + minute) * 60_000_000_000 + second * 1_000_000_000
    } else {
        warnings
            .push("the first trace header has no recording date: times start at 1970-01-01".into());
        0
    };
    let array = BinaryArray::new(
        file,
        scalar,
        traces as usize,
        vec![Segment {
            t0: 0,
            len: samples as usize,
            base: first + TRACE_HEADER,
            x_stride: trace_bytes,
            t_stride: scalar.size() as u64,
        }],
    )
    .map_err(|e| format!("segy: {e}"))?;
    let info = DasInfo {
        format: "segy",
        version: version.to_string(),
        n_time: samples as usize,
        n_distance: traces as usize,
        // segyio, which DASCore reads through, gives every format as float32.
        dtype: "float32".into(),
        storage_scale: None,
        start,
        rate_hz: 1e6 / interval_us as f64,
        distance: (0..traces).map(|i| i as f64).collect(),
        units: DataUnits::unconverted(Quantity::Unknown, "counts"),
        gauge_length_m: None,
        interrogator: None,
        pulse_rate_hz: None,
        axis: Axis::Channel,
        warnings,
    };
    Ok((info, array))
}
