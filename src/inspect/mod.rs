//! `seisreduce inspect`: what is in a set of miniSEED files, as a table for people (like ObsPy's
//! `print(stream)`) or as JSON for programs and tests.
//!
//! The JSON follows the conventions of the shared reference data (`TRUTH.json`): per file either
//! `error` or `traces` (plus `gaps` and any `errors` met along the way), and with `--records` one
//! entry per record with the keys libmseed's `pymseed` uses.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::formats::mseed::{read_buffer, Assembly, GapKind, RecordReader};
use crate::model::Iso;

pub mod das;

/// `seisreduce inspect --formats`: every layout read, recognised from content.
pub fn formats() -> String {
    let mut s = String::from("miniSEED  2.4 and 3 (Steim-1/2, integers, floats, text), files and SDS archives\nDAS (recognised from content, never from the name):\n");
    for (name, versions) in crate::formats::das::FORMATS {
        let _ = writeln!(s, "  {name:<11} {versions}");
    }
    s
}

/// The outcome of reading one file.
pub enum FileOutcome {
    /// The file could not be read at all, or held no record: the message names file and offset.
    Error(String),
    Read(Assembly),
}

/// `f` over every file on all cores, handed back in the files' order a batch at a time, so
/// that a folder of many files prints as it goes and holds only a batch of results: each
/// thread decodes one file at a time, and decoding, not reading, is what takes the time.
pub fn per_file<'a, T: Send>(
    files: &'a [PathBuf],
    f: impl Fn(&Path) -> T + Sync + 'a,
) -> impl Iterator<Item = Vec<(&'a PathBuf, T)>> + 'a {
    use rayon::prelude::*;
    let batch = 4 * rayon::current_num_threads();
    files
        .chunks(batch)
        .map(move |b| b.par_iter().map(|p| (p, f(p))).collect())
}

pub fn read_file(path: &Path) -> FileOutcome {
    match std::fs::read(path) {
        Err(e) => FileOutcome::Error(format!("{}: cannot read: {e}", path.display())),
        Ok(bytes) => {
            let asm = read_buffer(&bytes);
            if asm.segments.is_empty() && !asm.errors.is_empty() {
                let msgs: Vec<String> = asm
                    .errors
                    .iter()
                    .map(|e| format!("{}: {e}", path.display()))
                    .collect();
                FileOutcome::Error(msgs.join("; "))
            } else {
                FileOutcome::Read(asm)
            }
        }
    }
}

/// The JSON object for one file's traces.
pub fn traces_json(path: &Path, outcome: &FileOutcome) -> Value {
    let asm = match outcome {
        FileOutcome::Error(msg) => return json!({ "error": msg }),
        FileOutcome::Read(a) => a,
    };
    let traces: Vec<Value> = asm
        .segments
        .iter()
        .map(|s| {
            json!({
                "id": s.sid.seed_text(),
                "source_id": s.sid.as_str(),
                "start": Iso(s.start).to_string(),
                "end": Iso(s.end()).to_string(),
                "sampling_rate": s.rate.hz(),
                "npts": s.npts(),
                "encoding": s.encoding.name(),
                "record_length": s.record_length,
                "format_version": s.format_version,
                "sha256_samples": s.samples.sha256_hex(),
            })
        })
        .collect();
    let gaps: Vec<Value> = asm
        .gaps
        .iter()
        .map(|g| {
            json!({
                "id": g.sid.seed_text(),
                "kind": if g.kind == GapKind::Gap { "gap" } else { "overlap" },
                "start": Iso(g.start).to_string(),
                "end": Iso(g.end).to_string(),
                "duration_s": g.duration_ns as f64 / 1e9,
                "samples": g.samples,
            })
        })
        .collect();
    let mut obj = Map::new();
    obj.insert("traces".into(), Value::Array(traces));
    obj.insert("gaps".into(), Value::Array(gaps));
    if !asm.errors.is_empty() {
        let errs = asm
            .errors
            .iter()
            .map(|e| json!(format!("{}: {e}", path.display())));
        obj.insert("errors".into(), Value::Array(errs.collect()));
    }
    if !asm.header_warnings.is_empty() {
        let warns = asm
            .header_warnings
            .iter()
            .map(|(at, w)| json!(format!("{}: byte {at}: {w}", path.display())));
        obj.insert("warnings".into(), Value::Array(warns.collect()));
    }
    Value::Object(obj)
}

/// One record as `--records` lists it.
pub struct RecordRow {
    pub offset: u64,
    pub header: crate::formats::mseed::RecordHeader,
    /// SHA-256 of the samples, or why they could not be decoded.
    pub samples: Result<String, String>,
}

/// Every record of a file, and the errors met between them (messages name file and offset).
pub fn record_rows(path: &Path) -> Result<(Vec<RecordRow>, Vec<String>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for item in RecordReader::new(&bytes) {
        match item {
            Err(e) => errors.push(format!("{}: {e}", path.display())),
            Ok(rec) => rows.push(RecordRow {
                offset: rec.offset,
                samples: rec
                    .decode()
                    .map(|s| s.sha256_hex())
                    .map_err(|kind| format!("{}: byte {}: {kind}", path.display(), rec.offset)),
                header: rec.header,
            }),
        }
    }
    if rows.is_empty() && !errors.is_empty() {
        return Err(errors.join("; "));
    }
    Ok((rows, errors))
}

/// The JSON object for one file's records (keys as libmseed's `pymseed` names them).
pub fn records_json(path: &Path) -> Value {
    let (rows, errors) = match record_rows(path) {
        Ok(x) => x,
        Err(msg) => return json!({ "error": msg }),
    };
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            let h = &r.header;
            let mut o = Map::new();
            o.insert("offset".into(), json!(r.offset));
            o.insert("sourceid".into(), json!(h.sid.as_str()));
            o.insert("formatversion".into(), json!(h.format_version));
            o.insert("pubversion".into(), json!(h.pub_version));
            o.insert("start".into(), json!(Iso(h.start).to_string()));
            o.insert("start_ns".into(), json!(h.start));
            o.insert("samprate".into(), json!(h.rate.hz()));
            o.insert("numsamples".into(), json!(h.sample_count));
            o.insert("encoding".into(), json!(h.encoding.name()));
            o.insert("reclen".into(), json!(h.record_length));
            o.insert(
                "extra".into(),
                h.extra.as_ref().map_or(Value::Null, |x| json!(x)),
            );
            match &r.samples {
                Ok(sha) => o.insert("sha256_samples".into(), json!(sha)),
                Err(msg) => {
                    o.insert("sha256_samples".into(), Value::Null);
                    o.insert("error".into(), json!(msg))
                }
            };
            Value::Object(o)
        })
        .collect();
    let mut obj = Map::new();
    obj.insert("records".into(), Value::Array(records));
    if !errors.is_empty() {
        obj.insert("errors".into(), json!(errors));
    }
    Value::Object(obj)
}

/// One line per record: offset, source id, start, rate, samples, encoding, length.
pub fn records_table(path: &Path) -> Result<String, String> {
    let (rows, errors) = record_rows(path)?;
    let mut s = String::new();
    let _ = writeln!(s, "{}: {} record(s)", path.display(), rows.len());
    for r in &rows {
        let h = &r.header;
        let _ = writeln!(
            s,
            "{:>10}  {}  v{}  {}  {} Hz  {:>6} samples  {:<8} {:>6} bytes{}",
            r.offset,
            h.sid,
            h.format_version,
            Iso(h.start),
            h.rate.hz(),
            h.sample_count,
            h.encoding.name(),
            h.record_length,
            r.samples
                .as_ref()
                .err()
                .map_or(String::new(), |e| format!("  ERROR {e}")),
        );
    }
    for e in errors {
        let _ = writeln!(s, "  error: {e}");
    }
    Ok(s)
}

/// A human-readable summary of one file, in the spirit of ObsPy's `print(stream)`.
pub fn table(path: &Path, outcome: &FileOutcome) -> String {
    let mut s = String::new();
    let asm = match outcome {
        FileOutcome::Error(msg) => {
            let _ = writeln!(s, "{}: ERROR {msg}", path.display());
            return s;
        }
        FileOutcome::Read(a) => a,
    };
    let _ = writeln!(
        s,
        "{}: {} trace(s) from {} record(s)",
        path.display(),
        asm.segments.len(),
        asm.records
    );
    let width = asm
        .segments
        .iter()
        .map(|t| t.sid.seed_text().len())
        .max()
        .unwrap_or(0);
    for t in &asm.segments {
        let _ = writeln!(
            s,
            "{:<width$} | {} - {} | {} Hz, {} samples | {}",
            t.sid.seed_text(),
            Iso(t.start),
            Iso(t.end()),
            t.rate.hz(),
            t.npts(),
            t.encoding,
        );
    }
    if !asm.gaps.is_empty() {
        let _ = writeln!(s, "Gaps and overlaps:");
        for g in &asm.gaps {
            let kind = if g.kind == GapKind::Gap {
                "gap    "
            } else {
                "overlap"
            };
            let _ = writeln!(
                s,
                "  {:<width$} {kind} {} -> {} {:>14.6} s {:>8} samples",
                g.sid.seed_text(),
                Iso(g.start),
                Iso(g.end),
                g.duration_ns as f64 / 1e9,
                g.samples,
            );
        }
    }
    for e in &asm.errors {
        let _ = writeln!(s, "  error: {}: {e}", path.display());
    }
    for (at, w) in &asm.header_warnings {
        let _ = writeln!(s, "  warning: {}: byte {at}: {w}", path.display());
    }
    if !asm.integrity_warnings.is_empty() {
        let _ = writeln!(
            s,
            "  warning: {} record(s) failed the Steim last-sample check (first at byte {})",
            asm.integrity_warnings.len(),
            asm.integrity_warnings[0]
        );
    }
    s
}
