//! Writing synthetic multi-channel miniSEED files (`seisreduce synth`), used by the benchmarks
//! and by anyone who needs realistic data without a network connection.

use super::signal::{channel, NoiseModel};
use crate::formats::mseed::{encode, EncodeError, EncodeOptions, Encoding, Samples};
use crate::model::{SampleRate, SeedId};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthSpec {
    pub network: String,
    pub station_prefix: String,
    pub channels: usize,
    pub seconds: f64,
    pub rate: f64,
    /// Start time, ns since the epoch.
    pub start: i64,
    pub encoding: Encoding,
    pub record_length: usize,
    pub format_version: u8,
    pub seed: u64,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            network: "XX".into(),
            station_prefix: "S".into(),
            channels: 24,
            seconds: 3600.0,
            rate: 100.0,
            start: 1_735_689_600_000_000_000, // 2025-01-01
            encoding: Encoding::Steim2,
            record_length: 512,
            format_version: 2,
            seed: 1,
        }
    }
}

/// The bytes of a file holding `spec.channels` channels, records of each channel in a block
/// (as an SDS day file or an FDSN web service answer would hold them), and the sample count.
pub fn synth_file(spec: &SynthSpec) -> Result<(Vec<u8>, usize), EncodeError> {
    let n = (spec.seconds * spec.rate).round() as usize;
    let mut out = Vec::new();
    let opts = EncodeOptions {
        format_version: spec.format_version,
        encoding: spec.encoding,
        record_length: spec.record_length,
        ..Default::default()
    };
    for c in 0..spec.channels {
        let station = format!("{}{:03}", spec.station_prefix, c / 3);
        let chan = ["HHZ", "HHN", "HHE"][c % 3];
        let sid = SeedId::new(&spec.network, &station, "00", chan).to_source_id();
        let data = channel(
            n,
            spec.rate,
            spec.seed.wrapping_add(c as u64),
            &NoiseModel::default(),
        );
        let samples = match spec.encoding {
            Encoding::Float32 => Samples::Float32(data.iter().map(|&x| x as f32).collect()),
            Encoding::Float64 => Samples::Float64(data.iter().map(|&x| x as f64).collect()),
            _ => Samples::Int(data),
        };
        for r in encode(&sid, spec.start, SampleRate(spec.rate), &samples, &opts)? {
            out.extend_from_slice(&r);
        }
    }
    Ok((out, n * spec.channels))
}
