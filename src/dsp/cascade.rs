//! Decimation plans: how a factor is split into stages, and each stage's anti-alias filter.
//!
//! A factor of 1000 done in one stage needs a filter of ~32,000 taps at the input rate; done as
//! 10 × 10 × 10 the early stages only have to protect the final band, so they get wide
//! transition bands and short filters, and the one sharp filter runs at the lowest rate. The
//! plan picks the ordered factorisation with the least multiply-adds per input sample.
//!
//! Frequencies below are in units of the *final* output rate: the output Nyquist is 0.5, the
//! protected band is `[0, fp]` with `fp = pass_fraction * 0.5`. A stage that takes rate `r_in` to
//! `r_out` must reject everything from `r_out - fp` up, because that is what folds into `[0, fp]`;
//! what folds between `fp` and the output Nyquist is removed by the later stages.

use super::{kaiser, response};
use std::collections::HashMap;
use std::fmt;

/// What the cascade as a whole must achieve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    /// Passband edge as a fraction of the output Nyquist frequency (0.8 = 80%).
    pub pass_fraction: f64,
    /// Rejection of everything that would alias into the passband, dB.
    pub atten_db: f64,
    /// Peak passband deviation of the whole cascade, dB.
    pub ripple_db: f64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            pass_fraction: 0.8,
            atten_db: 100.0,
            ripple_db: 0.01,
        }
    }
}

/// One stage: decimate by `factor` after filtering with `taps` (odd length `2 K factor + 1`, so
/// that the filter delay is a whole number of output samples and is removed exactly).
#[derive(Clone, PartialEq)]
pub struct Stage {
    pub factor: usize,
    pub taps: Vec<f64>,
    /// Measured passband deviation (dB) and stop-band level (dB) of this stage's filter.
    pub ripple_db: f64,
    pub stop_db: f64,
}

impl fmt::Debug for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Stage(÷{}, {} taps, ripple {:.2e} dB, stop {:.1} dB)",
            self.factor,
            self.taps.len(),
            self.ripple_db,
            self.stop_db
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub factor: usize,
    pub spec: Spec,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("decimation factor must be at least 1, got {0}")]
    Factor(usize),
    #[error("pass_fraction must be in (0, 1), got {0}")]
    PassFraction(f64),
    #[error("attenuation must be between 20 and 200 dB, got {0}")]
    Attenuation(f64),
    #[error("ripple must be between 1e-6 and 3 dB, got {0}")]
    Ripple(f64),
}

/// Fixed per-stage cost (in multiply-adds per stage input sample) for copying and bookkeeping,
/// so that the plan does not split into stages that save nothing.
const STAGE_OVERHEAD: f64 = 2.0;

/// Cost of finishing one output (reducing its eight lanes, the odd taps, the store), in
/// multiply-adds: the kernel does eight per instruction, the reduction does one.
const OUTPUT_OVERHEAD: f64 = 32.0;

impl Plan {
    pub fn new(factor: usize, spec: Spec) -> Result<Plan, PlanError> {
        if factor == 0 {
            return Err(PlanError::Factor(factor));
        }
        if !(spec.pass_fraction > 0.0 && spec.pass_fraction < 1.0) {
            return Err(PlanError::PassFraction(spec.pass_fraction));
        }
        if !(20.0..=200.0).contains(&spec.atten_db) {
            return Err(PlanError::Attenuation(spec.atten_db));
        }
        if !(1e-6..=3.0).contains(&spec.ripple_db) {
            return Err(PlanError::Ripple(spec.ripple_db));
        }
        let factors = if factor == 1 {
            Vec::new()
        } else {
            best_factorisation(factor, spec)
        };
        let per_stage_ripple = spec.ripple_db / factors.len().max(1) as f64;
        let fp = spec.pass_fraction * 0.5;
        let mut remaining = factor;
        let stages = factors
            .into_iter()
            .map(|m| {
                let r_in = remaining as f64;
                remaining /= m;
                let r_out = remaining as f64;
                design_stage(
                    m,
                    fp / r_in,
                    (r_out - fp) / r_in,
                    spec.atten_db,
                    per_stage_ripple,
                )
            })
            .collect();
        Ok(Plan {
            factor,
            spec,
            stages,
        })
    }

    /// Multiply-adds per input sample, all stages included.
    pub fn cost(&self) -> f64 {
        let mut rate = 1.0;
        let mut total = 0.0;
        for s in &self.stages {
            total += s.taps.len() as f64 / s.factor as f64 * rate;
            rate /= s.factor as f64;
        }
        total
    }
}

/// Estimated multiply-adds per stage input sample of a stage with these edges (cycles/sample).
fn stage_cost(m: usize, pass: f64, stop: f64, atten_db: f64) -> f64 {
    (kaiser::estimated_taps(atten_db, stop - pass) + OUTPUT_OVERHEAD) / m as f64 + STAGE_OVERHEAD
}

/// The ordered factorisation of `factor` with the least estimated cost (dynamic programming over
/// the divisors: the best way to finish depends only on the rate still to be removed).
fn best_factorisation(factor: usize, spec: Spec) -> Vec<usize> {
    fn best(
        remaining: usize,
        spec: Spec,
        memo: &mut HashMap<usize, (f64, Vec<usize>)>,
    ) -> (f64, Vec<usize>) {
        if remaining == 1 {
            return (0.0, Vec::new());
        }
        if let Some(v) = memo.get(&remaining) {
            return v.clone();
        }
        let fp = spec.pass_fraction * 0.5;
        let r_in = remaining as f64;
        let mut choice = (f64::INFINITY, Vec::new());
        for m in (2..=remaining).filter(|m| remaining % m == 0) {
            let r_out = (remaining / m) as f64;
            let here = stage_cost(m, fp / r_in, (r_out - fp) / r_in, spec.atten_db);
            // Later stages see 1/m of the samples.
            let (rest_cost, rest) = best(remaining / m, spec, memo);
            let cost = here + rest_cost / m as f64;
            if cost < choice.0 {
                let mut v = vec![m];
                v.extend(rest);
                choice = (cost, v);
            }
        }
        memo.insert(remaining, choice.clone());
        choice
    }
    best(factor, spec, &mut HashMap::new()).1
}

/// Designs one stage and verifies it: the length starts at Kaiser's estimate, rounded up to the
/// `2 K m + 1` form, and grows until the measured response meets the specification.
fn design_stage(m: usize, pass: f64, stop: f64, atten_db: f64, ripple_db: f64) -> Stage {
    // Kaiser's window has equal ripple in both bands; the design target is the stricter one.
    let ripple_as_atten = -20.0 * (10f64.powf(ripple_db / 20.0) - 1.0).log10();
    let target = atten_db.max(ripple_as_atten) + 0.5;
    let beta = kaiser::beta_for(target);
    let estimate = kaiser::estimated_taps(target, stop - pass);
    let mut k = ((estimate - 1.0) / (2.0 * m as f64)).ceil().max(1.0) as usize;
    let cutoff = (pass + stop) / 2.0;
    loop {
        let taps = kaiser::lowpass(2 * k * m + 1, cutoff, beta);
        let (ripple, stop_db) = response::measure(&taps, pass, stop);
        if (ripple <= ripple_db && stop_db <= -atten_db) || k > 1 << 16 {
            return Stage {
                factor: m,
                taps,
                ripple_db: ripple,
                stop_db,
            };
        }
        k += 1.max(k / 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_factors_become_cascades() {
        let plan = Plan::new(1000, Spec::default()).unwrap();
        assert!(plan.stages.len() >= 3, "{plan:?}");
        assert_eq!(
            plan.stages.iter().map(|s| s.factor).product::<usize>(),
            1000
        );
        assert!(plan.cost() < 40.0, "{plan:?} costs {}", plan.cost());
    }

    #[test]
    fn every_stage_meets_its_share_of_the_spec() {
        for factor in [2, 3, 4, 5, 7, 10, 100, 1000] {
            let plan = Plan::new(factor, Spec::default()).unwrap();
            for s in &plan.stages {
                assert!(s.stop_db <= -100.0, "÷{factor}: {s:?}");
                assert!(s.ripple_db <= 0.01 / plan.stages.len() as f64, "{s:?}");
                assert_eq!(s.taps.len() % (2 * s.factor), 1);
            }
        }
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(Plan::new(0, Spec::default()).is_err());
        let spec = Spec {
            pass_fraction: 1.0,
            ..Spec::default()
        };
        assert!(Plan::new(4, spec).is_err());
    }
}
