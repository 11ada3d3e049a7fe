//! What seisreduce writes is read identically by the reference readers: ObsPy (libmseed 2) and
//! pymseed (libmseed 3), run by `tests/python/check_interop.py` with the Python that
//! `scripts/setup-python.sh` prepares (`.venv/`), or `$SEISREDUCE_PYTHON`.

mod common;

use common::run_python;

use seisreduce::formats::mseed::{encode, ByteOrder, EncodeOptions, Encoding, Samples};
use seisreduce::model::{SampleRate, SeedId};
use seisreduce::synthetic::{channel, NoiseModel};
use serde_json::json;

fn samples(enc: Encoding, n: usize) -> Samples {
    let ints = channel(n, 100.0, enc.code() as u64, &NoiseModel::default());
    match enc {
        Encoding::Int16 => Samples::Int(ints.iter().map(|&x| x.clamp(-32768, 32767)).collect()),
        Encoding::Float32 => Samples::Float32(ints.iter().map(|&x| x as f32 / 8.0).collect()),
        Encoding::Float64 => Samples::Float64(ints.iter().map(|&x| x as f64 / 3.0).collect()),
        Encoding::Ascii => {
            Samples::Text((0..n).map(|i| b"seisreduce log line\n"[i % 20]).collect())
        }
        _ => Samples::Int(ints),
    }
}

fn kind(s: &Samples) -> &'static str {
    match s {
        Samples::Int(_) => "int",
        Samples::Text(_) => "text",
        _ => "float",
    }
}

/// Records in the legacy encodings we decode but do not write: INT16/INT32 records of ours with
/// blockette 1000's encoding byte changed, so that libmseed (through ObsPy and pymseed) decodes
/// the same words with its own formulas. Expected values are our decoder's.
fn legacy_files(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let sid = SeedId::new("XX", "OLD", "", "LHZ").to_source_id();
    // 16-bit words whose top nibble is at most 10, valid for every gain-ranged format.
    let words: Vec<i32> = (0..900).map(|i| i * 37 % 0x3000).collect();
    let mut out = Vec::new();
    for (code, base) in [
        (12u8, Encoding::Int32),
        (13, Encoding::Int16),
        (14, Encoding::Int16),
        (16, Encoding::Int16),
        (30, Encoding::Int16),
        (32, Encoding::Int16),
    ] {
        let opts = EncodeOptions {
            encoding: base,
            record_length: 4096,
            ..Default::default()
        };
        let mut records = encode(
            &sid,
            315_532_800_000_000_000,
            SampleRate(1.0),
            &Samples::Int(words.clone()),
            &opts,
        )
        .unwrap();
        for r in records.iter_mut() {
            assert_eq!(&r[48..50], &1000u16.to_be_bytes(), "blockette 1000 first");
            r[52] = code;
        }
        let bytes = records.concat();
        let asm = seisreduce::formats::mseed::read_buffer(&bytes);
        assert!(asm.errors.is_empty(), "{code}: {:?}", asm.errors);
        assert_eq!(asm.segments.len(), 1);
        let seg = &asm.segments[0];
        let name = format!("legacy_{}.mseed", seg.encoding);
        std::fs::write(dir.join(&name), &bytes).unwrap();
        out.push(json!({
            "file": name, "format_version": 2, "id": "XX.OLD..LHZ",
            "start_ns": seg.start, "rate": 1.0, "npts": seg.npts(),
            "encoding": seg.encoding.name(), "sha256": seg.samples.sha256_hex(), "kind": kind(&seg.samples),
        }));
    }
    out
}

#[test]
fn reference_readers_read_what_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Vec::new();
    let seed = SeedId::new("XX", "SR01", "00", "HHZ");
    let sid = seed.to_source_id();
    for enc in Encoding::WRITABLE {
        let data = samples(enc, 12_345);
        let mut variants: Vec<(u8, usize, ByteOrder)> = Vec::new();
        for exp in 8..=13 {
            variants.push((2, 1 << exp, ByteOrder::Big));
        }
        variants.push((2, 4096, ByteOrder::Little));
        variants.push((3, 512, ByteOrder::Little));
        variants.push((3, 4096, ByteOrder::Little));
        for (version, reclen, order) in variants {
            let opts = EncodeOptions {
                format_version: version,
                encoding: enc,
                record_length: reclen,
                byte_order: order,
                ..Default::default()
            };
            let start: i64 = if version == 2 {
                1_700_000_000_123_456_000
            } else {
                1_700_000_000_123_456_789
            };
            let rate = if enc == Encoding::Ascii { 0.0 } else { 100.0 };
            let records = encode(&sid, start, SampleRate(rate), &data, &opts).unwrap();
            let name = format!("{enc}_v{version}_{reclen}_{order:?}.mseed");
            std::fs::write(dir.path().join(&name), records.concat()).unwrap();
            if enc == Encoding::Ascii {
                // Text has no sample rate, so readers cannot join its records into one trace:
                // checked by round trip in Rust instead.
                continue;
            }
            manifest.push(json!({
                "file": name, "format_version": version, "id": seed.to_string(),
                "start_ns": start, "rate": rate, "npts": data.len(),
                "encoding": enc.name(), "sha256": data.sha256_hex(), "kind": kind(&data),
            }));
        }
    }
    manifest.extend(legacy_files(dir.path()));
    let manifest_path = dir.path().join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    // Fails with the script's output when the reference readers disagree with what we wrote.
    let text = run_python("check_interop.py", &[manifest_path.as_os_str()]);
    eprintln!("{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}
