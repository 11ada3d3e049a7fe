//! The receiving half of a split `xcorr`: channel spectra from the bus (one message per channel
//! and window, in order per channel, channels interleaved in any order) gathered back into
//! whole windows. A window is whole when every channel seen so far (at least `channels` of
//! them) has delivered it or a later one, or when the newest channel is `wait` past it.

use std::collections::{BTreeMap, HashMap};

use super::correlate::WindowSpectra;
use super::spectrum::ChannelSpectrum;
use crate::model::{ChannelMeta, Nanos, SpectraBlock};

type Held = BTreeMap<String, (ChannelMeta, Option<ChannelSpectrum<f32>>)>;

pub struct Gatherer {
    windows: BTreeMap<Nanos, Held>,
    /// The newest window start each channel has delivered.
    latest: HashMap<String, Nanos>,
    wait_ns: i64,
    /// Channels expected before a window is whole without waiting.
    expected: usize,
    /// Windows before this were emitted: what comes for them is late.
    done_before: Nanos,
    /// Channel windows that came after their window was emitted.
    pub late: u64,
}

impl Gatherer {
    pub fn new(wait_ns: i64, expected: usize) -> Gatherer {
        Gatherer {
            windows: BTreeMap::new(),
            latest: HashMap::new(),
            wait_ns,
            expected,
            done_before: Nanos::MIN,
            late: 0,
        }
    }

    pub fn push(&mut self, b: &SpectraBlock, out: &mut Vec<WindowSpectra<f32>>) {
        if b.start < self.done_before {
            self.late += b.channels.len() as u64;
            return;
        }
        let held = self.windows.entry(b.start).or_default();
        for ((meta, spec), scale) in b.channels.iter().zip(&b.spectra).zip(&b.scales) {
            let id = meta.source_id.as_str().to_string();
            let s = spec.as_ref().map(|spec| ChannelSpectrum {
                spec: spec.clone(),
                scale: scale.clone(),
            });
            held.insert(id.clone(), (meta.clone(), s));
            let l = self.latest.entry(id).or_insert(b.start);
            *l = (*l).max(b.start);
        }
        self.emit_ready(out, false);
    }

    fn emit_ready(&mut self, out: &mut Vec<WindowSpectra<f32>>, all: bool) {
        let newest = self.latest.values().copied().max().unwrap_or(Nanos::MIN);
        while let Some((&t, _)) = self.windows.first_key_value() {
            let whole = self.latest.len() >= self.expected && self.latest.values().all(|&l| l >= t);
            if !(all || whole || newest >= t.saturating_add(self.wait_ns)) {
                return;
            }
            let (t, held) = self.windows.pop_first().expect("looked at it above");
            let (channels, spectra) = held.into_values().unzip();
            out.push(WindowSpectra {
                start: t,
                channels,
                spectra,
            });
            self.done_before = t.saturating_add(1);
        }
    }

    pub fn finish(&mut self, out: &mut Vec<WindowSpectra<f32>>) {
        self.emit_ready(out, true);
    }
}

/// One channel's spectrum of one window as a bus message.
pub fn to_block(
    stream: &str,
    w: &WindowSpectra<f32>,
    k: usize,
    plan: &super::Plan<f32>,
    parameters: &std::sync::Arc<str>,
) -> SpectraBlock {
    let s = &w.spectra[k];
    SpectraBlock {
        stream: stream.to_string(),
        start: w.start,
        rate: plan.rate,
        npts: plan.npts,
        nfft: plan.nfft,
        first_bin: plan.support.start,
        bins: plan.support.len(),
        parameters: parameters.clone(),
        channels: vec![w.channels[k].clone()],
        spectra: vec![s.as_ref().map(|s| s.spec.clone())],
        scales: vec![s.as_ref().and_then(|s| s.scale.clone())],
    }
}
