//! ASN OptoDAS files (file versions 8 to 11): datasets rather than attributes — `data`, and
//! under `header/` the dimension names and units, `dimensionRanges/dimension<i>/` (min, max,
//! unitScale), `time` (float seconds of sample `min`), `channels` (channel numbers; the
//! position is number × the distance unitScale), `dataScale`, `unit`, `gaugeLength`,
//! `sensitivities` (phase to strain) and `instrument`.

use hdf5::File;

use super::h5::{ds_num, ds_text, exists, nums, secs_to_ns, texts};
use super::{dtype_name, DasInfo, DataUnits, Quantity, Storage};

pub fn probe(f: &File) -> Option<String> {
    let needed = ["acqSpec", "header", "cableSpec", "data", "fileVersion"];
    if !needed.iter().all(|n| exists(f, n)) {
        return None;
    }
    ds_num(f, "fileVersion").map(|v| format!("{}", v as i64))
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let h = f.group("header").map_err(|e| e.to_string())?;
    let ds = f.dataset("data").map_err(|e| e.to_string())?;
    let shape = super::shape_2d(&ds, "OptoDAS: data")?;
    let names = h
        .dataset("dimensionNames")
        .ok()
        .and_then(|d| texts(&d))
        .unwrap_or_else(|| vec!["time".into(), "distance".into()]);
    let time_dim = names
        .iter()
        .position(|n| n == "time")
        .ok_or("OptoDAS: no `time` in header/dimensionNames")?;
    let dist_dim = 1 - time_dim.min(1);
    let time_major = time_dim == 0;
    let range = |i: usize, key: &str| ds_num(&h, &format!("dimensionRanges/dimension{i}/{key}"));
    let dt = range(time_dim, "unitScale")
        .or_else(|| ds_num(&h, "dt"))
        .ok_or("OptoDAS: no time unitScale or header/dt")?;
    let dx = range(dist_dim, "unitScale")
        .or_else(|| ds_num(&h, "dx"))
        .ok_or("OptoDAS: no distance unitScale or header/dx")?;
    let t_sec = ds_num(&h, "time").ok_or("OptoDAS: no header/time")?;
    let t_min = range(time_dim, "min").unwrap_or(0.0);
    let rate_hz = 1.0 / dt;
    let start = secs_to_ns(t_sec).ok_or("OptoDAS: header/time is not finite")?
        + (t_min * 1e9 / rate_hz).round() as i64;
    let (n_time, n_distance) = (shape[time_dim], shape[dist_dim]);
    let channels = h
        .dataset("channels")
        .ok()
        .and_then(|c| nums(&c))
        .ok_or("OptoDAS: no header/channels")?;
    let mut warnings = Vec::new();
    if channels.len() != n_distance {
        return Err(format!(
            "OptoDAS: header/channels lists {} channels, data has {n_distance}",
            channels.len()
        ));
    }
    if let Some(dt_hdr) = ds_num(&h, "dt").filter(|v| (v - dt).abs() > 1e-9 * dt) {
        warnings.push(format!(
            "header/dt is {dt_hdr} s but the time unitScale is {dt} s"
        ));
    }
    if let Some(missing) = h
        .dataset("missingSamples")
        .ok()
        .map(|m| m.size())
        .filter(|n| *n > 0)
    {
        warnings.push(format!("the file lists {missing} missing samples"));
    }
    let unit = ds_text(&h, "unit").unwrap_or_default();
    let scale_ds = ds_num(&h, "dataScale").filter(|s| *s != 0.0);
    let sensitivity = h
        .dataset("sensitivities")
        .ok()
        .and_then(|s| nums(&s))
        .and_then(|v| v.first().copied())
        .filter(|s| *s != 0.0 && *s != 1.0);
    let quantity = match (Quantity::guess(&unit), sensitivity) {
        (Quantity::Unknown, _) if ds_num(&h, "dataType") == Some(1.0) => Quantity::Raw,
        (q, _) => q,
    };
    // dataScale (applied on read) makes the values `unit`; a sensitivity (phase per unit of
    // strain) is the factor from phase to strain.
    let factor = sensitivity.map(|se| 1.0 / se);
    let physical = match sensitivity {
        Some(_) => ds_text(&h, "sensitivityUnits")
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "strain".into()),
        None => unit.clone(),
    };
    let mut info = DasInfo {
        format: "OptoDAS",
        version: version.to_string(),
        n_time,
        n_distance,
        // DASCore applies dataScale whenever the file has one, so the values (and their
        // type) are the scaled ones, as there.
        dtype: if scale_ds.is_some() {
            super::scaled_dtype(&dtype_name(&ds))
        } else {
            dtype_name(&ds)
        },
        storage_scale: scale_ds,
        start,
        rate_hz,
        distance: channels.iter().map(|c| c * dx).collect(),
        units: DataUnits {
            quantity,
            stored: if unit.is_empty() {
                "counts".into()
            } else {
                unit
            },
            factor,
            physical,
        },
        gauge_length_m: ds_num(&h, "gaugeLength"),
        interrogator: ds_text(&h, "instrument"),
        pulse_rate_hz: None,
        axis: super::Axis::Distance,
        warnings,
    };
    if let Some(max) = range(time_dim, "max") {
        let implied = max - t_min + 1.0;
        if (implied - n_time as f64).abs() >= 1.0 {
            info.warnings.push(format!(
                "time dimension range says {implied} samples, data has {n_time}"
            ));
        }
    }
    Ok((info, Storage::Plain { ds, time_major }))
}
