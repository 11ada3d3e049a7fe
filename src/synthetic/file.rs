//! Writing synthetic multi-channel miniSEED files (`seisreduce synth`), used by the benchmarks
//! and by anyone who needs realistic data without a network connection.

use super::signal::{channel, NoiseModel};
use crate::formats::mseed::{
    encode, EncodeError, EncodeOptions, Encoding, MseedError, RecordReader, Samples,
};
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

/// The records of `bytes` (miniSEED 2 or 3, any record length) in time order, ties in file
/// order: a file written channel after channel turned into a network as it arrives in real
/// time, every channel's records interleaved (what a SeedLink feed of the whole network
/// delivers). A corrupt record is an error naming its offset.
pub fn in_time_order(bytes: &[u8]) -> Result<Vec<u8>, MseedError> {
    let mut records = RecordReader::new(bytes).collect::<Result<Vec<_>, _>>()?;
    records.sort_by_key(|r| r.header.start);
    Ok(records
        .iter()
        .flat_map(|r| r.bytes.iter().copied())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three channels' records interleaved by start time, every record kept whole, the
    /// channels in file order where their records start together.
    #[test]
    fn records_come_out_in_time_order() {
        let spec = SynthSpec {
            channels: 3,
            seconds: 120.0,
            ..SynthSpec::default()
        };
        let (bytes, _) = synth_file(&spec).unwrap();
        let sorted = in_time_order(&bytes).unwrap();
        let read = |b: &[u8]| -> Vec<(i64, String, Vec<u8>)> {
            RecordReader::new(b)
                .map(|r| r.unwrap())
                .map(|r| (r.header.start, r.header.sid.to_string(), r.bytes.to_vec()))
                .collect()
        };
        let (before, after) = (read(&bytes), read(&sorted));
        assert_eq!(before.len(), after.len());
        assert!(after.windows(2).all(|w| w[0].0 <= w[1].0));
        // the first records of the three channels start together: file order kept
        let mut channels: Vec<&str> = before.iter().map(|r| r.1.as_str()).collect();
        channels.dedup();
        let first: Vec<&str> = after[..3].iter().map(|r| r.1.as_str()).collect();
        assert_eq!(first, channels);
        let (mut a, mut b) = (before, after);
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}
