//! `taper`: a cosine (Hann) ramp at both ends of each window, so that windows can be filtered or
//! transformed without the step at their edges ringing through the result.

use super::config::{default_max_gap, default_window, gap_policy, windowed_state, Gaps};
use super::stream::{GapPolicy, Streaming};
use super::window::{WindowFn, WindowedFactory};
use super::ConfigError;
use super::Operator;
use crate::pipeline::component::{OperatorStage, Role, StageType};
use crate::pipeline::memory::{Flow, Need};
use serde::Deserialize;
use std::f64::consts::PI;
use std::sync::Arc;

/// Ramps of `fraction` of the window length at each end (0.05 = 5%, ObsPy's default).
pub struct TaperFn {
    pub fraction: f64,
}

impl TaperFn {
    /// Weight of sample `i` of a ramp of `len` samples: rises from 0 to just below 1.
    fn weight(i: usize, len: usize) -> f64 {
        0.5 * (1.0 - (PI * i as f64 / len as f64).cos())
    }
}

impl WindowFn for TaperFn {
    fn apply(&self, x: &[f32], y: &mut [f32]) {
        let n = x.len();
        let ramp = ((self.fraction * n as f64).floor() as usize).min(n / 2);
        for (i, (o, &v)) in y.iter_mut().zip(x).enumerate() {
            let w = if i < ramp {
                Self::weight(i, ramp)
            } else if i >= n - ramp {
                Self::weight(n - 1 - i, ramp)
            } else {
                1.0
            };
            *o = (v as f64 * w) as f32;
        }
    }
}

pub type Taper = Streaming<WindowedFactory<TaperFn>>;

pub fn taper(fraction: f64, window_s: f64, gaps: GapPolicy) -> Result<Taper, ConfigError> {
    if !(0.0..=0.5).contains(&fraction) {
        return Err(ConfigError::invalid(
            "fraction",
            format!("must be between 0 and 0.5 (of the window, per side), got {fraction}"),
        ));
    }
    Ok(Streaming::new(
        WindowedFactory::new(window_s, move |_| Ok(Arc::new(TaperFn { fraction })))?,
        gaps,
    ))
}

// The `taper` stage: its keys and how it runs.

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaperConfig {
    /// Fraction of the window tapered at each end.
    #[serde(default = "default_taper")]
    pub max_percentage: f64,
    #[serde(default = "default_window")]
    pub window_s: f64,
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

fn default_taper() -> f64 {
    0.05
}

impl StageType for TaperConfig {
    const NAME: &'static str = "taper";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str = "Hann taper at both ends of each window (ObsPy's `max_percentage`)";
}

impl OperatorStage for TaperConfig {
    fn operator(&self, _: &str) -> Result<Box<dyn Operator>, ConfigError> {
        let gaps = gap_policy(self.gaps, self.max_gap_samples);
        Ok(Box::new(taper(self.max_percentage, self.window_s, gaps)?))
    }

    fn state(&self, input: &Flow) -> Need {
        windowed_state(input, self.window_s)
    }
}
