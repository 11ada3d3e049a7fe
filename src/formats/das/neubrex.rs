//! Neubrex NBX DAS files: one `Acoustic` data set (time, distance) whose attributes carry
//! the acquisition: `GPSTimeStamp(UTC)` (or, without GPS, `CPUTimeStamp(UTC)`),
//! `TimeSamplingInterval(seconds)`, `StartPosition`, `SpatialSamplingInterval`,
//! `StartStopPositionUnit`, `DataPhysicalUnit`, `GaugeLength` and the NEUBRESCOPE model and
//! serial number. Files decimated in time or distance (`TimeDecimationFilter`,
//! `DistanceDecimationFilter` above 1) are refused rather than guessed, as DASCore does.

use hdf5::File;

use super::h5::{attr_num, attr_text, exists, has_attrs};
use super::{dtype_name, parse_iso_offset, positions, DasInfo, DataUnits, Quantity, Storage};

const NEEDED: &[&str] = &[
    "NEUBRESCOPE.DAS.Model",
    "StartPosition",
    "StopPosition",
    "SpatialSamplingInterval",
    "GPSTimeStamp(UTC)",
    "CPUTimeStamp(UTC)",
];

pub fn probe(f: &File) -> Option<String> {
    if !exists(f, "Acoustic") {
        return None;
    }
    let ds = f.dataset("Acoustic").ok()?;
    has_attrs(&ds, NEEDED).then(|| "1".to_string())
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let ds = f.dataset("Acoustic").map_err(|e| format!("Neubrex: {e}"))?;
    let [n_time, n_distance] = super::shape_2d(&ds, "Neubrex: Acoustic")?;
    for key in ["TimeDecimationFilter", "DistanceDecimationFilter"] {
        if let Some(v) = attr_num(&ds, key).filter(|v| *v > 1.0) {
            return Err(format!(
                "Neubrex: {key} is {v}; decimated files are not read (their axes are not documented)"
            ));
        }
    }
    let gps = attr_text(&ds, "GPSTimeStamp(UTC)").filter(|s| !s.trim().is_empty());
    let cpu = attr_text(&ds, "CPUTimeStamp(UTC)").filter(|s| !s.trim().is_empty());
    let mut warnings = Vec::new();
    if gps.is_none() {
        warnings.push("no GPS time stamp: the start is the interrogator's CPU clock".into());
    }
    let stamp = gps.or(cpu).ok_or("Neubrex: no GPS or CPU time stamp")?;
    let start = parse_iso_offset(&stamp)
        .ok_or_else(|| format!("Neubrex: time stamp `{stamp}` is not an ISO 8601 time"))?;
    let dt = attr_num(&ds, "TimeSamplingInterval(seconds)")
        .filter(|d| *d > 0.0)
        .ok_or("Neubrex: no positive TimeSamplingInterval(seconds)")?;
    let dx =
        attr_num(&ds, "SpatialSamplingInterval").ok_or("Neubrex: no SpatialSamplingInterval")?;
    let x0 = attr_num(&ds, "StartPosition").unwrap_or(0.0);
    let unit = attr_text(&ds, "StartStopPositionUnit").unwrap_or_else(|| "m".into());
    let to_m = match unit.trim().to_ascii_lowercase().as_str() {
        "m" | "meter" | "meters" | "metre" | "metres" => 1.0,
        "ft" | "feet" | "foot" => 0.3048,
        "km" => 1000.0,
        other => return Err(format!("Neubrex: position unit `{other}` is not a length")),
    };
    let data_unit = attr_text(&ds, "DataPhysicalUnit").unwrap_or_default();
    let quantity = Quantity::guess(&data_unit.replace('-', ""));
    let info = DasInfo {
        format: "NeubrexDAS",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz: 1.0 / dt,
        distance: positions(x0 * to_m, dx * to_m, n_distance),
        units: DataUnits::unconverted(
            quantity,
            if data_unit.is_empty() {
                "counts".into()
            } else {
                data_unit
            },
        ),
        gauge_length_m: attr_num(&ds, "GaugeLength"),
        interrogator: attr_text(&ds, "NEUBRESCOPE.DAS.Model"),
        pulse_rate_hz: None,
        axis: super::Axis::Distance,
        warnings,
    };
    Ok((
        info,
        Storage::Plain {
            ds,
            time_major: true,
        },
    ))
}
