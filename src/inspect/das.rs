//! `seisreduce inspect` on DAS files: what the reader makes of a vendor file — layout and
//! version, axes, units, metadata and a checksum of the samples — as a table or as JSON with
//! the keys of the shared DASCore reference (`test-data/das/TRUTH.json`), whose `dims` and
//! `shape` are in the file's (time, distance) convention.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::formats::das::{DasError, DasFile, DasInfo};
use crate::model::Iso;

/// Rows read at a time for the checksum: bounded memory whatever the file size.
const WINDOW: usize = 4096;

/// Sum and sum of absolute values of every sample as stored, read window by window.
pub fn sums(f: &DasFile) -> Result<(f64, f64), DasError> {
    let (mut sum, mut abs) = (0.0f64, 0.0f64);
    let n = f.info.n_time;
    for t in (0..n).step_by(WINDOW) {
        let block = f.read(t..(t + WINDOW).min(n), 0..f.info.n_distance)?;
        for v in block.iter() {
            sum += *v as f64;
            abs += v.abs() as f64;
        }
    }
    Ok((sum, abs))
}

fn iso_ns(t: i64) -> String {
    // TRUTH.json writes numpy datetime64[ns] text: nanoseconds always, no zone letter.
    let s = Iso(t).to_string();
    let s = s.trim_end_matches('Z');
    match s.split_once('.') {
        Some((a, b)) => format!("{a}.{b:0<9}"),
        None => format!("{s}.000000000"),
    }
}

fn axes(i: &DasInfo) -> Value {
    let dmin = i.distance.iter().copied().fold(f64::INFINITY, f64::min);
    let dmax = i.distance.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    json!({
        "dims": ["time", i.axis.name()],
        "shape": [i.n_time, i.n_distance],
        "dtype": i.dtype,
        "time_min": iso_ns(i.start),
        "time_max": iso_ns(i.time_max()),
        "time_step_ns": i.step_ns(),
        "sampling_rate_hz": i.rate_hz,
        "distance_min": if i.distance.is_empty() { Value::Null } else { json!(dmin) },
        "distance_max": if i.distance.is_empty() { Value::Null } else { json!(dmax) },
        "distance_step": i.distance_step(),
    })
}

/// The JSON of one file: `{format, dims, shape, dtype, time_*, distance_*, sum, ...}` or
/// `{error}`.
pub fn das_json(path: &Path) -> Value {
    let f = match DasFile::open(path) {
        Ok(f) => f,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let i = &f.info;
    let mut v = axes(i);
    let o = v.as_object_mut().expect("object");
    o.insert("format".into(), json!([i.format, i.version]));
    o.insert("arrays".into(), json!(f.arrays));
    match sums(&f) {
        Ok((s, a)) => {
            o.insert("sum".into(), json!(s));
            o.insert("abs_sum".into(), json!(a));
        }
        Err(e) => {
            o.insert("error".into(), json!(e.to_string()));
        }
    }
    o.insert(
        "metadata".into(),
        serde_json::to_value(i.meta()).unwrap_or(Value::Null),
    );
    o.insert("warnings".into(), json!(i.warnings));
    v
}

/// The table of one file, for people.
pub fn das_table(path: &Path) -> Result<String, DasError> {
    let f = DasFile::open(path)?;
    let i = &f.info;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {} {}", path.display(), i.format, i.version);
    let _ = writeln!(
        s,
        "  time      {} samples, {} .. {}, step {} ns ({} Hz)",
        i.n_time,
        Iso(i.start),
        Iso(i.time_max()),
        i.step_ns(),
        i.rate_hz
    );
    if i.axis == crate::formats::das::Axis::Channel {
        let _ = writeln!(
            s,
            "  channel   {} channels (the file gives no positions)",
            i.n_distance
        );
    } else if let (Some(a), Some(b)) = (i.distance.first(), i.distance.last()) {
        let _ = writeln!(
            s,
            "  distance  {} channels, {a:.3} .. {b:.3} m, step {:.4} m",
            i.n_distance,
            i.distance_step()
        );
    }
    let u = &i.units;
    let factor = u
        .factor
        .map(|f| format!(" (× {f} → {})", u.physical))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "  data      {} in {}{factor}, quantity {}",
        i.dtype,
        u.stored,
        u.quantity.name()
    );
    if let Some(g) = i.gauge_length_m {
        let _ = writeln!(s, "  gauge     {g} m");
    }
    if let Some(n) = &i.interrogator {
        let _ = writeln!(s, "  interrogator {n}");
    }
    if f.arrays.len() > 1 {
        let _ = writeln!(
            s,
            "  arrays    {} (this is the first; the das source's `array` key picks one):",
            f.arrays.len()
        );
        for (k, a) in f.arrays.iter().enumerate() {
            let _ = writeln!(s, "    {k}: {a}");
        }
    }
    for w in &i.warnings {
        let _ = writeln!(s, "  warning   {w}");
    }
    Ok(s)
}
