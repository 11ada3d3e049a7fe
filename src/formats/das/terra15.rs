//! Terra15 Treble files, versions 4 to 6: root attributes (`file_version`, `dx`,
//! `sensing_range_start`, `nx`, `serial_number`, `data_product`, `data_product_units`,
//! `gauge_length`, `pulse_rate`); the samples in `<data_product>/` (v4) or `data_product/`
//! (v5, v6) as `data` (time, distance) with per-sample `gps_time` (preferred) and
//! `posix_time` (float seconds).
//!
//! Frames are allocated before they are written (`nframes_allocated`): rows whose time is
//! still 0 are not data, so a file being written, or cut short, is read up to its last
//! written row. The per-sample GPS times jitter by microseconds, so the axis is
//! `first + i·(last − first)/(n − 1)`; the stored `dT` is checked against it.

use hdf5::{Dataset, File, Group};

use super::h5::{attr_num, attr_text, has_attrs, secs_to_ns};
use super::{dtype_name, positions, DasInfo, DataUnits, Quantity, Storage};

pub fn probe(f: &File) -> Option<String> {
    let needed = [
        "acoustic_bandwidth_end",
        "amplifier_incoming_current",
        "file_start_computer_time",
        "file_version",
    ];
    if !has_attrs(f, &needed) {
        return None;
    }
    attr_num(f, "file_version").map(|v| format!("{}", v as i64))
}

fn data_group(f: &File, version: &str) -> Result<Group, String> {
    match version {
        "4" => {
            let product = attr_text(f, "data_product").ok_or("TERRA15: no data_product")?;
            f.group(&product)
                .map_err(|e| format!("TERRA15 v4: group {product}: {e}"))
        }
        "5" | "6" => f.group("data_product").map_err(|e| format!("TERRA15: {e}")),
        v => Err(format!("TERRA15: file version {v} is not one of 4, 5, 6")),
    }
}

/// Time of row `i` (float seconds), 0 or NaN when the row is not written yet.
fn row_time(t: &Dataset, i: usize) -> Option<f64> {
    t.read_slice_1d::<f64, _>(ndarray::s![i..i + 1])
        .ok()
        .and_then(|a| a.first().copied())
}

/// Number of written rows: the last row with a positive time, found by bisection (written
/// rows are a prefix), so a file with unwritten frames is not read whole.
fn written_rows(t: &Dataset, allocated: usize) -> usize {
    let ok = |i: usize| row_time(t, i).is_some_and(|v| v > 0.0);
    if allocated == 0 || !ok(0) {
        return 0;
    }
    if ok(allocated - 1) {
        return allocated;
    }
    let (mut lo, mut hi) = (0, allocated - 1); // ok(lo), !ok(hi)
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if ok(mid) {
            lo = mid
        } else {
            hi = mid
        }
    }
    hi
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let g = data_group(f, version)?;
    let ds = g.dataset("data").map_err(|e| format!("TERRA15: {e}"))?;
    let shape = super::shape_2d(&ds, "TERRA15: data")?;
    let time = g
        .dataset("gps_time")
        .or_else(|_| g.dataset("posix_time"))
        .map_err(|_| "TERRA15: neither gps_time nor posix_time")?;
    let n_time = written_rows(
        &time,
        shape[0].min(time.shape().first().copied().unwrap_or(0)),
    );
    let n_distance = shape[1];
    let mut warnings = Vec::new();
    if n_time < shape[0] {
        warnings.push(format!(
            "{} of {} rows not written yet",
            shape[0] - n_time,
            shape[0]
        ));
    }
    let first = row_time(&time, 0).ok_or("TERRA15: no samples written")?;
    let start = secs_to_ns(first).ok_or("TERRA15: bad first time")?;
    let dt_attr = attr_num(&ds, "dT").or_else(|| attr_num(f, "dt_computer"));
    let rate_hz = if n_time > 1 {
        let last = secs_to_ns(row_time(&time, n_time - 1).unwrap_or(f64::NAN))
            .ok_or("TERRA15: bad last time")?;
        (n_time - 1) as f64 * 1e9 / (last - start) as f64
    } else {
        1.0 / dt_attr.ok_or("TERRA15: one sample and no dT")?
    };
    if let Some(dt) = dt_attr {
        let ours = 1.0 / rate_hz;
        if (dt - ours).abs() > 1e-4 * ours {
            warnings.push(format!(
                "stored dT is {dt} s but the GPS times are {ours:.9} s apart on average"
            ));
        }
    }
    let dx = attr_num(f, "dx").ok_or("TERRA15: no dx")?;
    let x0 = attr_num(f, "sensing_range_start").ok_or("TERRA15: no sensing_range_start")?;
    if let Some(nx) = attr_num(f, "nx").filter(|nx| *nx as usize != n_distance) {
        warnings.push(format!("nx is {nx} but data has {n_distance} channels"));
    }
    let product = attr_text(f, "data_product").unwrap_or_default();
    let units = attr_text(f, "data_product_units").unwrap_or_default();
    let quantity = Quantity::guess_first(&[&product, &units]);
    let info = DasInfo {
        format: "TERRA15",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz,
        distance: positions(x0, dx, n_distance),
        units: DataUnits::unconverted(quantity, units),
        gauge_length_m: attr_num(f, "gauge_length"),
        interrogator: attr_text(f, "serial_number"),
        pulse_rate_hz: attr_num(f, "pulse_rate"),
        axis: super::Axis::Distance,
        warnings,
    };
    super::time_major(info, ds)
}
