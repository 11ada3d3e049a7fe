//! PRODML 2.0 / 2.1 DAS files (Energistics; Silixa iDAS, OptaSense, Sintela and others):
//! `/Acquisition` carries the acquisition (gauge length, spatial sampling, the first locus
//! index), each `/Acquisition/Raw[n]` a `RawData` array with its `Dimensions` (time-major or
//! locus-major) and a `RawDataTime` array in microseconds.
//!
//! `/Acquisition/Processed/Fbe[n]` groups hold frequency-band-energy arrays `FbeData[k]`
//! (one per band, its `StartFrequency`..`EndFrequency` on the array) with an `FbeDataTime`
//! array and the group's own `OutputDataRate` and `FbeDataUnit`: each band is one array of
//! the file, after the Raw ones.
//!
//! Time: the first `RawDataTime` value (integer µs) or else `PartStartTime`; the rate is the
//! Raw node's `OutputDataRate`, or, when absent, the one `PartStartTime`..`PartEndTime` implies.
//! `PartEndTime` and the last `RawDataTime` are checked against the array.

use hdf5::{File, Group};

use super::h5::{attr_num, attr_text, attr_version, exists, has_attrs};
use super::{
    check_end, dtype_name, parse_iso_offset, positions, DasInfo, DataUnits, Quantity, Storage,
};

pub fn probe(f: &File) -> Option<String> {
    if !exists(f, "Acquisition") {
        return None;
    }
    let acq = f.group("Acquisition").ok()?;
    let needed = ["PulseRate", "NumberOfLoci", "schemaVersion"];
    if !has_attrs(&acq, &needed) {
        return None;
    }
    attr_version(&acq, "schemaVersion")
}

/// One array of a PRODML file: a `Raw[n]/RawData`, or one band `Processed/Fbe[n]/FbeData[k]`
/// (frequency-band energy, with its own rate, time array and units).
struct Array {
    group: Group,
    data: String,
    label: String,
    /// Attribute names of the group for the rate, the unit and the description.
    fbe: bool,
}

fn sorted_members(g: &Group) -> Vec<String> {
    let mut names = g.member_names().unwrap_or_default();
    // `Raw[10]` after `Raw[9]`: by the bracketed index, then by name.
    names.sort_by_key(|n| {
        let idx = n
            .rsplit_once('[')
            .and_then(|(_, r)| r.trim_end_matches(']').parse::<u64>().ok());
        (
            n.split('[').next().unwrap_or("").to_string(),
            idx,
            n.clone(),
        )
    });
    names
}

/// Every array in file order: the Raw arrays, then each Fbe group's bands.
fn all_arrays(acq: &Group) -> Vec<Array> {
    let mut out = Vec::new();
    for n in sorted_members(acq) {
        if !n.to_ascii_lowercase().starts_with("raw") {
            continue;
        }
        let Ok(g) = acq.group(&n) else { continue };
        if let Some(data) = sorted_members(&g)
            .into_iter()
            .find(|m| m.ends_with("Data") && !m.ends_with("DataTime"))
        {
            out.push(Array {
                label: format!("{n}/{data}"),
                group: g,
                data,
                fbe: false,
            });
        }
    }
    if let Ok(processed) = acq.group("Processed") {
        for n in sorted_members(&processed) {
            if !n.starts_with("Fbe") {
                continue;
            }
            let Ok(g) = processed.group(&n) else { continue };
            for data in sorted_members(&g) {
                if !data.starts_with("FbeData[") {
                    continue;
                }
                let band = g.dataset(&data).ok().and_then(|d| {
                    Some(format!(
                        " {:.2}..{:.2} Hz",
                        attr_num(&d, "StartFrequency")?,
                        attr_num(&d, "EndFrequency")?
                    ))
                });
                out.push(Array {
                    label: format!("{n}/{data}{}", band.unwrap_or_default()),
                    group: g.clone(),
                    data,
                    fbe: true,
                });
            }
        }
    }
    out
}

/// The labels of every array (Raw and Fbe bands) of a PRODML file.
pub fn arrays(f: &File) -> Vec<String> {
    f.group("Acquisition")
        .map(|acq| all_arrays(&acq).into_iter().map(|a| a.label).collect())
        .unwrap_or_default()
}

pub fn open(f: &File, version: &str, index: usize) -> Result<(DasInfo, Storage), String> {
    let acq = f.group("Acquisition").map_err(|e| e.to_string())?;
    let Array {
        group: raw,
        data: data_name,
        fbe,
        ..
    } = all_arrays(&acq)
        .into_iter()
        .nth(index)
        .ok_or("PRODML: no Acquisition/Raw[n] with a RawData array and no Fbe array")?;
    let ds = raw.dataset(&data_name).map_err(|e| e.to_string())?;
    let shape = super::shape_2d(&ds, &format!("PRODML: {data_name}"))?;
    let dims = ds
        .attr("Dimensions")
        .ok()
        .and_then(|a| super::h5::texts(&a))
        .unwrap_or_default();
    // "time, locus" as one string in some writers, as an array of names in others.
    let dims: Vec<String> = dims
        .iter()
        .flat_map(|d| {
            d.split([',', ' '])
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .collect();
    let time_major = match dims.first().map(String::as_str) {
        Some("time") | None => true,
        Some("locus") | Some("distance") => false,
        Some(other) => {
            return Err(format!(
                "PRODML: unknown dimension `{other}` in RawData Dimensions"
            ))
        }
    };
    let (n_time, n_distance) = super::time_and_channels(shape, time_major);

    let mut warnings = Vec::new();
    let time_ds = raw
        .member_names()
        .ok()
        .and_then(|m| m.into_iter().find(|n| n.ends_with("DataTime")))
        .and_then(|n| raw.dataset(&n).ok());
    let part_start = attr_text(&ds, "PartStartTime")
        .or_else(|| time_ds.as_ref().and_then(|t| attr_text(t, "PartStartTime")))
        .and_then(|s| parse_iso_offset(&s));
    let part_end = attr_text(&ds, "PartEndTime")
        .or_else(|| time_ds.as_ref().and_then(|t| attr_text(t, "PartEndTime")))
        .and_then(|s| parse_iso_offset(&s));
    // RawDataTime is microseconds since the epoch (PRODML's `Uom` says so when present).
    let time_values = |range: std::ops::Range<usize>| -> Option<Vec<i64>> {
        let t = time_ds.as_ref()?;
        if t.shape().first().copied().unwrap_or(0) < range.end || range.is_empty() {
            return None;
        }
        t.read_slice_1d::<i64, _>(ndarray::s![range.start..range.end])
            .ok()
            .map(|a| a.to_vec())
    };
    let first_us = time_values(0..1).map(|v| v[0]);
    let last_us = time_values(n_time.saturating_sub(1)..n_time).map(|v| v[0]);
    let start = match (first_us, part_start) {
        (Some(us), Some(p)) if (us * 1000 - p).abs() > 1000 => {
            warnings.push(format!(
                "RawDataTime[0] ({us} µs) differs from PartStartTime; using RawDataTime"
            ));
            us * 1000
        }
        (Some(us), _) => us * 1000,
        (None, Some(p)) => p,
        (None, None) => return Err("PRODML: no RawDataTime array and no PartStartTime".into()),
    };
    let rate = attr_num(&raw, "OutputDataRate")
        .filter(|r| *r > 0.0)
        .or_else(|| {
            let end = part_end?;
            (n_time > 1 && end > start).then(|| (n_time - 1) as f64 * 1e9 / (end - start) as f64)
        });
    let rate_hz =
        rate.ok_or("PRODML: no OutputDataRate and no PartEndTime to derive the rate from")?;

    let step =
        attr_num(&acq, "SpatialSamplingInterval").ok_or("PRODML: no SpatialSamplingInterval")?;
    let first_locus = attr_num(&raw, "StartLocusIndex")
        .or_else(|| attr_num(&acq, "StartLocusIndex"))
        .unwrap_or(0.0);
    let loci = attr_num(&raw, "NumberOfLoci").or_else(|| attr_num(&acq, "NumberOfLoci"));
    if let Some(l) = loci.filter(|l| *l as usize != n_distance) {
        warnings.push(format!(
            "NumberOfLoci is {l} but RawData has {n_distance} loci"
        ));
    }
    let (unit_key, description_key) = if fbe {
        ("FbeDataUnit", "FbeDescription")
    } else {
        ("RawDataUnit", "RawDescription")
    };
    let unit_text = attr_text(&raw, unit_key).unwrap_or_default();
    let description = attr_text(&raw, description_key).unwrap_or_default();
    let quantity = if fbe {
        Quantity::BandEnergy
    } else {
        Quantity::guess_first(&[&description, &unit_text])
    };
    let stored = if unit_text.is_empty() || unit_text.eq_ignore_ascii_case("unitless") {
        "counts".to_string()
    } else {
        unit_text
    };
    let interrogator = [
        attr_text(&acq, "VendorCode"),
        attr_text(&acq, "ServiceCompanyName"),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.is_empty());
    let mut info = DasInfo {
        format: "PRODML",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz,
        distance: positions(first_locus * step, step, n_distance),
        units: DataUnits::unconverted(quantity, stored),
        gauge_length_m: attr_num(&acq, "GaugeLength"),
        interrogator,
        pulse_rate_hz: attr_num(&acq, "PulseRate"),
        axis: super::Axis::Distance,
        warnings,
    };
    check_end(&mut info, "PartEndTime", part_end);
    check_end(
        &mut info,
        "the last RawDataTime",
        last_us.map(|us| us * 1000),
    );
    Ok((info, Storage::Plain { ds, time_major }))
}
