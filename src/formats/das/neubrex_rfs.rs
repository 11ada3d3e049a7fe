//! Neubrex Rayleigh-frequency-shift files (DSS strain and DTS temperature, as recorded at
//! Utah FORGE): root data sets `data` (time, depth), `depth` (the position of every
//! channel), `stamps` and `stamps_unix` (the time of every row, microseconds since the
//! epoch), with `DataUnitLabel`, `StartDateTime` and `EndDateTime` on `data`.
//!
//! Time: the first stamp and the interval DASCore derives from the stamps (the median
//! interval when they jitter by less than 0.1 %; these are slow measurements, minutes
//! apart), and the rows that depart from that axis by more than half a step reported. Positions are the `depth` array as written.

use hdf5::File;

use super::h5::{attr_text, exists, has_attrs, nums};
use super::{dtype_name, Axis, DasInfo, DataUnits, Quantity, Storage};

pub fn probe(f: &File) -> Option<String> {
    if !["data", "depth", "stamps"].iter().all(|n| exists(f, n)) {
        return None;
    }
    let ds = f.dataset("data").ok()?;
    has_attrs(&ds, &["DataUnitLabel", "StartDateTime", "EndDateTime"]).then(|| "1".to_string())
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let ds = f.dataset("data").map_err(|e| format!("NeubrexRFS: {e}"))?;
    let shape = super::shape_2d(&ds, "NeubrexRFS: data")?;
    let (n_time, n_distance) = super::time_and_channels(shape, true);
    let stamps = f
        .dataset("stamps_unix")
        .ok()
        .and_then(|d| nums(&d))
        .ok_or("NeubrexRFS: no stamps_unix (microseconds since the epoch)")?;
    if stamps.len() != n_time || n_time < 2 {
        return Err(format!(
            "NeubrexRFS: {} time stamps for {n_time} rows (two or more needed)",
            stamps.len()
        ));
    }
    let times: Vec<i64> = stamps
        .iter()
        .map(|us| (us * 1000.0).round() as i64)
        .collect();
    let (start, last) = (times[0], times[n_time - 1]);
    if last <= start {
        return Err("NeubrexRFS: stamps_unix does not increase".into());
    }
    let step = super::time_axis_step(&times).ok_or("NeubrexRFS: stamps_unix does not increase")?;
    let warnings: Vec<String> = super::off_grid(&times, start, step, "rows of stamps_unix")
        .into_iter()
        .collect();
    let distance = f
        .dataset("depth")
        .ok()
        .and_then(|d| nums(&d))
        .filter(|d| d.len() == n_distance)
        .ok_or_else(|| format!("NeubrexRFS: depth does not hold {n_distance} positions"))?;
    let unit = attr_text(&ds, "DataUnitLabel").unwrap_or_default();
    let quantity = Quantity::guess(&unit.replace('-', ""));
    let info = DasInfo {
        format: "NeubrexRFS",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz: 1e9 / step,
        distance,
        units: DataUnits::unconverted(quantity, unit),
        gauge_length_m: None,
        interrogator: Some("Neubrex".into()),
        pulse_rate_hz: None,
        axis: Axis::Distance,
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
