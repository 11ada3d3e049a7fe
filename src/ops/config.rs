//! Pipeline-file keys that several operator stages share (each stage's own keys live in its
//! module). Key names follow ObsPy where it has one (`corners`, `zerophase`, `freqmin`,
//! `freqmax`, `max_percentage`), so a seismologist's habits carry over.

use serde::Deserialize;

use super::GapPolicy;
use crate::pipeline::memory::{Flow, Need};

/// What an operator does at a gap: `restart` the filter, or `interpolate` gaps of up to
/// `max_gap_samples` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gaps {
    #[default]
    Restart,
    Interpolate,
}

pub fn gap_policy(gaps: Gaps, max_gap_samples: u64) -> GapPolicy {
    match gaps {
        Gaps::Restart => GapPolicy::Restart,
        Gaps::Interpolate => GapPolicy::Interpolate {
            max_samples: max_gap_samples,
        },
    }
}

pub fn default_max_gap() -> u64 {
    10
}

pub fn default_window() -> f64 {
    3600.0
}

/// What a per-stream operator holds: `per_channel` bytes for every channel of every stream,
/// plus one output block of the size of its input; it passes on blocks like its input.
pub fn per_channel_state(input: &Flow, per_channel: u64, what: &str) -> Need {
    let n = input.all_channels();
    Need::new(
        n * per_channel + input.message_bytes,
        format!("{n} ch x {what}"),
        *input,
    )
}

/// What a windowed operator (detrend, taper, zero-phase filter) holds: each channel's window
/// being filled and the window being processed; it passes on whole windows.
pub fn windowed_state(input: &Flow, window_s: f64) -> Need {
    let window = (window_s * input.rate_hz).ceil() as u64 * 4;
    let n = input.all_channels();
    let out = Flow {
        message_bytes: input.channels.max(1) * window + crate::pipeline::memory::CHUNK_OVERHEAD,
        ..*input
    };
    Need::new(
        n * window * 2,
        format!("{n} ch x 2 windows of {window_s} s"),
        out,
    )
}
