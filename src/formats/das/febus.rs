//! Febus A1 files: `/<device>/Source<n>/Zone<n>/<dataset>` holds (block, time, distance)
//! blocks; `/<device>/Source<n>/time` the time of each block. Consecutive blocks overlap in
//! time (by `BlockOverlap`/`Overlap` percent, 100 % — half of each block repeated — in the
//! Febus template and in files that do not say); the non-redundant middle rows of each block,
//! concatenated, are the continuous record.
//!
//! The sampling interval is `Spacing[1]` (ms) in files with a `Version`; older files (no
//! `Version`, e.g. the PubDAS Valencia data) are known to carry a wrong `Spacing[1]` and use
//! `1/SamplingRate`, unless that holds the bogus 2.5e8 of the earliest firmware.
//! The distance axis is `Origin[0] + (Extent[0] + i)·Spacing[0]`.

use hdf5::{File, Group};

use super::h5::{attr_num, attr_text, has_attrs, nums};
use super::{dtype_name, positions, DasInfo, DataUnits, Quantity, Storage};

const SOURCE_ATTRS: &[&str] = &["AmpliPower", "Hostname", "WholeExtent", "SamplingRate"];

pub fn probe(f: &File) -> Option<String> {
    let devices = f.member_names().ok()?;
    if devices.is_empty() {
        return None;
    }
    let mut version = "1".to_string();
    for d in &devices {
        let g = f.group(d).ok()?;
        let sources = g.member_names().ok()?;
        if sources.is_empty() || !sources.iter().all(|s| s.starts_with("Source")) {
            return None;
        }
        for s in sources {
            let src = g.group(&s).ok()?;
            if !has_attrs(&src, SOURCE_ATTRS) {
                return None;
            }
            if let Some(v) = attr_text(&src, "Version") {
                version = v.split('.').next().unwrap_or("1").to_string();
            }
        }
    }
    Some(version)
}

/// The first zone: (source group, zone group, data set name).
fn first_zone(f: &File) -> Result<(Group, Group, String), String> {
    let mut devices = f.member_names().map_err(|e| e.to_string())?;
    devices.sort();
    for d in devices {
        let dev = f.group(&d).map_err(|e| e.to_string())?;
        let mut sources = dev.member_names().map_err(|e| e.to_string())?;
        sources.sort();
        for s in sources {
            let src = dev.group(&s).map_err(|e| e.to_string())?;
            let mut zones: Vec<String> = src
                .member_names()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|z| z != "time" && src.group(z).is_ok())
                .collect();
            zones.sort();
            if let Some(z) = zones.first() {
                let zone = src.group(z).map_err(|e| e.to_string())?;
                let data = zone
                    .member_names()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .next()
                    .ok_or_else(|| format!("febus: zone {d}/{s}/{z} holds no data set"))?;
                return Ok((src, zone, data));
            }
        }
    }
    Err("febus: no Source/Zone with data".into())
}

/// Mean spacing of the block times after dropping outliers (Tukey's fences), seconds.
fn block_period(times: &[f64]) -> Option<f64> {
    let mut d: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if d.is_empty() {
        return None;
    }
    let mut sorted = d.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let (q1, q3) = (q(0.25), q(0.75));
    let (lo, hi) = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1));
    d.retain(|v| *v >= lo && *v <= hi);
    Some(d.iter().sum::<f64>() / d.len() as f64)
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let (src, zone, data_name) = first_zone(f)?;
    let ds = zone.dataset(&data_name).map_err(|e| e.to_string())?;
    let shape = ds.shape();
    if shape.len() != 3 {
        return Err(format!(
            "febus: {data_name} has {} dimensions, expected (block, time, distance)",
            shape.len()
        ));
    }
    let (n_blocks, block_rows, n_distance) = (shape[0], shape[1], shape[2]);
    let vec_attr = |name: &str| zone.attr(name).ok().and_then(|a| nums(&a));
    let spacing = vec_attr("Spacing").ok_or("febus: zone has no Spacing")?;
    let extent = vec_attr("Extent").ok_or("febus: zone has no Extent")?;
    let origin = vec_attr("Origin").unwrap_or_else(|| vec![0.0, 0.0]);
    if spacing.len() < 2 || extent.len() < 4 {
        return Err("febus: Spacing or Extent too short".into());
    }
    let times = src
        .dataset("time")
        .ok()
        .and_then(|t| nums(&t))
        .ok_or("febus: Source has no time data set")?;
    let t0 = *times.first().ok_or("febus: empty time data set")?;
    let mut warnings = Vec::new();

    let has_version = zone.attr("Version").is_ok();
    let block_time = attr_num(&zone, "BlockRate")
        .filter(|r| *r > 0.0)
        .map(|r| 1000.0 / r)
        .or_else(|| block_period(&times));
    let overlap = attr_num(&zone, "Overlap")
        .or_else(|| attr_num(&zone, "BlockOverlap"))
        .unwrap_or(100.0);
    let (dt, padded_rows) = if has_version {
        let pad = (1.0 + extent[3] - extent[2]) as usize;
        (spacing[1] / 1000.0, pad)
    } else {
        let fs = attr_num(&zone, "SamplingRate").ok_or("febus: zone has no SamplingRate")?;
        let dt = if fs < 1e8 {
            1.0 / fs
        } else {
            spacing[1] / 1000.0
        };
        (dt, block_rows)
    };
    if dt.is_nan() || dt <= 0.0 || padded_rows < 2 {
        return Err(format!(
            "febus: bad sampling interval {dt} s or block length {padded_rows}"
        ));
    }
    // Extents not starting at 0: the writer already removed the overlap.
    let unpadded = if extent[2] != 0.0 {
        (block_time.ok_or("febus: cannot tell the block period")? / dt).round() as usize
    } else {
        (padded_rows as f64 / (1.0 + overlap / 100.0)).round() as usize
    };
    let redundant = padded_rows.saturating_sub(unpadded);
    let first = redundant / 2;
    let last = padded_rows - 1 - (redundant / 2 + redundant % 2);
    if last >= block_rows || first > last {
        return Err(format!(
            "febus: rows {first}..={last} of each block do not fit its {block_rows} rows"
        ));
    }
    if let Some(bt) = block_time {
        let kept_s = (last - first + 1) as f64 * dt;
        if (kept_s - bt).abs() > 0.05 * bt {
            warnings.push(format!(
                "blocks are {bt:.4} s apart but hold {kept_s:.4} s of non-redundant samples"
            ));
        }
    }
    let rate_hz = 1.0 / dt;
    // The block time stamps the block's centre minus Origin[1] (ms); the first kept row is
    // `first` samples later.
    let t0_ns = super::h5::secs_to_ns(t0 + origin.get(1).copied().unwrap_or(0.0) / 1000.0)
        .ok_or("febus: block time is not finite")?;
    let start = t0_ns + (first as f64 * 1e9 / rate_hz).round() as i64;
    let dstep = spacing[0];
    let d0 = origin[0] + extent[0] * dstep;
    let keep = first..last + 1;
    let info = DasInfo {
        format: "febus",
        version: version.to_string(),
        n_time: n_blocks * keep.len(),
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz,
        distance: positions(d0, dstep, n_distance),
        units: DataUnits::unconverted(Quantity::StrainRate, "nanostrain/s"),
        gauge_length_m: attr_num(&zone, "GaugeLength"),
        interrogator: attr_text(&src, "Hostname"),
        pulse_rate_hz: attr_num(&src, "PulseRateFreq"),
        axis: super::Axis::Distance,
        warnings,
    };
    Ok((info, Storage::Blocks { ds, keep }))
}
