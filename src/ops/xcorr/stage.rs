//! The `xcorr` stage: sample blocks in, correlation blocks out.

use super::params::{Mode, Precision, XcorrConfig};
use super::{Real, Stats, Xcorr};
use crate::bus::{DataKind, Message, Payload};
use crate::model::CorrBlock;
use crate::ops::ConfigError;
use crate::pipeline::component::{
    key_error, BuildContext, Component, KeyError, Role, StageType, Transform, Work,
};
use crate::pipeline::emit::{Emitter, StageError};
use crate::pipeline::memory::{Flow, Need, CHUNK_OVERHEAD};

impl StageType for XcorrConfig {
    const NAME: &'static str = "xcorr";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "ambient-noise cross-correlation of channel pairs, per window and stacked per period";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Samples];
    const EMITS: Option<DataKind> = Some(DataKind::Correlations);
}

impl XcorrConfig {
    fn pairs_for(&self, n: u64) -> u64 {
        let auto = u64::from(self.autocorr);
        let share = |p: u64| p.div_ceil(self.instances as u64);
        share(match self.mode {
            Mode::All => n * n.saturating_sub(1) / 2 + auto * n,
            Mode::Sources => self.sources.len() as u64 * n,
            Mode::List => self.pairs.len() as u64,
        })
    }
}

impl Component for XcorrConfig {
    fn check(&self, stage: &str) -> Result<(), KeyError> {
        Xcorr::<f32>::new(self, stage).map(drop).map_err(key_error)
    }

    fn memory(&self, input: &Flow) -> Need {
        let n = input.all_channels();
        let rate = input.rate_hz.max(1.0);
        let npts = self.cc_len_s * rate;
        let maxlag = self.maxlag_s * rate;
        let nfreq = ((npts + maxlag) / 2.0 + 1.0) as u64;
        let cplx = match self.precision {
            Precision::F32 => 8,
            Precision::F64 => 16,
        };
        let pairs = self.pairs_for(n);
        let periods = self.substacks.len().max(1) as u64;
        let buffers = n
            * ((self.cc_len_s + self.step_s + self.wait_s.unwrap_or(self.cc_len_s)) * rate) as u64
            * 5;
        let spectra = n * nfreq * cplx;
        let sums = pairs * periods * nfreq * cplx;
        let lags = (2.0 * maxlag + 1.0) as u64 * 4;
        let windows_per_period = self
            .substacks
            .iter()
            .filter_map(|p| super::params::parse_period(p))
            .map(|ns| (ns as f64 / 1e9 / self.step_s).ceil() as u64)
            .sum::<u64>();
        let rows = if self
            .stack
            .iter()
            .any(|m| *m != super::params::StackMethod::Linear)
        {
            pairs * windows_per_period * lags
        } else {
            0
        };
        let out_block = pairs * lags + CHUNK_OVERHEAD;
        let out = Flow {
            message_bytes: out_block,
            streams: 1,
            channels: pairs,
            rate_hz: rate,
        };
        Need::new(
            buffers + spectra + sums + rows + out_block,
            format!(
                "{n} ch windows and spectra, {pairs} pairs x {periods} period sums of {nfreq} bins{}",
                if rows > 0 { " + window rows" } else { "" }
            ),
            out,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let other = |e: ConfigError| StageError::Other(format!("{}: {e}", ctx.stage));
        let engine: Box<dyn Engine> = match self.precision {
            Precision::F32 => Box::new(Xcorr::<f32>::new(self, ctx.stage).map_err(other)?),
            Precision::F64 => Box::new(Xcorr::<f64>::new(self, ctx.stage).map_err(other)?),
        };
        Ok(Work::Transform(Box::new(XcorrStage {
            stage: ctx.stage.to_string(),
            engine,
            out: Vec::new(),
            reported: Stats::default(),
            failed: false,
        })))
    }
}

/// [`Xcorr`] at either precision.
trait Engine: Send {
    fn push(
        &mut self,
        c: &crate::model::Chunk,
        out: &mut Vec<CorrBlock>,
    ) -> Result<(), ConfigError>;
    fn finish(&mut self, out: &mut Vec<CorrBlock>);
    fn stats(&self) -> &Stats;
    fn pair_windows(&self) -> u64;
}

impl<T: Real> Engine for Xcorr<T> {
    fn push(
        &mut self,
        c: &crate::model::Chunk,
        out: &mut Vec<CorrBlock>,
    ) -> Result<(), ConfigError> {
        Xcorr::push(self, c, out)
    }
    fn finish(&mut self, out: &mut Vec<CorrBlock>) {
        Xcorr::finish(self, out)
    }
    fn stats(&self) -> &Stats {
        &self.windower.stats
    }
    fn pair_windows(&self) -> u64 {
        Xcorr::pair_windows(self)
    }
}

struct XcorrStage {
    stage: String,
    engine: Box<dyn Engine>,
    out: Vec<CorrBlock>,
    /// What the counters already say (they are counted as differences).
    reported: Stats,
    failed: bool,
}

impl XcorrStage {
    fn pass_on(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let s = self.engine.stats().clone();
        for (reason, &n) in &s.rejected {
            let before = self.reported.rejected.get(reason).copied().unwrap_or(0);
            if n > before {
                em.metrics.dropped(reason, n - before);
            }
        }
        if s.late_samples > self.reported.late_samples {
            if self.reported.late_samples == 0 {
                tracing::warn!(stage = %self.stage,
                    "samples arrived after their windows were correlated and are dropped: xcorr needs its channels in time order (live feeds are; replay files with speed = \"realtime\" and a large speedup, which interleaves them by time), or a larger wait_s");
            }
            em.metrics
                .dropped("late_samples", s.late_samples - self.reported.late_samples);
        }
        if s.rate_mismatch > self.reported.rate_mismatch {
            if self.reported.rate_mismatch == 0 {
                tracing::error!(stage = %self.stage,
                    "blocks at a rate other than the first block's are dropped: one rate per xcorr stage (decimate first)");
            }
            em.metrics.dropped(
                "rate_mismatch",
                s.rate_mismatch - self.reported.rate_mismatch,
            );
        }
        self.reported = s;
        for b in self.out.drain(..) {
            let key = b.stream.clone();
            em.emit(&key, Payload::Correlations(b.into()))?;
        }
        Ok(())
    }
}

impl Transform for XcorrStage {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        let Payload::Block(c) = &m.payload else {
            em.wrong_kind(&m.key, &m.payload);
            return Ok(());
        };
        if let Err(e) = self.engine.push(c, &mut self.out) {
            // The first block's rate does not suit the parameters: nothing can be computed.
            if !self.failed {
                tracing::error!(stage = %self.stage, stream = %c.stream, rate = c.rate.hz(), "{e}");
                self.failed = true;
            }
            em.metrics.dropped("unusable_rate", 1);
            return Ok(());
        }
        self.pass_on(em)
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        self.engine.finish(&mut self.out);
        let s = self.engine.stats();
        let rejected: u64 = s.rejected.values().sum();
        let why: Vec<String> = s.rejected.iter().map(|(k, v)| format!("{v} {k}")).collect();
        tracing::info!(stage = %self.stage, windows = s.windows, rejected,
            pair_windows = self.engine.pair_windows(),
            "{} channel windows correlated, {rejected} left out{}",
            s.windows,
            if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) });
        self.pass_on(em)
    }
}
