//! The simple HDF5 layout (DASCore's `H5Simple`, as the FORESEE data on PubDAS are
//! written): a root data array `raw` or `data`, a root time array `timestamp`, `time` or
//! `timestamps` (float seconds since the epoch), optionally a `distance` or `channels`
//! array, and no format attribute naming another layout. The dimension order comes from a
//! root `dims` attribute, else from matching the array lengths (which must differ).
//!
//! Without a `distance` array the second axis is channel numbers ([`Axis::Channel`]).
//! Time: the first and last time stamps evenly spaced (DASCore's `snap`).

use hdf5::File;

use super::h5::{attr_text, exists, nums, secs_to_ns};
use super::{dtype_name, Axis, DasInfo, DataUnits, Quantity, Storage};

const DATA: &[&str] = &["raw", "data"];
const TIME: &[&str] = &["timestamp", "time", "timestamps"];
const FORMAT_ATTRS: &[&str] = &["__format__", "file_format", "format"];

fn first_present(f: &File, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| exists(f, n) && f.dataset(n).is_ok())
        .map(|n| n.to_string())
}

pub fn probe(f: &File) -> Option<String> {
    first_present(f, DATA)?;
    first_present(f, TIME)?;
    let named = FORMAT_ATTRS.iter().find_map(|a| attr_text(f, a));
    match named {
        None => Some("1".into()),
        Some(n) if n.eq_ignore_ascii_case("h5simple") => Some("1".into()),
        Some(_) => None,
    }
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let data = first_present(f, DATA).ok_or("H5Simple: no raw or data array")?;
    let ds = f.dataset(&data).map_err(|e| format!("H5Simple: {e}"))?;
    let shape = super::shape_2d(&ds, &format!("H5Simple: {data}"))?;
    let time_name = first_present(f, TIME).ok_or("H5Simple: no time array")?;
    let times = f
        .dataset(&time_name)
        .ok()
        .and_then(|d| nums(&d))
        .ok_or("H5Simple: unreadable time array")?;
    let positions = ["distance", "channels"].iter().find_map(|n| {
        let d = f.dataset(n).ok()?;
        Some((*n, nums(&d)?))
    });
    let dims_attr = attr_text(f, "dims");
    let time_major = match dims_attr
        .as_deref()
        .map(|d| d.split(',').next().unwrap_or("").trim().to_string())
    {
        Some(d) if d == "time" => true,
        Some(d) if !d.is_empty() => false,
        _ => {
            if shape[0] == shape[1] {
                return Err(format!(
                    "H5Simple: {data} is {}×{} and there is no dims attribute: cannot tell time from channels",
                    shape[0], shape[1]
                ));
            }
            if times.len() == shape[0] {
                true
            } else if times.len() == shape[1] {
                false
            } else {
                return Err(format!(
                    "H5Simple: {} times fit neither axis of {data} ({}×{})",
                    times.len(),
                    shape[0],
                    shape[1]
                ));
            }
        }
    };
    let (n_time, n_distance) = super::time_and_channels(shape, time_major);
    if times.len() != n_time {
        return Err(format!("H5Simple: {} times for {n_time} rows", times.len()));
    }
    let to_ns = |t: f64| secs_to_ns(t).ok_or_else(|| format!("H5Simple: time {t} is not finite"));
    let start = to_ns(times[0])?;
    let last = to_ns(times[n_time - 1])?;
    if n_time < 2 || last <= start {
        return Err("H5Simple: needs two increasing time stamps to give a rate".into());
    }
    // DASCore's snap: an integer-nanosecond step (numpy timedelta division truncates).
    let step_ns = (last - start) / (n_time as i64 - 1);
    let (axis, distance) = match positions {
        Some(("distance", d)) if d.len() == n_distance => (Axis::Distance, d),
        Some((_, c)) if c.len() == n_distance => (Axis::Channel, c),
        _ => (Axis::Channel, (0..n_distance).map(|i| i as f64).collect()),
    };
    let info = DasInfo {
        format: "H5Simple",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz: 1e9 / step_ns as f64,
        distance,
        units: DataUnits::unconverted(Quantity::Unknown, "counts"),
        gauge_length_m: None,
        interrogator: None,
        pulse_rate_hz: None,
        axis,
        warnings: Vec::new(),
    };
    Ok((info, Storage::Plain { ds, time_major }))
}
