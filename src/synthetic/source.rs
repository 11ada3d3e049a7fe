//! The `synthetic` source: N channels of realistic noise with occasional events, for demos,
//! load tests and benchmarks, as station streams (one block per channel) or as one array
//! block (channels × time, like a DAS interrogator).

use std::time::{Duration, Instant};

use ndarray::Array2;
use serde::Deserialize;

use super::signal::{Generator, NoiseModel};
use crate::bus::DataKind;
use crate::model::{sample_time, ChannelMeta, Chunk, SampleRate, SeedId};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need};
use crate::sources::{parse_time, sleep_until};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SynthLayout {
    /// One stream per channel (`XX.S000.00.HHZ`, ...), like a station network.
    #[default]
    Stations,
    /// One stream of all channels (`XX.ARRAY`), like a DAS fibre; channel `i` at `i × 10 m`.
    Array,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    #[serde(default = "three")]
    pub channels: usize,
    /// Samples per second.
    #[serde(default = "hundred")]
    pub rate: f64,
    /// Length of the data; none: until the pipeline is stopped.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Length of each emitted block, seconds.
    #[serde(default = "one")]
    pub chunk_s: f64,
    /// Time of the first sample (ISO); default: 2025-01-01, or now when `realtime`.
    #[serde(default)]
    pub start: Option<String>,
    /// Emit each block when its last sample is due, instead of as fast as possible.
    #[serde(default)]
    pub realtime: bool,
    #[serde(default = "four")]
    pub events_per_hour: f64,
    #[serde(default = "network")]
    pub network: String,
    #[serde(default)]
    pub layout: SynthLayout,
    #[serde(default = "one_u64")]
    pub seed: u64,
}

fn three() -> usize {
    3
}
fn hundred() -> f64 {
    100.0
}
fn one() -> f64 {
    1.0
}
fn four() -> f64 {
    4.0
}
fn one_u64() -> u64 {
    1
}
fn network() -> String {
    "XX".into()
}

impl StageType for SyntheticConfig {
    const NAME: &'static str = "synthetic";
    const ROLE: Role = Role::Source;
    const ABOUT: &'static str =
        "realistic noise with events, as station channels or one array block, for demos and load tests";
    const ACCEPTS: &'static [DataKind] = &[];
}

impl Component for SyntheticConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        let bad = |k: &str, m: &str| Err((Some(k.to_string()), m.to_string()));
        if self.channels == 0 || self.channels > 1_000_000 {
            return bad("channels", "must be 1 to 1,000,000");
        }
        if self.rate.is_nan() || self.rate <= 0.0 || self.rate > 1e6 {
            return bad("rate", "must be above 0 and at most 1e6 Hz");
        }
        if !self.chunk_s.is_finite() || (self.chunk_s * self.rate).round() < 1.0 {
            return bad("chunk_s", "must hold at least one sample");
        }
        if self.seconds.is_some_and(|s| !s.is_finite() || s <= 0.0) {
            return bad(
                "seconds",
                "must be positive (leave it out to run until stopped)",
            );
        }
        if self.network.is_empty() || self.network.len() > 2 {
            return bad("network", "must be a 1- or 2-character network code");
        }
        if let Some(s) = &self.start {
            if parse_time(s).is_none() {
                return bad(
                    "start",
                    "not a date (2025-01-01) or time (2025-01-01T00:00:00Z)",
                );
            }
        }
        Ok(())
    }

    fn memory(&self, _: &Flow) -> Need {
        let n = self.channels as u64;
        let (streams, channels) = match self.layout {
            SynthLayout::Stations => (n, 1),
            SynthLayout::Array => (1, n),
        };
        let out = Flow {
            message_bytes: 0,
            streams,
            channels,
            rate_hz: self.rate,
        }
        .with_blocks(self.rate, self.chunk_s);
        // The block of all channels being generated, and a generator per channel.
        let block = Flow { channels: n, ..out }.block_bytes(self.chunk_s);
        Need::new(
            block + n * 256,
            format!("one {} s block of {n} ch", self.chunk_s),
            out,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::source(self, ctx.stage, run))
    }
}

impl SyntheticConfig {
    fn start_ns(&self) -> i64 {
        match (&self.start, self.realtime) {
            (Some(s), _) => parse_time(s).unwrap_or(0),
            // Now, on a whole second.
            (None, true) => crate::model::now().div_euclid(1_000_000_000) * 1_000_000_000,
            (None, false) => 1_735_689_600_000_000_000,
        }
    }
}

pub fn run(cfg: &SyntheticConfig, stage: &str, out: &mut Emitter<'_>) -> Result<(), StageError> {
    let model = NoiseModel {
        events_per_hour: cfg.events_per_hour,
        ..Default::default()
    };
    let mut gens: Vec<Generator> = (0..cfg.channels)
        .map(|c| Generator::new(cfg.rate, cfg.seed.wrapping_add(c as u64), &model))
        .collect();
    let metas: Vec<ChannelMeta> = (0..cfg.channels)
        .map(|c| {
            let (sta, cha) = match cfg.layout {
                SynthLayout::Stations => (format!("S{:03}", c / 3), ["HHZ", "HHN", "HHE"][c % 3]),
                SynthLayout::Array => (format!("{:05}", c), "HSF"),
            };
            ChannelMeta {
                source_id: SeedId::new(&cfg.network, &sta, "00", cha).to_source_id(),
                distance_m: (cfg.layout == SynthLayout::Array).then_some(c as f64 * 10.0),
            }
        })
        .collect();
    let rate = SampleRate(cfg.rate);
    let per_chunk = (cfg.chunk_s * cfg.rate).round() as usize;
    let total = cfg.seconds.map(|s| (s * cfg.rate).round() as u64);
    let start = cfg.start_ns();
    let (wall0, mut done) = (Instant::now(), 0u64);
    while total.is_none_or(|t| done < t) && !out.stopping() {
        let n = total.map_or(per_chunk, |t| per_chunk.min((t - done) as usize));
        let t0 = sample_time(start, done as i64, cfg.rate);
        let mut data = Array2::<f32>::zeros((cfg.channels, n));
        for (mut row, g) in data.rows_mut().into_iter().zip(gens.iter_mut()) {
            row.iter_mut().for_each(|v| *v = g.next_sample() as f32);
        }
        done += n as u64;
        if cfg.realtime {
            let due = wall0 + Duration::from_secs_f64(done as f64 / cfg.rate);
            if !sleep_until(due, || out.stopping()) {
                break;
            }
        }
        match cfg.layout {
            SynthLayout::Array => out.emit_chunk(Chunk {
                stream: format!("{}.{stage}", cfg.network),
                start: t0,
                rate,
                channels: metas.clone(),
                data,
                das: None,
                units: None,
            })?,
            SynthLayout::Stations => {
                for (row, meta) in data.rows().into_iter().zip(&metas) {
                    out.emit_chunk(Chunk {
                        stream: meta.source_id.as_str().to_string(),
                        start: t0,
                        rate,
                        channels: vec![meta.clone()],
                        data: row.to_owned().insert_axis(ndarray::Axis(0)),
                        das: None,
                        units: None,
                    })?;
                }
            }
        }
    }
    Ok(())
}
