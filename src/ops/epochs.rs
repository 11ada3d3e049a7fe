//! Station metadata for the operators that need it (`remove_sensitivity`,
//! `remove_response`): the epoch covering some samples, and what is said when there is none.
//!
//! A channel without metadata is warned about once per channel and epoch (not once per
//! block: a day of 1-s blocks would bury the log) and counted as a `no_metadata` event each
//! time, so the dashboards see how much data flowed on unconverted.

use std::collections::HashSet;
use std::sync::Arc;

use crate::metadata::evaluate::Evaluator;
use crate::metadata::live::Live;
use crate::metadata::{Catalogue, ChannelEpoch};
use crate::model::{Nanos, SourceId};
use crate::pipeline::component::BuildContext;
use crate::pipeline::emit::StageError;
use crate::telemetry::metrics::StageMetrics;

pub struct Epochs {
    catalogue: Arc<Live>,
    metrics: Option<StageMetrics>,
    /// (channel, epoch start or the time asked) already warned about.
    warned: HashSet<(String, Nanos)>,
}

impl Epochs {
    pub fn new(catalogue: Arc<Live>, metrics: Option<StageMetrics>) -> Self {
        Epochs {
            catalogue,
            metrics,
            warned: HashSet::new(),
        }
    }

    /// The pipeline's catalogue for stage `ctx.stage`, which cannot run without one.
    pub fn for_stage(ctx: &BuildContext<'_>, what: &str) -> Result<Self, StageError> {
        let catalogue = ctx
            .pipeline
            .catalogue()
            .map_err(StageError::Other)?
            .ok_or_else(|| {
                StageError::Other(format!(
                    "{}: {what} needs station metadata: add [metadata] stationxml = [...] to the pipeline",
                    ctx.stage
                ))
            })?;
        Ok(Epochs::new(catalogue, Some(ctx.metrics.clone())))
    }

    /// Raised by each refresh of the metadata: part of the keys of what is prepared from it.
    pub fn generation(&self) -> u64 {
        self.catalogue.generation()
    }

    /// Says why a channel's samples stay unconverted: a warning per channel and `key`.
    pub fn note(&mut self, id: &str, key: Nanos, msg: String) {
        if let Some(m) = &self.metrics {
            m.event("no_metadata");
        }
        if self.warned.insert((id.to_string(), key)) {
            tracing::warn!(channel = id, "{msg}");
        }
    }

    /// The catalogue in use now, to look epochs up in with [`Epochs::at`].
    pub fn current(&self) -> Arc<Catalogue> {
        self.catalogue.current()
    }

    /// The epoch of `id` covering `t` in `cat` (borrowed, not copied: a response can hold
    /// thousands of FIR taps and this runs per block), or a note saying there is none.
    pub fn at<'c>(
        &mut self,
        cat: &'c Catalogue,
        id: &SourceId,
        t: Nanos,
    ) -> Option<&'c ChannelEpoch> {
        let seed = match id.to_seed() {
            Ok(s) => s,
            Err(e) => {
                self.note(id.as_str(), t, format!("no station metadata: {e}"));
                return None;
            }
        };
        match cat.at(&seed, t) {
            Ok(e) => Some(e),
            Err(missing) => {
                self.note(id.as_str(), t, format!("{missing}: left in counts"));
                None
            }
        }
    }

    /// The epoch's response ready to evaluate, or a note naming the channel and epoch and
    /// `instead` (what happens to its data without one).
    pub fn evaluator(
        &mut self,
        id: &SourceId,
        epoch: &ChannelEpoch,
        instead: &str,
    ) -> Option<Evaluator> {
        let why = match epoch.response.as_ref().map(Evaluator::new) {
            Some(Ok(ev)) => return Some(ev),
            Some(Err(e)) => format!("response cannot be evaluated: {e}"),
            None => "no response".to_string(),
        };
        let msg = format!("{} epoch {}: {why}; {instead}", epoch.id, epoch.span());
        self.note(id.as_str(), epoch.start, msg);
        None
    }
}
