//! Silixa's native iDAS HDF5 (before PRODML): one `Acoustic` data set (time, distance) whose
//! attributes carry everything: `SamplingFrequency[Hz]`, `GPSTimeStamp` / `CPUTimeStamp`
//! (`dd/mm/yyyy HH:MM:SS.ffffff (UTC)`), `Start Distance (m)`, `SpatialResolution[m]`,
//! `Fibre Length Multiplier`, `GaugeLength`, and the interrogator's serial number.

use hdf5::File;

use super::h5::{attr_num, attr_text, exists, has_attrs};
use super::{dtype_name, positions, DasInfo, DataUnits, Quantity, Storage};
use crate::model::parse_iso;

const NEEDED: &[&str] = &[
    "SamplingFrequency[Hz]",
    "GPSTimeStamp",
    "CPUTimeStamp",
    "SpatialResolution[m]",
    "Fibre Length Multiplier",
];

pub fn probe(f: &File) -> Option<String> {
    if !exists(f, "Acoustic") {
        return None;
    }
    let ds = f.dataset("Acoustic").ok()?;
    has_attrs(&ds, NEEDED).then(|| "1".to_string())
}

/// `31/05/2019 08:38:50.626928 (UTC)` (day first).
fn parse_silixa_time(s: &str) -> Option<i64> {
    let s = s.replace("(UTC)", "");
    let (date, time) = s.trim().split_once(' ')?;
    let mut p = date.split('/');
    let (d, m, y) = (p.next()?, p.next()?, p.next()?);
    parse_iso(&format!("{y}-{m:0>2}-{d:0>2}T{}", time.trim()))
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let ds = f.dataset("Acoustic").map_err(|e| format!("Silixa: {e}"))?;
    let shape = super::shape_2d(&ds, "Silixa: Acoustic")?;
    let rate_hz =
        attr_num(&ds, "SamplingFrequency[Hz]").ok_or("Silixa: no SamplingFrequency[Hz]")?;
    let gps = attr_text(&ds, "GPSTimeStamp").and_then(|s| parse_silixa_time(&s));
    let cpu = attr_text(&ds, "CPUTimeStamp").and_then(|s| parse_silixa_time(&s));
    let mut warnings = Vec::new();
    let start = match (gps, cpu) {
        (Some(g), _) => g,
        (None, Some(c)) => {
            warnings.push("no GPS time stamp; using the computer's clock".into());
            c
        }
        (None, None) => {
            return Err("Silixa: neither GPSTimeStamp nor CPUTimeStamp is a time".into())
        }
    };
    // Positions as DASCore (and Silixa's TDMS convention) compute them: the start position
    // plus the measured length, both scaled by the fibre length multiplier.
    let mult = attr_num(&ds, "Fibre Length Multiplier").unwrap_or(1.0);
    let step =
        attr_num(&ds, "SpatialResolution[m]").ok_or("Silixa: no SpatialResolution[m]")? * mult;
    let x0 = attr_num(&ds, "StartPosition[m]").unwrap_or(0.0)
        + attr_num(&ds, "MeasureLength[m]").unwrap_or(0.0) * mult;
    let info = DasInfo {
        format: "Silixa_H5",
        version: version.to_string(),
        n_time: shape[0],
        n_distance: shape[1],
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz,
        distance: positions(x0, step, shape[1]),
        units: DataUnits::unconverted(Quantity::Raw, "counts"),
        gauge_length_m: attr_num(&ds, "GaugeLength"),
        interrogator: attr_text(&ds, "SystemInfomation.Devices1.SerialNum"),
        pulse_rate_hz: None,
        axis: super::Axis::Distance,
        warnings,
    };
    super::time_major(info, ds)
}
