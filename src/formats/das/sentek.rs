//! Sentek Instrument `.das` files (version 5): little-endian float32 throughout. A header
//! of six values — channel count, measurement (row) count, sampling interval (µs),
//! strain-rate flag (0 strain, 1 strain rate), trigger position, decimation factor — then
//! the position of every channel (metres), then the time of every row (seconds), then the
//! rows, each one value per channel. The file's size is exactly that; anything else is not
//! a Sentek file. The format has no signature and no absolute time: the first row is at
//! the time in the file name (`<name>_YYYYMMDDhhmmssfff.das`, milliseconds; as DASCore
//! says, Sentek files cannot be renamed), and the row times (float32 seconds of the
//! instrument's own clock, which need not start at the file's time) give the spacing only.
//!
//! Where this differs from DASCore 0.1.24: its reader seeks to absolute offsets that lie in
//! the header and position arrays, so its last distance, its times and its data are read
//! from the wrong places (its data begin at the row times). We read the layout above, which
//! accounts for every byte of the file; `tests/das_formats.rs` shows both.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::binary::{BinaryArray, Bytes, Scalar, Segment};
use super::{Axis, DasInfo, DataUnits, Quantity};
use crate::model::parse_iso;

const HEADER: u64 = 6 * 4;

fn counts(head: &[u8]) -> Option<(u64, u64)> {
    let b = Bytes {
        b: head,
        big: false,
    };
    let (n, m) = (b.f32(0)?, b.f32(4)?);
    let int = |v: f32| v > 1.0 && v < 1e9 && v.fract() == 0.0;
    (int(n) && int(m)).then_some((n as u64, m as u64))
}

/// The file-name time: `..._20230328155653619.das` → 2023-03-28T15:56:53.619.
fn name_time(path: &Path) -> Option<i64> {
    let stem = path.file_stem()?.to_str()?;
    let digits = stem.rsplit('_').next()?;
    if digits.len() != 17 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let d = |a: usize, b: usize| &digits[a..b];
    parse_iso(&format!(
        "{}-{}-{}T{}:{}:{}.{}",
        d(0, 4),
        d(4, 6),
        d(6, 8),
        d(8, 10),
        d(10, 12),
        d(12, 14),
        d(14, 17)
    ))
}

pub fn probe(path: &Path, head: &[u8]) -> Option<String> {
    if path.extension()?.to_str()? != "das" {
        return None;
    }
    let (n, m) = counts(head)?;
    let flag = Bytes {
        b: head,
        big: false,
    }
    .f32(12)?;
    let size = std::fs::metadata(path).ok()?.len();
    (matches!(flag as i32, 0 | 1) && size == HEADER + 4 * (n + m + n * m)).then(|| "5".to_string())
}

pub fn open(path: &Path, file: File, version: &str) -> Result<(DasInfo, BinaryArray), String> {
    let mut head = [0u8; HEADER as usize];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| format!("sentek: header: {e}"))?;
    let (n, m) = counts(&head).ok_or("sentek: channel and row counts are not whole numbers")?;
    let b = Bytes {
        b: &head,
        big: false,
    };
    let interval_us = b.f32(8).unwrap_or(0.0) as f64;
    let strain_rate = b.f32(12).unwrap_or(0.0) != 0.0;
    let floats = |at: u64, k: u64| -> Result<Vec<f32>, String> {
        let mut raw = vec![0u8; (4 * k) as usize];
        file.read_exact_at(&mut raw, at)
            .map_err(|e| format!("sentek: {k} values at byte {at}: {e}"))?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    };
    let distance: Vec<f64> = floats(HEADER, n)?.into_iter().map(f64::from).collect();
    let times = floats(HEADER + 4 * n, m)?;
    let base = name_time(path).ok_or_else(|| {
        "sentek: the file name does not end in _YYYYMMDDhhmmssfff (the start time Sentek files carry only there)"
            .to_string()
    })?;
    let mut warnings = Vec::new();
    // The row times are float32 seconds (a resolution of ~16 ms at 2 days): the header's
    // interval is the exact step, the time array the start.
    let span = (times[m as usize - 1] - times[0]) as f64;
    let from_times = span / (m - 1) as f64;
    let dt = if interval_us > 0.0 {
        let stated = interval_us * 1e-6;
        if (stated - from_times).abs() > 0.01 * stated {
            warnings.push(format!(
                "the header's interval is {interval_us} µs but the row times are {:.3} µs apart on average",
                from_times * 1e6
            ));
        }
        stated
    } else {
        from_times
    };
    if times[0] != 0.0 {
        warnings.push(format!(
            "row times run from {} s to {} s of the instrument clock; the first row is taken at the file name's time",
            times[0],
            times[m as usize - 1]
        ));
    }
    let start = base;
    let array = BinaryArray::new(
        file,
        Scalar::F32 { big: false },
        n as usize,
        vec![Segment {
            t0: 0,
            len: m as usize,
            base: HEADER + 4 * (n + m),
            x_stride: 4,
            t_stride: 4 * n,
        }],
    )
    .map_err(|e| format!("sentek: {e}"))?;
    let quantity = if strain_rate {
        Quantity::StrainRate
    } else {
        Quantity::Strain
    };
    let info = DasInfo {
        format: "sentek",
        version: version.to_string(),
        n_time: m as usize,
        n_distance: n as usize,
        dtype: "float32".into(),
        storage_scale: None,
        start,
        rate_hz: 1.0 / dt,
        distance,
        units: DataUnits::unconverted(quantity, "counts"),
        gauge_length_m: None,
        interrogator: Some("Sentek".into()),
        pulse_rate_hz: None,
        axis: Axis::Distance,
        warnings,
    };
    Ok((info, array))
}
