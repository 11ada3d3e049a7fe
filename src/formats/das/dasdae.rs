//! DASCore's own HDF5 format (DASDAE, written through PyTables): the root's `__format__` is
//! `DASDAE` and `__DASDAE_version__` its version; each patch is a group under `/waveforms`
//! holding `data`, one `_coord_<name>` array per coordinate (times as int64 nanoseconds,
//! flagged `is_datetime64`), and its attributes as `_attrs_<name>` (`data_type`,
//! `data_units`, `gauge_length`, ...) with the dimension order in `_dims`
//! (`distance,time` or `time,distance`; `channel` for an axis without positions).
//!
//! Each patch is one array of the file, in group-name order (DASCore names the groups by
//! start time). Time: the first coordinate value and the interval DASCore derives from
//! the array; a time array that departs from that axis is reported.

use hdf5::{File, Group};

use super::h5::{attr_num, attr_text, exists};
use super::{dtype_name, Axis, DasInfo, DataUnits, Quantity, Storage};

pub fn probe(f: &File) -> Option<String> {
    (attr_text(f, "__format__")? == "DASDAE" && exists(f, "waveforms"))
        .then(|| attr_text(f, "__DASDAE_version__").unwrap_or_else(|| "1".into()))
}

/// The patch groups (those holding `data`) in name order.
fn patches(f: &File) -> Vec<String> {
    let Ok(w) = f.group("waveforms") else {
        return Vec::new();
    };
    let mut names: Vec<String> = w
        .member_names()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| w.group(n).map(|g| g.link_exists("data")).unwrap_or(false))
        .collect();
    names.sort();
    names
}

pub fn arrays(f: &File) -> Vec<String> {
    patches(f)
}

fn coord(g: &Group, name: &str) -> Result<Vec<f64>, String> {
    g.dataset(&format!("_coord_{name}"))
        .and_then(|d| d.read_raw::<f64>())
        .map_err(|e| format!("DASDAE: coordinate `{name}`: {e}"))
}

pub fn open(f: &File, version: &str, index: usize) -> Result<(DasInfo, Storage), String> {
    let name = patches(f)
        .into_iter()
        .nth(index)
        .ok_or("DASDAE: no patch group with data under /waveforms")?;
    let g = f
        .group(&format!("waveforms/{name}"))
        .map_err(|e| format!("DASDAE: {e}"))?;
    let ds = g.dataset("data").map_err(|e| format!("DASDAE: {e}"))?;
    let shape = super::shape_2d(&ds, &format!("DASDAE: {name}/data"))?;
    let dims_text = attr_text(&g, "_dims").ok_or("DASDAE: patch has no _dims")?;
    let dims: Vec<&str> = dims_text.split(',').map(str::trim).collect();
    let (time_major, other) = match dims[..] {
        ["time", o] => (true, o),
        [o, "time"] => (false, o),
        _ => {
            return Err(format!(
                "DASDAE: dimensions `{dims_text}` are not (time, x) or (x, time)"
            ))
        }
    };
    let (n_time, n_distance) = super::time_and_channels(shape, time_major);
    let times: Vec<i64> = g
        .dataset("_coord_time")
        .and_then(|d| d.read_raw::<i64>())
        .map_err(|e| format!("DASDAE: time coordinate: {e}"))?;
    if times.len() != n_time {
        return Err(format!("DASDAE: {} times for {n_time} rows", times.len()));
    }
    let start = *times.first().ok_or("DASDAE: empty time coordinate")?;
    let step = attr_num(&g, "_attrs_time_step")
        .filter(|s| *s > 0.0)
        .or_else(|| super::time_axis_step(&times))
        .ok_or("DASDAE: a single time and no time step: no rate")?;
    let warnings: Vec<String> = super::off_grid(&times, start, step, "times")
        .into_iter()
        .collect();
    let (axis, distance) = match other {
        "distance" => (Axis::Distance, coord(&g, "distance")?),
        _ => (
            Axis::Channel,
            coord(&g, other).unwrap_or_else(|_| (0..n_distance).map(|i| i as f64).collect()),
        ),
    };
    if distance.len() != n_distance {
        return Err(format!(
            "DASDAE: {} {other} values for {n_distance} channels",
            distance.len()
        ));
    }
    let data_type = attr_text(&g, "_attrs_data_type").unwrap_or_default();
    let units = attr_text(&g, "_attrs_data_units").unwrap_or_default();
    let quantity = Quantity::guess_first(&[&data_type, &units]);
    let info = DasInfo {
        format: "DASDAE",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz: 1e9 / step,
        distance,
        units: DataUnits::unconverted(
            quantity,
            if units.is_empty() {
                "counts".into()
            } else {
                units
            },
        ),
        gauge_length_m: attr_num(&g, "_attrs_gauge_length").filter(|v| v.is_finite() && *v > 0.0),
        interrogator: attr_text(&g, "_attrs_instrument_id").filter(|s| !s.is_empty()),
        pulse_rate_hz: None,
        axis,
        warnings,
    };
    Ok((info, Storage::Plain { ds, time_major }))
}
