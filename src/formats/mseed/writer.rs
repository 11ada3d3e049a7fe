//! Writing samples as miniSEED 2 or 3 records.
//!
//! miniSEED 2 records are fixed-length (a power of two from 256 to 8192 bytes) with blockette
//! 1000, blockette 1001 when the start time has microseconds below the header's 0.1 ms, and
//! blockette 100 when the rate has no exact factor/multiplier form. v2 start times are kept to the
//! microsecond, the format's limit. miniSEED 3 records are variable-length up to the given
//! maximum, carry nanosecond times and a CRC-32C. Steim frames are always big-endian, as the
//! standard requires; integer and float data follow the requested byte order in v2 and are
//! little-endian in v3.

use super::encoding::{ByteOrder, Encoding, Samples};
use super::error::EncodeError;
use super::record::Blockette;
use super::steim;
use super::v3::record_crc;
use crate::model::{sample_time, Nanos, SampleRate, SourceId, YearDayTime};

/// How to write records.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// 2 or 3.
    pub format_version: u8,
    pub encoding: Encoding,
    /// v2: the record length; v3: the maximum record length.
    pub record_length: usize,
    /// v2 header and non-Steim data byte order.
    pub byte_order: ByteOrder,
    /// v2 quality indicator (`D`, `R`, `Q`, `M`).
    pub quality: u8,
    /// v3 publication version.
    pub pub_version: u8,
    /// v3 extra headers (JSON).
    pub extra: Option<String>,
    /// v2 sequence number of the first record.
    pub first_sequence: u32,
    /// v2 blockettes to carry into every record (e.g. read from an input record). Their bodies
    /// are written as they are, so their byte order must be `byte_order`.
    pub blockettes: Vec<Blockette>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            format_version: 2,
            encoding: Encoding::Steim2,
            record_length: 4096,
            byte_order: ByteOrder::Big,
            quality: b'D',
            pub_version: 1,
            extra: None,
            first_sequence: 1,
            blockettes: Vec::new(),
        }
    }
}

/// SEED's sample rate factor and multiplier for `rate`, and whether they are exact.
pub fn factor_multiplier(rate: f64) -> (i16, i16, bool) {
    if rate <= 0.0 || !rate.is_finite() {
        return (0, 0, rate == 0.0);
    }
    if rate >= 1.0 && rate.fract() == 0.0 {
        if rate <= 32767.0 {
            return (rate as i16, 1, true);
        }
        for m in 2..=32767i64 {
            let f = rate / m as f64;
            if f.fract() == 0.0 && f <= 32767.0 {
                return (f as i16, m as i16, true);
            }
        }
    }
    let period = 1.0 / rate;
    if rate < 1.0 && period.fract() == 0.0 && period <= 32767.0 {
        return (-(period as i16), 1, true);
    }
    // Best rational approximation f/m with both at most 32767 (continued fractions).
    let (mut h0, mut h1, mut k0, mut k1) = (0i64, 1i64, 1i64, 0i64);
    let mut x = rate;
    for _ in 0..40 {
        let a = x.floor() as i64;
        let h2 = a * h1 + h0;
        let k2 = a * k1 + k0;
        if h2 > 32767 || k2 > 32767 {
            break;
        }
        (h0, h1, k0, k1) = (h1, h2, k1, k2);
        let frac = x - a as f64;
        if frac < 1e-12 {
            break;
        }
        x = 1.0 / frac;
    }
    if h1 == 0 || k1 == 0 {
        return (0, 0, false);
    }
    let exact = h1 as f64 / k1 as f64 == rate;
    (h1 as i16, -(k1 as i16), exact)
}

fn put16(out: &mut Vec<u8>, v: u16, o: ByteOrder) {
    out.extend_from_slice(&match o {
        ByteOrder::Big => v.to_be_bytes(),
        ByteOrder::Little => v.to_le_bytes(),
    });
}

fn put32(out: &mut Vec<u8>, v: u32, o: ByteOrder) {
    out.extend_from_slice(&match o {
        ByteOrder::Big => v.to_be_bytes(),
        ByteOrder::Little => v.to_le_bytes(),
    });
}

/// Packs as many samples from `from` as fit in `capacity` bytes. Returns the payload and the
/// count; Steim payloads are whole frames.
fn pack(
    samples: &Samples,
    from: usize,
    capacity: usize,
    opts: &EncodeOptions,
    order: ByteOrder,
) -> Result<(Vec<u8>, usize), EncodeError> {
    let enc = opts.encoding;
    let wrong = |kind: &'static str| EncodeError::WrongSampleType {
        encoding: enc,
        samples: kind,
    };
    let mut out = Vec::with_capacity(capacity);
    match (enc, samples) {
        (Encoding::Steim1 | Encoding::Steim2, Samples::Int(v)) => {
            let prev = from.checked_sub(1).map(|i| v[i]);
            let (bytes, n) =
                steim::encode(enc, &v[from..], prev, capacity / 64).map_err(|(i, diff)| {
                    EncodeError::SteimRange {
                        index: from + i,
                        diff,
                    }
                })?;
            Ok((bytes, n))
        }
        (Encoding::Int16, Samples::Int(v)) => {
            let n = (v.len() - from).min(capacity / 2);
            for (k, &x) in v[from..from + n].iter().enumerate() {
                let s = i16::try_from(x).map_err(|_| EncodeError::OutOfRange {
                    index: from + k,
                    value: x as f64,
                    encoding: enc,
                })?;
                put16(&mut out, s as u16, order);
            }
            Ok((out, n))
        }
        (Encoding::Int32, Samples::Int(v)) => {
            let n = (v.len() - from).min(capacity / 4);
            v[from..from + n]
                .iter()
                .for_each(|&x| put32(&mut out, x as u32, order));
            Ok((out, n))
        }
        (Encoding::Float32, Samples::Float32(v)) => {
            let n = (v.len() - from).min(capacity / 4);
            v[from..from + n]
                .iter()
                .for_each(|x| put32(&mut out, x.to_bits(), order));
            Ok((out, n))
        }
        (Encoding::Float64, Samples::Float64(v)) => {
            let n = (v.len() - from).min(capacity / 8);
            for x in &v[from..from + n] {
                out.extend_from_slice(&match order {
                    ByteOrder::Big => x.to_be_bytes(),
                    ByteOrder::Little => x.to_le_bytes(),
                });
            }
            Ok((out, n))
        }
        (Encoding::Ascii, Samples::Text(v)) => {
            let n = (v.len() - from).min(capacity);
            out.extend_from_slice(&v[from..from + n]);
            Ok((out, n))
        }
        (
            Encoding::Steim1
            | Encoding::Steim2
            | Encoding::Int16
            | Encoding::Int32
            | Encoding::Float32
            | Encoding::Float64
            | Encoding::Ascii,
            s,
        ) => Err(wrong(match s {
            Samples::Int(_) => "integer",
            Samples::Float32(_) => "float32",
            Samples::Float64(_) => "float64",
            Samples::Text(_) => "text",
        })),
        (e, _) => Err(EncodeError::Unwritable(e)),
    }
}

/// Encodes a contiguous run of samples as records; each element of the result is one record.
pub fn encode(
    sid: &SourceId,
    start: Nanos,
    rate: SampleRate,
    samples: &Samples,
    opts: &EncodeOptions,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    match opts.format_version {
        3 => encode_v3(sid, start, rate, samples, opts),
        _ => encode_v2(sid, start, rate, samples, opts),
    }
}

fn encode_v2(
    sid: &SourceId,
    start: Nanos,
    rate: SampleRate,
    samples: &Samples,
    opts: &EncodeOptions,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let reclen = opts.record_length;
    if !(256..=8192).contains(&reclen) || !reclen.is_power_of_two() {
        return Err(EncodeError::RecordLength(reclen));
    }
    let seed = sid
        .to_seed()
        .map_err(|_| EncodeError::Codes(sid.to_string()))?;
    if seed.network.len() > 2
        || seed.station.len() > 5
        || seed.location.len() > 2
        || seed.channel.len() > 3
    {
        return Err(EncodeError::Codes(sid.to_string()));
    }
    let o = opts.byte_order;
    if let Some(b) = opts.blockettes.iter().find(|b| b.order != o) {
        return Err(EncodeError::BlocketteOrder { kind: b.kind });
    }
    let data_order = if opts.encoding.is_steim() {
        ByteOrder::Big
    } else {
        o
    };
    let (factor, multiplier, exact) = factor_multiplier(rate.hz());
    let extra_len: usize = opts.blockettes.iter().map(|b| 4 + b.body.len()).sum();
    // B1000 (8) + B1001 (8) + B100 (12) when inexact + carried blockettes, rounded up to 64.
    let blockettes_end = 48 + 8 + 8 + if exact { 0 } else { 12 } + extra_len;
    let data_offset = blockettes_end.div_ceil(64) * 64;
    if data_offset >= reclen {
        return Err(EncodeError::RecordLength(reclen));
    }
    let mut seq = opts.first_sequence;
    each_record(
        samples,
        reclen - data_offset,
        opts,
        data_order,
        |i, n, payload| {
            let t = sample_time(start, i as i64, rate.hz());
            // Round to the microsecond, the resolution of BTIME + blockette 1001.
            let t_us = (t as f64 / 1000.0).round() as i64 * 1000;
            let ydt = YearDayTime::from_nanos(t_us);
            let us = ydt.nanosecond / 1000;
            let mut r = Vec::with_capacity(reclen);
            r.extend_from_slice(format!("{:06}", seq % 1_000_000).as_bytes());
            r.push(opts.quality);
            r.push(b' ');
            r.extend_from_slice(format!("{:<5}", seed.station).as_bytes());
            r.extend_from_slice(format!("{:<2}", seed.location).as_bytes());
            r.extend_from_slice(format!("{:<3}", seed.channel).as_bytes());
            r.extend_from_slice(format!("{:<2}", seed.network).as_bytes());
            put16(&mut r, ydt.year as u16, o);
            put16(&mut r, ydt.doy, o);
            r.extend_from_slice(&[ydt.hour, ydt.minute, ydt.second, 0]);
            put16(&mut r, (us / 100) as u16, o);
            put16(&mut r, n as u16, o);
            put16(&mut r, factor as u16, o);
            put16(&mut r, multiplier as u16, o);
            r.extend_from_slice(&[0, 0, 0]); // activity, I/O and data quality flags
            r.push(2 + u8::from(!exact) + opts.blockettes.len() as u8);
            put32(&mut r, 0, o); // time correction
            put16(&mut r, data_offset as u16, o);
            put16(&mut r, 48, o);
            // Blockette 1000
            put16(&mut r, 1000, o);
            put16(&mut r, 56, o);
            let word_order = u8::from(data_order == ByteOrder::Big);
            r.extend_from_slice(&[
                opts.encoding.code(),
                word_order,
                reclen.trailing_zeros() as u8,
                0,
            ]);
            // Blockette 1001: microseconds beyond the 0.1 ms of the fixed header.
            let mut next = 64;
            let tail = (!exact) as usize + opts.blockettes.len();
            put16(&mut r, 1001, o);
            put16(&mut r, if tail > 0 { next } else { 0 }, o);
            let frames = if opts.encoding.is_steim() {
                used_frames(&payload) as u8
            } else {
                0
            };
            r.extend_from_slice(&[0, (us % 100) as u8, 0, frames]);
            let mut remaining = tail;
            if !exact {
                remaining -= 1;
                next += 12;
                put16(&mut r, 100, o);
                put16(&mut r, if remaining > 0 { next } else { 0 }, o);
                put32(&mut r, (rate.hz() as f32).to_bits(), o);
                r.extend_from_slice(&[0, 0, 0, 0]);
            }
            for b in &opts.blockettes {
                remaining -= 1;
                next += 4 + b.body.len() as u16;
                put16(&mut r, b.kind, o);
                put16(&mut r, if remaining > 0 { next } else { 0 }, o);
                r.extend_from_slice(&b.body);
            }
            r.resize(data_offset, 0);
            r.extend_from_slice(&payload);
            r.resize(reclen, 0);
            seq = seq % 999_999 + 1;
            Ok(r)
        },
    )
}

/// Packs `samples` into successive payloads of at most `capacity` bytes and builds a record
/// from each with `build(first_sample_index, sample_count, payload)`. An empty input still
/// gives one (empty) record, so a header-only stream can be written.
fn each_record(
    samples: &Samples,
    capacity: usize,
    opts: &EncodeOptions,
    order: ByteOrder,
    mut build: impl FnMut(usize, usize, Vec<u8>) -> Result<Vec<u8>, EncodeError>,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut records = Vec::new();
    let mut i = 0usize;
    loop {
        let (payload, n) = pack(samples, i, capacity, opts, order)?;
        records.push(build(i, n, payload)?);
        i += n;
        if n == 0 || i >= samples.len() {
            return Ok(records);
        }
    }
}

fn encode_v3(
    sid: &SourceId,
    start: Nanos,
    rate: SampleRate,
    samples: &Samples,
    opts: &EncodeOptions,
) -> Result<Vec<Vec<u8>>, EncodeError> {
    let maxlen = opts.record_length;
    let sid_bytes = sid.as_str().as_bytes();
    if sid_bytes.len() > 255 {
        return Err(EncodeError::SourceIdTooLong(sid.to_string()));
    }
    let extra = opts.extra.as_deref().unwrap_or("").as_bytes();
    if extra.len() > 65535 {
        return Err(EncodeError::ExtraTooLong(extra.len()));
    }
    let header = 40 + sid_bytes.len() + extra.len();
    if !(256..=131_072).contains(&maxlen) || header + 64 > maxlen {
        return Err(EncodeError::RecordLength(maxlen));
    }
    each_record(
        samples,
        maxlen - header,
        opts,
        ByteOrder::Little,
        |i, n, payload| {
            // Steim payloads need only the frames in use.
            let payload = if opts.encoding.is_steim() {
                let used = used_frames(&payload);
                payload[..used * 64].to_vec()
            } else {
                payload
            };
            let ydt = YearDayTime::from_nanos(sample_time(start, i as i64, rate.hz()));
            let mut r = Vec::with_capacity(header + payload.len());
            r.extend_from_slice(b"MS\x03\x00");
            r.extend_from_slice(&ydt.nanosecond.to_le_bytes());
            r.extend_from_slice(&(ydt.year as u16).to_le_bytes());
            r.extend_from_slice(&ydt.doy.to_le_bytes());
            r.extend_from_slice(&[ydt.hour, ydt.minute, ydt.second, opts.encoding.code()]);
            r.extend_from_slice(&rate.to_rate_or_period().to_le_bytes());
            r.extend_from_slice(&(n as u32).to_le_bytes());
            r.extend_from_slice(&[0; 4]); // CRC, filled below
            r.push(opts.pub_version);
            r.push(sid_bytes.len() as u8);
            r.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            r.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            r.extend_from_slice(sid_bytes);
            r.extend_from_slice(extra);
            r.extend_from_slice(&payload);
            let crc = record_crc(&r);
            r[28..32].copy_from_slice(&crc.to_le_bytes());
            Ok(r)
        },
    )
}

/// Number of Steim frames that hold data (trailing all-zero frames are unused).
fn used_frames(payload: &[u8]) -> usize {
    let frames = payload.len() / 64;
    (1..=frames)
        .rev()
        .find(|&f| payload[(f - 1) * 64..f * 64].iter().any(|&b| b != 0))
        .unwrap_or(1.min(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_multiplier_forms() {
        assert_eq!(factor_multiplier(100.0), (100, 1, true));
        assert_eq!(factor_multiplier(0.1), (-10, 1, true));
        assert_eq!(factor_multiplier(50_000.0), (25_000, 2, true));
        let (f, m, exact) = factor_multiplier(20.000221252441406);
        assert!(!exact);
        let approx = crate::formats::mseed::v2::nominal_rate(f, m);
        assert!((approx - 20.000221252441406).abs() < 1e-3);
        assert_eq!(factor_multiplier(2.5), (5, -2, true));
    }
}
