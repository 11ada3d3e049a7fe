//! Our encoder's output is stable: the deterministic synthetic signal encodes to exactly the
//! bytes in `test-data/written/`, and those bytes decode back to the signal. Set
//! `SEISREDUCE_BLESS=1` to rewrite the files after an intended change to the writer.

use std::path::PathBuf;

use seisreduce::formats::mseed::{encode, read_buffer, EncodeOptions, Encoding, Samples};
use seisreduce::model::{SampleRate, SourceId};
use seisreduce::synthetic::{channel, NoiseModel};

const START: i64 = 1_735_689_600_123_456_789;

fn cases() -> Vec<(&'static str, EncodeOptions)> {
    let v2 = |encoding, record_length| EncodeOptions {
        encoding,
        record_length,
        ..Default::default()
    };
    let v3 = |encoding| EncodeOptions {
        format_version: 3,
        encoding,
        record_length: 512,
        ..Default::default()
    };
    vec![
        ("steim1_v2_512.mseed", v2(Encoding::Steim1, 512)),
        ("steim2_v2_512.mseed", v2(Encoding::Steim2, 512)),
        ("int32_v2_4096.mseed", v2(Encoding::Int32, 4096)),
        ("steim2_v3.mseed3", v3(Encoding::Steim2)),
        ("float64_v3.mseed3", v3(Encoding::Float64)),
    ]
}

#[test]
fn writer_output_is_stable_and_decodes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-data/written");
    let bless = std::env::var_os("SEISREDUCE_BLESS").is_some();
    let sid = SourceId::parse("FDSN:XX_SR01_00_H_H_Z").unwrap();
    let ints = channel(1000, 100.0, 42, &NoiseModel::default());
    for (name, opts) in cases() {
        let samples = if opts.encoding == Encoding::Float64 {
            Samples::Float64(ints.iter().map(|&x| x as f64 * 0.5).collect())
        } else {
            Samples::Int(ints.clone())
        };
        let bytes = encode(&sid, START, SampleRate(100.0), &samples, &opts)
            .unwrap()
            .concat();
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(golden == bytes, "{name}: the writer's output changed");
        let asm = read_buffer(&golden);
        assert_eq!(asm.segments.len(), 1, "{name}");
        assert_eq!(asm.segments[0].samples, samples, "{name}");
        // v2 keeps the nearest microsecond; v3 the full nanoseconds.
        let want_start = if opts.format_version == 2 {
            (START + 500) / 1000 * 1000
        } else {
            START
        };
        assert_eq!(asm.segments[0].start, want_start, "{name}");
    }
}
