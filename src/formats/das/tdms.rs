//! National Instruments TDMS (versions 4712 and 4713) as Silixa's iDAS writes it: one group
//! whose channels are the fibre's channels, all of one numeric type, and the acquisition as
//! properties of the root object: `GPSTimeStamp` (a TDMS time stamp), `SamplingFrequency[Hz]`,
//! `SpatialResolution[m]`, `Fibre Length Multiplier`, `Start Distance (m)`,
//! `Stop Distance (m)`, `GaugeLength`, the interrogator's serial number.
//!
//! The file is read as the TDMS specification lays it out, not as one writer happened to:
//! segments, each a 28-byte lead-in (`TDSm`, table-of-contents flags, version, the offsets
//! of the next segment and of the raw data), optional metadata (objects, their raw-data
//! index — new, "same as before" or none — and properties; the object list carried over
//! unless the segment says it is new), and raw data as whole chunks, each either one run
//! per channel (contiguous) or the channels interleaved sample by sample; big-endian when
//! the segment says so. A last segment whose length was never written (`0xFFFF…`, the
//! writer stopped) runs to the end of the file, and a chunk the file cuts short is read as
//! far as its rows are whole; a shorter last chunk of a whole segment is read as npTDMS
//! reads it (the same layout, fewer values per channel).
//! DAQmx raw data and string or time-stamp channels are refused with the reason.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::binary::{BinaryArray, Bytes, Scalar, Segment};
use super::{positions, Axis, DasInfo, DataUnits, Quantity};

const LEAD_IN: u64 = 28;
const TOC_META: u32 = 1 << 1;
const TOC_NEW_OBJ_LIST: u32 = 1 << 2;
const TOC_RAW: u32 = 1 << 3;
const TOC_INTERLEAVED: u32 = 1 << 5;
const TOC_BIG_ENDIAN: u32 = 1 << 6;
const TOC_DAQMX: u32 = 1 << 7;
/// Seconds from 1904-01-01 (TDMS's epoch) to 1970-01-01.
const EPOCH_1904: i64 = 2_082_844_800;

pub fn probe(_: &Path, head: &[u8]) -> Option<String> {
    if head.len() < LEAD_IN as usize || &head[..4] != b"TDSm" {
        return None;
    }
    let v = Bytes {
        b: head,
        big: false,
    }
    .u32(8)?;
    matches!(v, 4712 | 4713).then(|| v.to_string())
}

/// A property value, as far as the DAS metadata needs it.
#[derive(Debug, Clone)]
enum Value {
    Num(f64),
    Text(String),
    Time(i64),
}

impl Value {
    fn num(&self) -> Option<f64> {
        match self {
            Value::Num(v) => Some(*v),
            Value::Text(t) => t.trim().parse().ok(),
            Value::Time(_) => None,
        }
    }
}

/// The numeric TDMS data types (`tdsType*`): code → size and how a sample decodes.
fn scalar(code: u32, big: bool) -> Option<Scalar> {
    Some(match code {
        1 => Scalar::I8,
        2 => Scalar::I16 { big },
        3 => Scalar::I32 { big },
        4 => Scalar::I64 { big },
        5 => Scalar::U8,
        6 => Scalar::U16 { big },
        7 => Scalar::U32 { big },
        9 => Scalar::F32 { big },
        10 => Scalar::F64 { big },
        _ => return None,
    })
}

/// A reading position in a segment's metadata, with errors that say where.
struct Cursor<'a> {
    b: Bytes<'a>,
    at: usize,
    /// File offset of `b[0]`, for messages.
    origin: u64,
}

impl Cursor<'_> {
    fn fail(&self, what: &str) -> String {
        format!(
            "TDMS: metadata ends inside {what} at byte {}",
            self.origin + self.at as u64
        )
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let v = self.b.u32(self.at).ok_or_else(|| self.fail(what))?;
        self.at += 4;
        Ok(v)
    }
    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let v = self.b.u64(self.at).ok_or_else(|| self.fail(what))?;
        self.at += 8;
        Ok(v)
    }
    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.u32(what)? as usize;
        let s = self
            .b
            .b
            .get(self.at..self.at + n)
            .ok_or_else(|| self.fail(what))?;
        self.at += n;
        Ok(String::from_utf8_lossy(s).into_owned())
    }
    fn value(&mut self, code: u32, what: &str) -> Result<Value, String> {
        let big = self.b.big;
        if let Some(s) = scalar(code, big) {
            let bytes = self
                .b
                .b
                .get(self.at..self.at + s.size())
                .ok_or_else(|| self.fail(what))?;
            let b = Bytes { b: bytes, big };
            let v = match s {
                Scalar::I8 => bytes[0] as i8 as f64,
                Scalar::U8 => bytes[0] as f64,
                Scalar::I16 { .. } => b.i16(0).map(f64::from).unwrap_or(f64::NAN),
                Scalar::U16 { .. } => b.u16(0).map(f64::from).unwrap_or(f64::NAN),
                Scalar::I32 { .. } => b.i32(0).map(f64::from).unwrap_or(f64::NAN),
                Scalar::U32 { .. } => b.u32(0).map(f64::from).unwrap_or(f64::NAN),
                Scalar::I64 { .. } => b.u64(0).map(|v| v as i64 as f64).unwrap_or(f64::NAN),
                Scalar::F32 { .. } => b.f32(0).map(f64::from).unwrap_or(f64::NAN),
                Scalar::F64 { .. } => b.f64(0).unwrap_or(f64::NAN),
                Scalar::Ibm32 => f64::NAN,
            };
            self.at += s.size();
            return Ok(Value::Num(v));
        }
        match code {
            0x08 => Ok(Value::Num(self.u64(what)? as f64)),
            0x20 => Ok(Value::Text(self.string(what)?)),
            0x21 => {
                let v = *self.b.b.get(self.at).ok_or_else(|| self.fail(what))?;
                self.at += 1;
                Ok(Value::Num(v as f64))
            }
            0x44 => {
                // Little-endian: u64 fractions of 2^-64 s, then i64 seconds since 1904.
                let (frac, secs) = if big {
                    let s = self.u64(what)? as i64;
                    (self.u64(what)?, s)
                } else {
                    let f = self.u64(what)?;
                    (f, self.u64(what)? as i64)
                };
                // Rounded to the nearest nanosecond.
                let ns = ((frac as u128 * 1_000_000_000u128 + (1u128 << 63)) >> 64) as i64;
                (secs.checked_sub(EPOCH_1904))
                    .and_then(|s| s.checked_mul(1_000_000_000))
                    .and_then(|s| s.checked_add(ns))
                    .map(Value::Time)
                    .ok_or_else(|| {
                        format!("TDMS: time stamp {what} is out of range ({secs} s from 1904)")
                    })
            }
            other => Err(format!(
                "TDMS: property {what} has data type 0x{other:x}, which this reader does not decode"
            )),
        }
    }
}

/// What an object's raw data index said: its type and values per chunk.
#[derive(Debug, Clone, Copy)]
struct Index {
    code: u32,
    values: u64,
}

/// The data of one segment: the objects with data, in order, and where the chunks are.
struct SegmentData {
    objects: Vec<(String, Index)>,
    data_start: u64,
    data_len: u64,
    interleaved: bool,
    big: bool,
    /// The file ends before the segment's stated end (or the length was never written).
    cut: bool,
}

pub fn open(_path: &Path, mut file: File, version: &str) -> Result<(DasInfo, BinaryArray), String> {
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut bytes = Vec::new();
    let mut props: HashMap<String, HashMap<String, Value>> = HashMap::new();
    let mut last_index: HashMap<String, Index> = HashMap::new();
    let mut active: Vec<String> = Vec::new();
    let mut segments: Vec<SegmentData> = Vec::new();
    let mut warnings = Vec::new();
    let mut at = 0u64;
    while at + LEAD_IN <= file_len {
        let mut lead = [0u8; LEAD_IN as usize];
        read_at(&mut file, at, &mut lead)?;
        if &lead[..4] != b"TDSm" {
            return Err(format!("TDMS: no segment signature at byte {at}"));
        }
        let lb = Bytes {
            b: &lead,
            big: false,
        };
        let toc = lb.u32(4).unwrap_or(0);
        let next = lb.u64(12).unwrap_or(u64::MAX);
        let raw_off = lb.u64(20).unwrap_or(0);
        if toc & TOC_DAQMX != 0 {
            return Err(format!(
                "TDMS: segment at byte {at} holds DAQmx raw data, which is not read"
            ));
        }
        let big = toc & TOC_BIG_ENDIAN != 0;
        let stated_end = (at + LEAD_IN).checked_add(next);
        let cut = next == u64::MAX || stated_end.is_none_or(|e| e > file_len);
        let end = if cut {
            if next != u64::MAX {
                warnings.push(format!(
                    "the segment at byte {at} says it is {next} bytes long but the file ends first: read to the end"
                ));
            }
            file_len
        } else {
            at + LEAD_IN + next
        };
        if end < at + LEAD_IN {
            return Err(format!(
                "TDMS: segment at byte {at} ends before its lead-in"
            ));
        }
        if raw_off > end - at - LEAD_IN {
            return Err(format!(
                "TDMS: segment at byte {at}: raw data offset {raw_off} past the segment"
            ));
        }
        if toc & TOC_META != 0 {
            bytes.resize(raw_off as usize, 0);
            read_at(&mut file, at + LEAD_IN, &mut bytes)?;
            let mut c = Cursor {
                b: Bytes { b: &bytes, big },
                at: 0,
                origin: at + LEAD_IN,
            };
            if toc & TOC_NEW_OBJ_LIST != 0 {
                active.clear();
            }
            let n = c.u32("the object count")?;
            for _ in 0..n {
                let obj = c.string("an object path")?;
                let len = c.u32("a raw data index")?;
                let idx = match len {
                    0xFFFF_FFFF => None,
                    0 => Some(*last_index.get(&obj).ok_or_else(|| {
                        format!("TDMS: object {obj} reuses a raw data index it never had (segment at byte {at})")
                    })?),
                    0x6912_0000 | 0x6913_0000 => {
                        return Err(format!("TDMS: object {obj} holds DAQmx raw data, which is not read"))
                    }
                    _ => {
                        let code = c.u32("a data type")?;
                        let dim = c.u32("an array dimension")?;
                        let values = c.u64("a value count")?;
                        if code == 0x20 {
                            c.u64("a string size")?;
                        }
                        if dim != 1 {
                            return Err(format!("TDMS: object {obj} has array dimension {dim} (must be 1)"));
                        }
                        Some(Index { code, values })
                    }
                };
                if let Some(i) = idx {
                    last_index.insert(obj.clone(), i);
                    if !active.contains(&obj) {
                        active.push(obj.clone());
                    }
                } else {
                    active.retain(|a| *a != obj);
                }
                let np = c.u32("a property count")?;
                let entry = props.entry(obj.clone()).or_default();
                for _ in 0..np {
                    let name = c.string("a property name")?;
                    let code = c.u32("a property type")?;
                    let v = c.value(code, &name)?;
                    entry.insert(name, v);
                }
            }
        }
        if toc & TOC_RAW != 0 {
            let objects: Vec<(String, Index)> = active
                .iter()
                .filter_map(|o| last_index.get(o).map(|i| (o.clone(), *i)))
                .filter(|(_, i)| i.values > 0)
                .collect();
            segments.push(SegmentData {
                objects,
                data_start: at + LEAD_IN + raw_off,
                data_len: end - (at + LEAD_IN + raw_off),
                interleaved: toc & TOC_INTERLEAVED != 0,
                big,
                cut,
            });
        }
        at = end;
    }

    // The fibre's channels: the objects with data (all of one type and length per chunk).
    let mut channels: Option<Vec<String>> = None;
    let mut code = None;
    let mut parts = Vec::new();
    let mut t0 = 0usize;
    for s in &segments {
        if s.objects.is_empty() {
            continue;
        }
        let names: Vec<String> = s.objects.iter().map(|(n, _)| n.clone()).collect();
        match &channels {
            None => channels = Some(names),
            Some(c) if *c != names => {
                return Err(format!(
                    "TDMS: the segment at byte {} changes the channel list ({} channels, was {}); one array is read per file",
                    s.data_start,
                    names.len(),
                    c.len()
                ))
            }
            _ => {}
        }
        let (c0, per) = (s.objects[0].1.code, s.objects[0].1.values);
        if s.objects
            .iter()
            .any(|(_, i)| i.code != c0 || i.values != per)
        {
            return Err("TDMS: channels of different types or lengths: not a DAS array".into());
        }
        if *code.get_or_insert(c0) != c0 {
            return Err("TDMS: the channels change type between segments".into());
        }
        let sc = scalar(c0, s.big)
            .ok_or_else(|| format!("TDMS: channel data type 0x{c0:x} is not numeric"))?;
        let nch = s.objects.len() as u64;
        let size = sc.size() as u64;
        let chunk = nch
            .checked_mul(per)
            .and_then(|v| v.checked_mul(size))
            .filter(|c| *c > 0)
            .ok_or_else(|| {
                format!(
                    "TDMS: {per} values per channel per chunk at byte {} is not a size",
                    s.data_start
                )
            })?;
        if s.data_len / chunk > 10_000_000 {
            return Err(format!(
                "TDMS: the segment at byte {} would hold {} chunks of {per} values: not a DAS recording",
                s.data_start,
                s.data_len / chunk
            ));
        }
        let whole = s.data_len / chunk;
        let (x_stride, t_stride) = if s.interleaved {
            (size, nch * size)
        } else {
            (per * size, size)
        };
        let mut push = |len: u64, base: u64, x_stride: u64| {
            parts.push((
                sc,
                Segment {
                    t0,
                    len: len as usize,
                    base,
                    x_stride,
                    t_stride,
                },
            ));
            t0 += len as usize;
        };
        for k in 0..whole {
            push(per, s.data_start + k * chunk, x_stride);
        }
        // A shorter last chunk in a segment of stated length (Silixa sizes them so): as
        // npTDMS reads it, the same layout with fewer values per channel. In a segment the
        // file cuts short, a contiguous chunk is incomplete for every channel after the
        // first (not read); interleaved rows are whole up to the cut.
        let rest = s.data_len % chunk;
        let short = if s.cut && !s.interleaved {
            0
        } else {
            rest / (nch * size)
        };
        if short > 0 {
            let x_stride = if s.interleaved { size } else { short * size };
            push(short, s.data_start + whole * chunk, x_stride);
        }
        let unread = rest - short * nch * size;
        if unread != 0 {
            warnings.push(format!(
                "{unread} bytes at the end of the segment at byte {} are not whole rows of {nch} channels: not read",
                s.data_start
            ));
        }
    }
    let channels = channels.ok_or("TDMS: no channel holds data")?;
    let scalar0 = parts
        .first()
        .map(|p| p.0)
        .ok_or("TDMS: no whole chunk of data")?;
    if parts.iter().any(|p| p.0 != scalar0) {
        return Err("TDMS: segments change byte order: not read".into());
    }
    let root = props.get("/").cloned().unwrap_or_default();
    let get = |k: &str| root.get(k).and_then(Value::num);
    let rate_hz = get("SamplingFrequency[Hz]")
        .filter(|r| *r > 0.0)
        .ok_or("TDMS: no SamplingFrequency[Hz] on the root object")?;
    let start = match root
        .get("GPSTimeStamp")
        .or_else(|| root.get("CPUTimeStamp"))
    {
        Some(Value::Time(t)) => *t,
        Some(Value::Text(s)) => super::parse_iso_offset(s)
            .ok_or_else(|| format!("TDMS: GPSTimeStamp `{s}` is not a time"))?,
        _ => return Err("TDMS: no GPSTimeStamp on the root object".into()),
    };
    let dx =
        get("SpatialResolution[m]").unwrap_or(1.0) * get("Fibre Length Multiplier").unwrap_or(1.0);
    // The first saved channel's position; `Start Distance (m)` is the zero offset of the
    // whole measured length, which the saved channels need not start at.
    let x0 = get("StartPosition[m]")
        .or_else(|| get("Start Distance (m)"))
        .unwrap_or(0.0);
    let nx = channels.len();
    if let Some(n) = get("MeasureLength[m]").filter(|n| *n as usize != nx) {
        warnings.push(format!(
            "MeasureLength[m] says {n} channels but {nx} hold data"
        ));
    }
    let interrogator = [
        "SystemInfomation.Devices0.SerialNum",
        "SystemInformation.Devices0.SerialNum",
    ]
    .iter()
    .find_map(|k| match root.get(*k) {
        Some(Value::Text(t)) if !t.is_empty() => Some(format!("Silixa iDAS {t}")),
        _ => None,
    });
    let segments: Vec<Segment> = parts.into_iter().map(|p| p.1).collect();
    let array = BinaryArray::new(file, scalar0, nx, segments).map_err(|e| format!("TDMS: {e}"))?;
    let info = DasInfo {
        format: "TDMS",
        version: version.to_string(),
        n_time: array.n_time(),
        n_distance: nx,
        dtype: scalar0.dtype().to_string(),
        storage_scale: None,
        start,
        rate_hz,
        distance: positions(x0, dx, nx),
        // iDAS TDMS stores strain rate in instrument counts (DASCore's data_type).
        units: DataUnits::unconverted(Quantity::StrainRate, "counts"),
        gauge_length_m: get("GaugeLength"),
        interrogator,
        pulse_rate_hz: get("PulseRate"),
        axis: Axis::Distance,
        warnings,
    };
    Ok((info, array))
}

fn read_at(file: &mut File, at: u64, buf: &mut [u8]) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| format!("TDMS: read of {} bytes at byte {at}: {e}", buf.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u32).to_le_bytes());
        out.extend(s.as_bytes());
    }

    /// A segment: lead-in, then `meta`, then `raw`.
    fn segment(out: &mut Vec<u8>, toc: u32, meta: &[u8], raw: &[u8]) {
        out.extend(b"TDSm");
        out.extend(toc.to_le_bytes());
        out.extend(4713u32.to_le_bytes());
        out.extend(((meta.len() + raw.len()) as u64).to_le_bytes());
        out.extend((meta.len() as u64).to_le_bytes());
        out.extend(meta);
        out.extend(raw);
    }

    /// Built by hand from the specification: a contiguous segment of two chunks with the
    /// metadata, then an interleaved segment that reuses the object list and indexes
    /// (no metadata of its own), then one whose metadata says "same index as before".
    #[test]
    fn contiguous_interleaved_and_reused_metadata_segments() {
        let v = |t: usize, x: usize| (100 * t + x) as i16;
        let (nch, per) = (3usize, 2usize);
        let mut meta = Vec::new();
        meta.extend((1 + nch as u32).to_le_bytes());
        string(&mut meta, "/");
        meta.extend(0xFFFF_FFFFu32.to_le_bytes());
        let props: [(&str, u32, Vec<u8>); 3] = [
            ("SamplingFrequency[Hz]", 10, 250.0f64.to_le_bytes().to_vec()),
            ("StartPosition[m]", 10, 7.5f64.to_le_bytes().to_vec()),
            ("GPSTimeStamp", 0x44, {
                let mut b = (1u64 << 63).to_le_bytes().to_vec(); // half a second
                b.extend((EPOCH_1904 + 1_700_000_000).to_le_bytes());
                b
            }),
        ];
        meta.extend((props.len() as u32).to_le_bytes());
        for (name, code, bytes) in &props {
            string(&mut meta, name);
            meta.extend(code.to_le_bytes());
            meta.extend(bytes);
        }
        for c in 0..nch {
            string(&mut meta, &format!("/'Measurement'/'{c}'"));
            meta.extend(20u32.to_le_bytes());
            meta.extend(2u32.to_le_bytes()); // int16
            meta.extend(1u32.to_le_bytes());
            meta.extend((per as u64).to_le_bytes());
            meta.extend(0u32.to_le_bytes());
        }
        let mut file = Vec::new();
        // Segment 1: two contiguous chunks, rows 0..4.
        let mut raw = Vec::new();
        for chunk in 0..2 {
            for x in 0..nch {
                for t in 0..per {
                    raw.extend(v(chunk * per + t, x).to_le_bytes());
                }
            }
        }
        segment(
            &mut file,
            TOC_META | TOC_NEW_OBJ_LIST | TOC_RAW,
            &meta,
            &raw,
        );
        // Segment 2: interleaved, metadata carried over, rows 4..6.
        let mut raw = Vec::new();
        for t in 4..6 {
            for x in 0..nch {
                raw.extend(v(t, x).to_le_bytes());
            }
        }
        segment(&mut file, TOC_RAW | TOC_INTERLEAVED, &[], &raw);
        // Segment 3: metadata naming the channels with "same index as before", rows 6..8.
        let mut meta = Vec::new();
        meta.extend((nch as u32).to_le_bytes());
        for c in 0..nch {
            string(&mut meta, &format!("/'Measurement'/'{c}'"));
            meta.extend(0u32.to_le_bytes());
            meta.extend(0u32.to_le_bytes());
        }
        let mut raw = Vec::new();
        for x in 0..nch {
            for t in 6..8 {
                raw.extend(v(t, x).to_le_bytes());
            }
        }
        segment(
            &mut file,
            TOC_META | TOC_NEW_OBJ_LIST | TOC_RAW,
            &meta,
            &raw,
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hand.tdms");
        std::fs::write(&p, &file).unwrap();
        assert_eq!(probe(&p, &file).as_deref(), Some("4713"));
        let (info, array) = open(&p, File::open(&p).unwrap(), "4713").unwrap();
        assert_eq!((info.n_time, info.n_distance), (8, 3));
        assert_eq!(info.start, 1_700_000_000_500_000_000);
        assert_eq!(info.rate_hz, 250.0);
        assert_eq!(info.distance[0], 7.5);
        let all = array.read(0..8, 0..3).unwrap();
        for t in 0..8 {
            for x in 0..3 {
                assert_eq!(all[[x, t]], v(t, x) as f32, "row {t} channel {x}");
            }
        }
        // Truncated inside segment 3's data: its whole rows only, and a warning.
        std::fs::write(&p, &file[..file.len() - 3]).unwrap();
        let (info, _) = open(&p, File::open(&p).unwrap(), "4713").unwrap();
        assert!(info.n_time == 6 && info.warnings.len() == 2, "{info:?}");
    }
}
