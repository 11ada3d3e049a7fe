//! The Geothermal Data Repository layout (GDR, DAS-RCN metadata v1.10 over PRODML v2.2
//! raw data): `DasMetadata` carries the standards (`MetadataStandard`, `RawDataStandard`)
//! whose pair names the GDR version, `DasMetadata/Interrogator/Acquisition` the acquisition
//! (as text attributes: `SpatialSamplingInterval`, `GaugeLength`, `UnitOfMeasure`, with
//! `NaN` for unknown), `DasRawData/RawData` the array with its `DasDimensions`, and
//! `DasRawData/DasTimeArray` the time of every row in integer nanoseconds.
//!
//! Time: the first and last `DasTimeArray` values, evenly spaced between them (DASCore's
//! `snap`); rows whose times depart from that grid by more than half a step are reported.
//! Distance: the file holds no channel positions, so the axis starts at 0 with the stated
//! spacing (DASCore does the same).

use hdf5::File;

use super::h5::{attr_num, attr_text, exists};
use super::{dtype_name, positions, DasInfo, DataUnits, Quantity, Storage};

const ACQ: &str = "DasMetadata/Interrogator/Acquisition";

/// (metadata standard, raw data standard) → GDR version.
const VERSIONS: &[(&str, &str, &str)] = &[("DAS-RCN v1.10", "PRODML v2.2", "1")];

pub fn probe(f: &File) -> Option<String> {
    if !(exists(f, ACQ) && exists(f, "DasRawData/DasTimeArray") && exists(f, "DasRawData/RawData"))
    {
        return None;
    }
    let meta = f.group("DasMetadata").ok()?;
    let m = attr_text(&meta, "MetadataStandard")?;
    let r = attr_text(&meta, "RawDataStandard")?;
    VERSIONS
        .iter()
        .find(|(a, b, _)| *a == m && *b == r)
        .map(|(_, _, v)| v.to_string())
        // A newer pairing of standards: read it as version 1 says, and say so.
        .or_else(|| Some(format!("1 ({m}, {r})")))
}

/// A text attribute that is not the `NaN` GDR writes for unknown values.
fn known(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty() && !t.trim().eq_ignore_ascii_case("nan"))
}

pub fn open(f: &File, version: &str, _array: usize) -> Result<(DasInfo, Storage), String> {
    let acq = f.group(ACQ).map_err(|e| format!("GDR: {e}"))?;
    let ds = f
        .dataset("DasRawData/RawData")
        .map_err(|e| format!("GDR: {e}"))?;
    let shape = super::shape_2d(&ds, "GDR: RawData")?;
    let dims = ds
        .attr("DasDimensions")
        .ok()
        .and_then(|a| super::h5::texts(&a))
        .ok_or("GDR: RawData has no DasDimensions")?;
    let time_major = match dims.first().map(|d| d.to_ascii_lowercase()) {
        Some(d) if d.starts_with("time") => true,
        Some(d) if d == "locus" => false,
        other => {
            return Err(format!(
                "GDR: unknown first dimension {other:?} in DasDimensions"
            ))
        }
    };
    let (n_time, n_distance) = super::time_and_channels(shape, time_major);
    let times = f
        .dataset("DasRawData/DasTimeArray")
        .map_err(|e| format!("GDR: {e}"))?;
    let times: Vec<i64> = times
        .read_raw::<i64>()
        .map_err(|e| format!("GDR: DasTimeArray: {e}"))?;
    if times.len() != n_time {
        return Err(format!(
            "GDR: DasTimeArray has {} times for {n_time} rows",
            times.len()
        ));
    }
    let (start, last) = match (times.first(), times.last()) {
        (Some(a), Some(b)) if n_time > 1 && b > a => (*a, *b),
        _ => return Err("GDR: DasTimeArray needs two increasing times to give a rate".into()),
    };
    let rate_hz = (n_time - 1) as f64 * 1e9 / (last - start) as f64;
    let step = (last - start) as f64 / (n_time - 1) as f64;
    let warnings: Vec<String> = super::off_grid(&times, start, step, "rows of DasTimeArray")
        .into_iter()
        .collect();
    let dx = attr_num(&acq, "SpatialSamplingInterval")
        .ok_or("GDR: no SpatialSamplingInterval in the acquisition")?;
    let unit = known(attr_text(&acq, "UnitOfMeasure"));
    let quantity = unit
        .as_deref()
        .map(Quantity::guess)
        .unwrap_or(Quantity::Unknown);
    let interrogator = f.group("DasMetadata/Interrogator").ok().and_then(|g| {
        known(attr_text(&g, "InterrogatorManufacturer")).map(|m| {
            match known(attr_text(&g, "InterrogatorModel")) {
                Some(model) => format!("{m} {model}"),
                None => m,
            }
        })
    });
    let info = DasInfo {
        format: "GDR_DAS",
        version: version.to_string(),
        n_time,
        n_distance,
        dtype: dtype_name(&ds),
        storage_scale: None,
        start,
        rate_hz,
        distance: positions(0.0, dx, n_distance),
        units: DataUnits::unconverted(quantity, unit.unwrap_or_else(|| "counts".into())),
        gauge_length_m: attr_num(&acq, "GaugeLength").filter(|g| g.is_finite()),
        interrogator,
        pulse_rate_hz: attr_num(&acq, "PulseRate").filter(|p| p.is_finite()),
        axis: super::Axis::Distance,
        warnings,
    };
    Ok((info, Storage::Plain { ds, time_major }))
}
