//! `detrend`: remove the mean or the least-squares line from each window of each channel
//! (SciPy's `detrend(type='constant' | 'linear')` applied per window).

use super::config::{default_max_gap, default_window, gap_policy, windowed_state, Gaps};
use super::stream::{GapPolicy, Streaming};
use super::window::{WindowFn, WindowedFactory};
use super::ConfigError;
use super::Operator;
use crate::pipeline::component::{OperatorStage, Role, StageType};
use crate::pipeline::memory::{Flow, Need};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Mean,
    Linear,
}

pub struct DetrendFn(pub Trend);

impl WindowFn for DetrendFn {
    fn apply(&self, x: &[f32], y: &mut [f32]) {
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let slope = match self.0 {
            Trend::Mean => 0.0,
            Trend::Linear if x.len() > 1 => {
                // Least squares against t - t_mean, so the intercept is the mean.
                let tm = (n - 1.0) / 2.0;
                let (mut sxy, mut sxx) = (0.0, 0.0);
                for (i, &v) in x.iter().enumerate() {
                    let t = i as f64 - tm;
                    sxy += t * (v as f64 - mean);
                    sxx += t * t;
                }
                sxy / sxx
            }
            Trend::Linear => 0.0,
        };
        let tm = (n - 1.0) / 2.0;
        for (i, (o, &v)) in y.iter_mut().zip(x).enumerate() {
            *o = (v as f64 - mean - slope * (i as f64 - tm)) as f32;
        }
    }
}

pub type Detrend = Streaming<WindowedFactory<DetrendFn>>;

pub fn detrend(trend: Trend, window_s: f64, gaps: GapPolicy) -> Result<Detrend, ConfigError> {
    Ok(Streaming::new(
        WindowedFactory::new(window_s, move |_| Ok(Arc::new(DetrendFn(trend))))?,
        gaps,
    ))
}

// The `detrend` stage: its keys and how it runs.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrendName {
    Mean,
    #[default]
    Linear,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetrendConfig {
    #[serde(default)]
    pub kind: TrendName,
    #[serde(default = "default_window")]
    pub window_s: f64,
    #[serde(default)]
    pub gaps: Gaps,
    #[serde(default = "default_max_gap")]
    pub max_gap_samples: u64,
}

impl StageType for DetrendConfig {
    const NAME: &'static str = "detrend";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str = "removes the mean or a least-squares line, window by window";
}

impl OperatorStage for DetrendConfig {
    fn operator(&self, _: &str) -> Result<Box<dyn Operator>, ConfigError> {
        let trend = match self.kind {
            TrendName::Mean => Trend::Mean,
            TrendName::Linear => Trend::Linear,
        };
        let gaps = gap_policy(self.gaps, self.max_gap_samples);
        Ok(Box::new(detrend(trend, self.window_s, gaps)?))
    }

    fn state(&self, input: &Flow) -> Need {
        windowed_state(input, self.window_s)
    }
}
