//! Channel health for DAS and large-N arrays (the `channel_health` stage): one value per
//! channel per window, as a (channel, time) stream at one sample per window, so that the
//! `zarr` sink stores it beside the data (`xarray` opens each metric as an array) and a
//! dashboard reads ten thousand channels from one store, never from one Prometheus series per
//! channel.
//!
//! One metric per stage, on RSAM's epoch-aligned windows ([`crate::ops::rsam`]):
//! - `rms`: demeaned RMS;
//! - `mean_square`: the energy of a band, with a band-pass `filter` stage before it (one stage
//!   pair per band: 1-10 Hz, 10-100 Hz, ...);
//! - `dead`: 1 where the demeaned RMS is at most `dead_rms` (default 0: a channel that records
//!   a constant), else 0;
//! - `saturated`: 1 where at least `saturated_fraction` of the window's samples reach
//!   `clip_level` in absolute value (the interrogator's or digitiser's full scale), else 0.
//!
//! Windows with less than `min_coverage` of their samples are NaN, as RSAM's.

use serde::Deserialize;

use super::rsam::{default_coverage, window_state, Rsam, Statistic};
use super::{ConfigError, Operator};
use crate::pipeline::component::{OperatorStage, Role, StageType};
use crate::pipeline::memory::{Flow, Need};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// `rms`, `mean_square`, `dead` or `saturated`.
    pub metric: String,
    /// Window length, whole seconds (1 s to a day), windows on multiples of it since the epoch.
    #[serde(default = "minute")]
    pub window_s: u64,
    /// The share of a window's samples needed for a value; below it the value is NaN.
    #[serde(default = "default_coverage")]
    pub min_coverage: f64,
    /// `dead`: the demeaned RMS at or below which a channel is dead.
    #[serde(default)]
    pub dead_rms: f64,
    /// `saturated`: the full-scale value (absolute) a clipped sample reaches.
    #[serde(default)]
    pub clip_level: Option<f64>,
    /// `saturated`: the share of clipped samples that flags a window.
    #[serde(default = "thousandth")]
    pub saturated_fraction: f64,
}

fn minute() -> u64 {
    60
}
fn thousandth() -> f64 {
    0.001
}

impl StageType for HealthConfig {
    const NAME: &'static str = "channel_health";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "DAS/array channel health per channel per window: RMS, band energy (after a filter), dead or saturated flags";
}

impl HealthConfig {
    fn statistic(&self) -> Result<Statistic, ConfigError> {
        Ok(match self.metric.as_str() {
            "rms" => Statistic::Rms,
            "mean_square" => Statistic::MeanSquare,
            "dead" => {
                if !(self.dead_rms >= 0.0 && self.dead_rms.is_finite()) {
                    return Err(ConfigError::invalid(
                        "dead_rms",
                        format!("{}: a finite RMS, 0 or more", self.dead_rms),
                    ));
                }
                Statistic::Dead {
                    max_rms: self.dead_rms,
                }
            }
            "saturated" => {
                let Some(level) = self.clip_level.filter(|l| *l > 0.0 && l.is_finite()) else {
                    return Err(ConfigError::invalid(
                        "clip_level",
                        "`saturated` needs the full-scale value (clip_level > 0) the clipped samples reach",
                    ));
                };
                if !(self.saturated_fraction > 0.0 && self.saturated_fraction <= 1.0) {
                    return Err(ConfigError::invalid(
                        "saturated_fraction",
                        format!("{}: a share above 0, at most 1", self.saturated_fraction),
                    ));
                }
                Statistic::Saturated {
                    level,
                    fraction: self.saturated_fraction,
                }
            }
            other => {
                return Err(ConfigError::invalid(
                    "metric",
                    format!("`{other}`: one of rms, mean_square, dead, saturated"),
                ))
            }
        })
    }
}

impl OperatorStage for HealthConfig {
    fn operator(&self, _: &str) -> Result<Box<dyn Operator>, ConfigError> {
        let s = self.statistic()?;
        Ok(Box::new(
            Rsam::new(self.window_s, self.min_coverage)?.with_statistic(s),
        ))
    }

    fn state(&self, input: &Flow) -> Need {
        window_state(self.window_s, input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelMeta, Chunk, SampleRate, SourceId};
    use crate::ops::Output;
    use ndarray::Array2;

    fn cfg(metric: &str) -> HealthConfig {
        toml::from_str(&format!("metric = \"{metric}\"\nclip_level = 100.0")).unwrap()
    }

    /// Three channels for a minute at 10 Hz: noise, dead (constant), clipped at ±100.
    fn block() -> Chunk {
        let mut r = crate::synthetic::signal::Rng::new(4);
        let data = Array2::from_shape_fn((3, 600), |(c, _)| {
            let v = r.normal() as f32 * 30.0;
            match c {
                0 => v,
                1 => 7.0,
                _ => (v * 10.0).clamp(-100.0, 100.0),
            }
        });
        Chunk {
            stream: "XX.DAS".into(),
            start: 1_735_689_600_000_000_000,
            rate: SampleRate(10.0),
            channels: (0..3)
                .map(|c| ChannelMeta {
                    source_id: SourceId::from_codes("XX", &format!("{c:05}"), "", "HSF"),
                    distance_m: Some(c as f64 * 2.0),
                })
                .collect(),
            data,
            das: None,
            units: None,
        }
    }

    fn value(metric: &str) -> Vec<f32> {
        let mut op = cfg(metric).operator("h").unwrap();
        let mut out = Output::default();
        op.process(block(), &mut out);
        op.flush(&mut out);
        assert_eq!(out.chunks.len(), 1);
        out.chunks[0].data.column(0).to_vec()
    }

    #[test]
    fn dead_and_saturated_channels_are_flagged() {
        assert_eq!(value("dead"), vec![0.0, 1.0, 0.0]);
        assert_eq!(value("saturated"), vec![0.0, 0.0, 1.0]);
        let rms = value("rms");
        assert!((rms[0] - 30.0).abs() < 3.0, "{rms:?}");
        assert_eq!(rms[1], 0.0);
        let b = block();
        let x: Vec<f32> = b.data.row(0).to_vec();
        let ms = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / 600.0;
        assert_eq!(value("mean_square")[0], ms as f32);
    }

    #[test]
    fn keys_are_checked() {
        assert!(cfg("loudness").operator("h").is_err());
        let no_clip: HealthConfig = toml::from_str("metric = \"saturated\"").unwrap();
        assert!(no_clip.operator("h").is_err());
    }
}
