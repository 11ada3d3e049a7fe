//! AP Sensing DAS files: root attributes `FileVersion`, `AppVersion`,
//! `OpticalChannelNumber`; groups `DAQ` (`PositionStart`, `PositionEnd`, `SerialNumber`),
//! `ProcessingServer` (`DataRate`, `GaugeLength`, `RadiansToNanoStrain`, `SpatialSampling`),
//! `Metadata` (`Timestamp`, `Timezone`, `TraceCount`); samples in `DAS` (time, distance),
//! in radians with `RadiansToNanoStrain` as the conversion factor to nanostrain.
//!
//! The stated `SpatialSampling` does not fit the position range over the channel count in
//! the vendor's own files (by ~0.08 %), so positions span `PositionStart..PositionEnd`.

use hdf5::File;

use super::h5::{attr_version, ds_num, ds_text, exists, has_attrs};
use super::{dtype_name, parse_iso_offset, positions, DasInfo, DataUnits, Quantity, Storage};

pub fn probe(f: &File) -> Option<String> {
    let by_attrs = has_attrs(f, &["AppVersion", "FileVersion", "OpticalChannelNumber"]);
    let by_groups = ["DAQ", "Interrogator", "Metadata", "ProcessingServer"]
        .iter()
        .all(|g| exists(f, g));
    if !(by_attrs || by_groups) || !exists(f, "DAS") {
        return None;
    }
    Some(attr_version(f, "FileVersion").unwrap_or_else(|| "1".into()))
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let ds = f.dataset("DAS").map_err(|e| format!("AP Sensing: {e}"))?;
    let shape = super::shape_2d(&ds, "AP Sensing: DAS")?;
    let (n_time, n_distance) = (shape[0], shape[1]);
    let rate_hz =
        ds_num(f, "ProcessingServer/DataRate").ok_or("AP Sensing: no ProcessingServer/DataRate")?;
    let stamp = ds_text(f, "Metadata/Timestamp").ok_or("AP Sensing: no Metadata/Timestamp")?;
    let zone = ds_text(f, "Metadata/Timezone").unwrap_or_else(|| "UTC".into());
    let offset_s = match zone.trim() {
        "UTC" | "UTC+0" | "UTC+00:00" | "GMT" | "" => 0,
        z => {
            let o = z.trim_start_matches("UTC");
            let t = parse_iso_offset(&format!("1970-01-01T00:00:00{o}"))
                .ok_or_else(|| format!("AP Sensing: time zone `{z}` not understood"))?;
            t / 1_000_000_000
        }
    };
    let start = parse_iso_offset(&stamp)
        .ok_or_else(|| format!("AP Sensing: Metadata/Timestamp `{stamp}` is not a time"))?
        + offset_s * 1_000_000_000;
    let mut warnings = Vec::new();
    if let Some(tc) = ds_num(f, "Metadata/TraceCount").filter(|c| *c as usize != n_time) {
        warnings.push(format!("TraceCount is {tc} but DAS has {n_time} traces"));
    }
    let x0 = ds_num(f, "DAQ/PositionStart").ok_or("AP Sensing: no DAQ/PositionStart")?;
    let x1 = ds_num(f, "DAQ/PositionEnd").ok_or("AP Sensing: no DAQ/PositionEnd")?;
    let step = (x1 - x0) / n_distance.max(1) as f64;
    if let Some(ss) =
        ds_num(f, "ProcessingServer/SpatialSampling").filter(|s| (s - step).abs() > 1e-3 * step)
    {
        warnings.push(format!(
            "SpatialSampling is {ss} m but positions are {step} m apart"
        ));
    }
    let factor = ds_num(f, "ProcessingServer/RadiansToNanoStrain");
    let info = DasInfo {
        format: "APSensing",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz,
        distance: positions(x0, step, n_distance),
        units: DataUnits {
            quantity: Quantity::Phase,
            stored: "rad".into(),
            factor,
            physical: if factor.is_some() {
                "nanostrain".into()
            } else {
                "rad".into()
            },
        },
        gauge_length_m: ds_num(f, "ProcessingServer/GaugeLength"),
        interrogator: ds_text(f, "DAQ/SerialNumber"),
        pulse_rate_hz: None,
        axis: super::Axis::Distance,
        warnings,
    };
    super::time_major(info, ds)
}
