//! A response evaluated on frequencies, with evalresp's semantics as ObsPy drives it
//! (`Response.get_evalresp_response`), so that values equal ObsPy's:
//!
//! - every stage's filter times its gain; the gains are re-stated at the overall
//!   sensitivity's frequency when a stage states its gain (or a poles-and-zeros stage its
//!   normalisation) at another frequency, and the product of the stage gains (not the stated
//!   overall sensitivity) scales the result;
//! - an asymmetric FIR whose coefficients do not sum to 1 within 2 % is normalised, and one
//!   whose coefficients are symmetric is evaluated as a symmetric (zero-phase) filter;
//! - an asymmetric FIR is shifted by its stage's applied correction (evalresp's default, not
//!   the estimated delay);
//! - a `Coefficients` stage with denominators is evaluated as a digital IIR filter, and one
//!   without as an asymmetric FIR (evalresp's reading, whatever its transfer type says);
//! - the result is converted from the first stage's input units (displacement, velocity or
//!   acceleration) to the requested output by powers of iω.
//!
//! - a chain stated in cm, mm or nm is scaled to metres (ObsPy's correction outside evalresp);
//! - a linear polynomial stage is a gain of 1/c1 (ObsPy 1.5).
//!
//! Response-list stages and higher-order polynomials are refused with an error, as are chains
//! whose stage units do not join up.

use std::f64::consts::PI;

use num_complex::Complex;

use super::response::{Filter, Gain, PzTransfer, Response, Stage, Symmetry, Units};

type C64 = Complex<f64>;

/// The physical quantity the response is wanted in (ObsPy's `output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Displacement,
    Velocity,
    Acceleration,
    /// The chain's own input units (`DEF`): no conversion.
    Default,
}

impl Output {
    /// `DISP`, `VEL`, `ACC` or `DEF`, as ObsPy names them.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "DISP" | "DIS" => Some(Output::Displacement),
            "VEL" => Some(Output::Velocity),
            "ACC" => Some(Output::Acceleration),
            "DEF" => Some(Output::Default),
            _ => None,
        }
    }
}

/// Why a response cannot be evaluated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    #[error("the response has no stages")]
    NoStages,
    #[error("stage {0} appears more than once")]
    DuplicateStage(u32),
    #[error("stage {0}: {1}")]
    Stage(u32, String),
    #[error("stage {stage}: its input units ({input}) are not the previous stage's output units ({previous})")]
    UnitsMismatch {
        stage: u32,
        input: String,
        previous: String,
    },
    #[error("no stage gain and no overall sensitivity: the response has no scale")]
    NoGain,
}

/// The quantity a unit name stands for, as evalresp groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quantity {
    Displacement,
    Velocity,
    Acceleration,
    Volts,
    Counts,
    Tesla,
    Pressure,
    Undefined,
}

/// ObsPy's unit table for evalresp (strain counts as displacement).
fn quantity(units: Option<&Units>) -> Quantity {
    let Some(u) = units else {
        return Quantity::Undefined;
    };
    match u.name.trim().to_ascii_uppercase().as_str() {
        "M" | "NM" | "CM" | "MM" | "M/M" | "M**3/M**3" => Quantity::Displacement,
        "M/S" | "M/SEC" | "NM/S" | "NM/SEC" | "CM/S" | "CM/SEC" | "MM/S" | "MM/SEC" => {
            Quantity::Velocity
        }
        "M/S**2" | "M/(S**2)" | "M/SEC**2" | "M/(SEC**2)" | "M/S/S" | "NM/S**2" | "NM/(S**2)"
        | "NM/SEC**2" | "NM/(SEC**2)" | "CM/S**2" | "CM/(S**2)" | "CM/SEC**2" | "CM/(SEC**2)"
        | "MM/S**2" | "MM/(S**2)" | "MM/SEC**2" | "MM/(SEC**2)" => Quantity::Acceleration,
        "V" | "VOLT" | "VOLTS" | "V/M" => Quantity::Volts,
        "COUNT" | "COUNTS" => Quantity::Counts,
        "T" => Quantity::Tesla,
        "PA" | "PASCAL" | "PASCALS" | "MBAR" => Quantity::Pressure,
        _ => Quantity::Undefined,
    }
}

/// Whether units name ground motion (displacement, velocity or acceleration, any of the
/// spellings evalresp knows): what a PPSD reports as acceleration.
pub fn is_motion(units: Option<&Units>) -> bool {
    matches!(
        quantity(units),
        Quantity::Displacement | Quantity::Velocity | Quantity::Acceleration
    )
}

/// A stage's filter in the form it is evaluated in.
#[derive(Debug, Clone)]
enum Kernel {
    /// Laplace poles and zeros; `hertz`: s = i·f instead of i·2πf.
    Analog {
        hertz: bool,
        a0: f64,
        zeros: Vec<C64>,
        poles: Vec<C64>,
    },
    /// Z-transform poles and zeros at sample interval `dt`.
    DigitalPz {
        a0: f64,
        zeros: Vec<C64>,
        poles: Vec<C64>,
        dt: f64,
    },
    /// Symmetric FIR, odd length: `half` ends with the centre tap.
    FirOdd { h0: f64, half: Vec<f64>, dt: f64 },
    /// Symmetric FIR, even length: `half` is the first half.
    FirEven { h0: f64, half: Vec<f64>, dt: f64 },
    /// Any FIR, shifted by the stage's applied correction `shift` (s).
    FirAsym {
        h0: f64,
        taps: Vec<f64>,
        dt: f64,
        shift: f64,
    },
    /// Digital IIR from numerator and denominator coefficients.
    Iir {
        h0: f64,
        num: Vec<f64>,
        den: Vec<f64>,
        dt: f64,
    },
    /// Nothing but a gain.
    Unity,
}

impl Kernel {
    /// The filter at frequency `f` (Hz).
    fn at(&self, f: f64) -> C64 {
        let w = 2.0 * PI * f;
        match self {
            Kernel::Analog {
                hertz,
                a0,
                zeros,
                poles,
            } => {
                let s = C64::new(0.0, if *hertz { f } else { w });
                let num: C64 = zeros.iter().map(|z| s - z).product();
                let den: C64 = poles.iter().map(|p| s - p).product();
                let m = den.norm_sqr();
                let q = if m != 0.0 {
                    num * den.conj() / m
                } else {
                    num * den.conj()
                };
                q * *a0
            }
            Kernel::DigitalPz {
                a0,
                zeros,
                poles,
                dt,
            } => {
                if zeros.is_empty() && poles.is_empty() {
                    return C64::new(1.0, 0.0);
                }
                let z = C64::from_polar(1.0, w * dt);
                let num: C64 = zeros.iter().map(|q| z - q).product();
                let den: C64 = poles.iter().map(|p| z - p).product();
                num / den * *a0
            }
            Kernel::FirOdd { h0, half, dt } => {
                let Some((centre, rest)) = half.split_last() else {
                    return C64::new(1.0, 0.0);
                };
                // Σ a_k cos(θ(n-1-k)) over the taps before the centre: Re z·P(z), z = e^{iθ}.
                let z = C64::from_polar(1.0, w * dt);
                let r = (horner(rest.iter(), z) * z).re;
                C64::new((centre + 2.0 * r) * h0, 0.0)
            }
            Kernel::FirEven { h0, half, dt } => {
                if half.is_empty() {
                    return C64::new(1.0, 0.0);
                }
                // Σ a_k cos(θ(n-1-k+1/2)) = Re e^{iθ/2}·P(z).
                let z = C64::from_polar(1.0, w * dt);
                let r = (horner(half.iter(), z) * C64::from_polar(1.0, w * dt / 2.0)).re;
                C64::new(2.0 * r * h0, 0.0)
            }
            Kernel::FirAsym {
                h0,
                taps,
                dt,
                shift,
            } => {
                if taps.is_empty() {
                    return C64::new(1.0, 0.0);
                }
                // Σ a_k e^{-iθk}
                let u = C64::from_polar(1.0, -w * dt);
                horner(taps.iter().rev(), u) * *h0 * C64::from_polar(1.0, w * shift)
            }
            Kernel::Iir { h0, num, den, dt } => {
                let u = C64::from_polar(1.0, -w * dt);
                horner(num.iter().rev(), u) / horner(den.iter().rev(), u) * *h0
            }
            Kernel::Unity => C64::new(1.0, 0.0),
        }
    }

    /// The kernel with its normalisation set to 1 (a0 or h0), for re-stating gains.
    fn unnormalised(&self) -> Kernel {
        let mut k = self.clone();
        match &mut k {
            Kernel::Analog { a0, .. } | Kernel::DigitalPz { a0, .. } => *a0 = 1.0,
            Kernel::FirOdd { h0, .. }
            | Kernel::FirEven { h0, .. }
            | Kernel::FirAsym { h0, .. }
            | Kernel::Iir { h0, .. } => *h0 = 1.0,
            Kernel::Unity => {}
        }
        k
    }

    fn set_normalisation(&mut self, v: f64) {
        match self {
            Kernel::Analog { a0, .. } | Kernel::DigitalPz { a0, .. } => *a0 = v,
            Kernel::FirOdd { h0, .. }
            | Kernel::FirEven { h0, .. }
            | Kernel::FirAsym { h0, .. }
            | Kernel::Iir { h0, .. } => *h0 = v,
            Kernel::Unity => {}
        }
    }

    /// Whether evalresp re-states this kernel's gain (FIRs only when they have taps).
    fn restatable(&self) -> bool {
        match self {
            Kernel::Analog { .. } | Kernel::DigitalPz { .. } | Kernel::Iir { .. } => true,
            Kernel::FirOdd { half, .. } | Kernel::FirEven { half, .. } => !half.is_empty(),
            Kernel::FirAsym { taps, .. } => !taps.is_empty(),
            Kernel::Unity => false,
        }
    }
}

/// Σ c_j x^(m-1-j) for the coefficients in the order given (highest power first), by
/// Horner's rule: one complex multiply-add per tap instead of a sine and cosine per tap.
fn horner<'a>(coefficients: impl Iterator<Item = &'a f64>, x: C64) -> C64 {
    coefficients.fold(C64::new(0.0, 0.0), |acc, c| acc * x + *c)
}

/// A response made ready to evaluate: kernels, re-stated gains, the overall scale.
#[derive(Debug, Clone)]
pub struct Evaluator {
    kernels: Vec<Kernel>,
    /// The product of the stage gains at the sensitivity frequency, times the unit scale
    /// (1e9 for a chain stated per nm/s, as ObsPy scales it).
    scale: f64,
    input: Quantity,
}

/// A stage as evalresp holds it: the filter, its gain blockettes, and whether it is a
/// gain-only stage (skipped by the unit check).
struct Prepared {
    kernel: Kernel,
    gains: Vec<Gain>,
    gain_only: bool,
    /// A poles-and-zeros stage's normalisation frequency.
    pz_frequency: Option<f64>,
}

impl Evaluator {
    /// Checks the chain and re-states its gains as evalresp does.
    pub fn new(response: &Response) -> Result<Self, EvalError> {
        if response.stages.is_empty() {
            return Err(EvalError::NoStages);
        }
        let mut stages: Vec<Stage> = response.stages.clone();
        stages.sort_by_key(|s| s.number);
        if let Some(w) = stages.windows(2).find(|w| w[0].number == w[1].number) {
            return Err(EvalError::DuplicateStage(w[0].number));
        }
        fill_first_stage_units(&mut stages, response);
        let rates = input_rates(&stages);

        let (sens_value, mut sens_freq) = match &response.sensitivity {
            Some(s) => (s.value, s.frequency.unwrap_or(0.0)),
            None => (0.0, 0.0),
        };
        if sens_value == 0.0 {
            // evalresp: the last non-zero stage gain frequency.
            if let Some(f) = stages
                .iter()
                .filter_map(|s| s.gain.map(|g| g.frequency))
                .rfind(|f| *f != 0.0)
            {
                sens_freq = f;
            }
        }

        let mut kernels = Vec::with_capacity(stages.len());
        let mut scale = 1.0;
        let mut previous: Option<(Quantity, String)> = None;
        let single = stages.len() == 1;
        for stage in &stages {
            let n = stage.number;
            let Prepared {
                mut kernel,
                mut gains,
                gain_only,
                pz_frequency,
            } = prepare(stage, rates.as_ref().and_then(|r| r.get(&n).copied()))?;
            if !gain_only {
                let input = quantity(stage.input_units.as_ref());
                if let Some((out, out_name)) = &previous {
                    if *out != input {
                        return Err(EvalError::UnitsMismatch {
                            stage: n,
                            input: units_name(stage.input_units.as_ref()),
                            previous: out_name.clone(),
                        });
                    }
                }
                if n != 0 {
                    previous = Some((
                        quantity(stage.output_units.as_ref()),
                        units_name(stage.output_units.as_ref()),
                    ));
                }
            }
            if gains.is_empty() && single {
                if sens_value == 0.0 {
                    return Err(EvalError::NoGain);
                }
                gains.push(Gain {
                    value: sens_value,
                    frequency: sens_freq,
                });
            }
            for mut g in gains {
                if g.value == 0.0 {
                    return Err(EvalError::Stage(n, "zero stage gain".into()));
                }
                let off = g.frequency != sens_freq || pz_frequency.is_some_and(|f| f != sens_freq);
                if off && kernel.restatable() {
                    let bare = kernel.unnormalised();
                    let at_gain = bare.at(g.frequency).norm();
                    let at_sens = bare.at(sens_freq).norm();
                    if matches!(kernel, Kernel::Analog { .. }) && (at_gain == 0.0 || at_sens == 0.0)
                    {
                        return Err(EvalError::Stage(
                            n,
                            format!(
                                "the response is zero at its gain frequency {} Hz or at the sensitivity frequency {sens_freq} Hz",
                                g.frequency
                            ),
                        ));
                    }
                    g.value = g.value / at_gain * at_sens;
                    kernel = bare;
                    kernel.set_normalisation(1.0 / at_sens);
                }
                scale *= g.value;
            }
            kernels.push(kernel);
        }
        Ok(Evaluator {
            kernels,
            scale: scale * unit_scale(stages[0].input_units.as_ref()),
            input: quantity(stages[0].input_units.as_ref()),
        })
    }

    /// The response at `f` Hz, counts per unit of `output` (ObsPy's convention).
    pub fn at(&self, f: f64, output: Output) -> C64 {
        let mut v = C64::new(self.scale, 0.0);
        for k in &self.kernels {
            v *= k.at(f);
        }
        convert(v, self.input, output, 2.0 * PI * f)
    }

    /// The response on a grid of frequencies.
    pub fn on(&self, freqs: &[f64], output: Output) -> Vec<C64> {
        freqs.iter().map(|f| self.at(*f, output)).collect()
    }
}

/// numpy's `linspace(0, 1 / (2 t_samp), nfft // 2 + 1)`, as ObsPy builds the grid.
pub fn fft_frequencies(t_samp: f64, nfft: usize) -> Vec<f64> {
    let n = nfft / 2 + 1;
    let stop = 1.0 / (t_samp * 2.0);
    if n == 1 {
        return vec![0.0];
    }
    let step = stop / (n - 1) as f64;
    let mut f: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
    f[n - 1] = stop;
    f
}

/// evalresp's `convert_to_units`: to velocity from the input quantity, then to the output.
fn convert(mut v: C64, input: Quantity, output: Output, w: f64) -> C64 {
    if output == Output::Default {
        return v;
    }
    let div_iw = |v: C64| {
        if w != 0.0 {
            v * C64::new(0.0, -1.0 / w)
        } else {
            C64::new(0.0, 0.0)
        }
    };
    match input {
        Quantity::Displacement => {
            if output == Output::Displacement {
                return v;
            }
            v = div_iw(v);
        }
        Quantity::Acceleration => {
            if output == Output::Acceleration {
                return v;
            }
            v *= C64::new(0.0, w);
        }
        _ => {}
    }
    match output {
        Output::Displacement => v * C64::new(0.0, w),
        Output::Acceleration => div_iw(v),
        _ => v,
    }
}

fn units_name(u: Option<&Units>) -> String {
    u.map(|u| u.name.clone()).unwrap_or_else(|| "none".into())
}

/// ObsPy's repair of a first stage without units: the overall input units, and the second
/// stage's input units as its output.
fn fill_first_stage_units(stages: &mut [Stage], response: &Response) {
    let sens = response.sensitivity.as_ref();
    let second_input = stages
        .iter()
        .find(|s| s.number == 2)
        .and_then(|s| s.input_units.clone());
    let max = stages.iter().map(|s| s.number).max().unwrap_or(0);
    if let Some(first) = stages.iter_mut().find(|s| s.number == 1) {
        if first.input_units.is_none() || first.output_units.is_none() {
            if first.input_units.is_none() {
                first.input_units = sens.and_then(|s| s.input_units.clone());
            }
            if first.output_units.is_none() {
                if max == 1 {
                    first.output_units = sens.and_then(|s| s.output_units.clone());
                }
                if second_input.is_some() {
                    first.output_units = second_input;
                }
            }
        }
    }
}

/// The sample interval of a digital stage.
fn interval(stage: &Stage) -> Result<f64, EvalError> {
    match stage.decimation {
        Some(d) if d.input_sample_rate == 0.0 => Ok(0.0),
        Some(d) => Ok(1.0 / d.input_sample_rate),
        None => Err(EvalError::Stage(
            stage.number,
            "a digital filter without decimation: its sample rate is unknown".into(),
        )),
    }
}

/// ObsPy's `Response.get_sampling_rates`: each stage's input rate, from the stated rates
/// carried along the chain (`None` where the stages are not numbered 1..N or state none).
fn input_rates(stages: &[Stage]) -> Option<std::collections::HashMap<u32, f64>> {
    let numbered: Vec<&Stage> = stages.iter().filter(|s| s.number != 0).collect();
    if numbered.is_empty()
        || numbered
            .iter()
            .enumerate()
            .any(|(i, s)| s.number != i as u32 + 1)
    {
        return None;
    }
    let stated = |s: &Stage| {
        s.decimation
            .map(|d| d.input_sample_rate)
            .filter(|r| *r != 0.0)
    };
    let first = numbered.iter().find_map(|s| stated(s))?;
    let mut out = std::collections::HashMap::new();
    let mut rate = first;
    for s in numbered {
        let input = stated(s).unwrap_or(rate);
        let factor = s.decimation.map_or(1, |d| d.factor.max(1));
        out.insert(s.number, input);
        rate = input / factor as f64;
    }
    Some(out)
}

/// A stage's kernel and gain blockettes, as ObsPy hands them to evalresp.
fn prepare(stage: &Stage, input_rate: Option<f64>) -> Result<Prepared, EvalError> {
    let n = stage.number;
    let mut gains: Vec<Gain> = stage.gain.into_iter().collect();
    let mut gain_only = false;
    let mut pz_frequency = None;
    let kernel = match &stage.filter {
        Filter::PolesZeros {
            transfer,
            normalization_factor,
            normalization_frequency,
            zeros,
            poles,
        } => {
            pz_frequency = Some(*normalization_frequency);
            match transfer {
                PzTransfer::LaplaceRadians | PzTransfer::LaplaceHertz => Kernel::Analog {
                    hertz: *transfer == PzTransfer::LaplaceHertz,
                    a0: *normalization_factor,
                    zeros: zeros.clone(),
                    poles: poles.clone(),
                },
                PzTransfer::Digital => {
                    // ObsPy gives a poles-and-zeros stage with a gain and no decimation a
                    // unit decimation at the chain's rate there (1 Hz when unknown).
                    let dt = match stage.decimation {
                        None if stage.gain.is_some_and(|g| g.value != 0.0) => {
                            1.0 / input_rate.unwrap_or(1.0)
                        }
                        _ => interval(stage)?,
                    };
                    Kernel::DigitalPz {
                        a0: *normalization_factor,
                        zeros: zeros.clone(),
                        poles: poles.clone(),
                        dt,
                    }
                }
            }
        }
        Filter::Coefficients {
            transfer,
            numerator,
            denominator,
        } => {
            if denominator.is_empty() {
                if !transfer.trim().eq_ignore_ascii_case("digital") {
                    return Err(EvalError::Stage(
                        n,
                        format!(
                            "coefficients without denominators must be a digital FIR, not {transfer:?}"
                        ),
                    ));
                }
                fir_asym(stage, numerator.clone())?
            } else {
                Kernel::Iir {
                    h0: 1.0,
                    num: numerator.clone(),
                    den: denominator.clone(),
                    dt: interval(stage)?,
                }
            }
        }
        Filter::Fir {
            symmetry,
            coefficients,
        } => match symmetry {
            Symmetry::None => fir_asym(stage, coefficients.clone())?,
            Symmetry::Odd => Kernel::FirOdd {
                h0: 1.0,
                half: coefficients.clone(),
                dt: interval(stage)?,
            },
            Symmetry::Even => Kernel::FirEven {
                h0: 1.0,
                half: coefficients.clone(),
                dt: interval(stage)?,
            },
        },
        Filter::List { .. } => {
            return Err(EvalError::Stage(
                n,
                "response-list stages are not evaluated".into(),
            ))
        }
        Filter::Polynomial {
            coefficients,
            frequency_lower,
            frequency_upper,
            ..
        } => {
            // ObsPy: a linear polynomial is a gain of 1/c1 (its offset c0 has no spectrum),
            // a constant one a gain of 1, at the middle of its frequency band.
            let frequency = (frequency_lower + frequency_upper) / 2.0;
            let value = match coefficients.as_slice() {
                [_] => 1.0,
                [_, c1] if *c1 != 0.0 => 1.0 / c1,
                other => {
                    return Err(EvalError::Stage(
                        n,
                        format!(
                            "a polynomial of {} coefficients has no linear response to evaluate",
                            other.len()
                        ),
                    ))
                }
            };
            gains.insert(0, Gain { value, frequency });
            gain_only = true;
            Kernel::Unity
        }
        Filter::GainOnly => {
            if stage.gain.is_none() {
                return Err(EvalError::Stage(n, "no filter and no gain".into()));
            }
            gain_only = true;
            Kernel::Unity
        }
    };
    Ok(Prepared {
        kernel,
        gains,
        gain_only,
        pz_frequency,
    })
}

/// ObsPy's scale for chains stated in cm, mm or nm (per second, per second squared).
fn unit_scale(units: Option<&Units>) -> f64 {
    let name = units
        .map(|u| u.name.trim().to_ascii_uppercase())
        .unwrap_or_default();
    match name.as_str() {
        "CM/S**2" | "CM/S" | "CM/SEC" | "CM" => 1e2,
        "MM/S**2" | "MM/S" | "MM/SEC" | "MM" => 1e3,
        "NM/S**2" | "NM/S" | "NM/SEC" | "NM" => 1e9,
        _ => 1.0,
    }
}

/// evalresp's `check_sym`: normalise taps that do not sum to 1 (within 2 %), and evaluate
/// symmetric taps as a symmetric filter.
fn fir_asym(stage: &Stage, mut taps: Vec<f64>) -> Result<Kernel, EvalError> {
    let dt = interval(stage)?;
    let sum: f64 = taps.iter().sum();
    if !taps.is_empty() && !(0.98..=1.02).contains(&sum) {
        for t in &mut taps {
            *t /= sum;
        }
    }
    let n = taps.len();
    if n % 2 == 0 {
        let h = n / 2;
        if (0..h).all(|k| taps[h + k] == taps[h - k - 1]) {
            taps.truncate(h);
            return Ok(Kernel::FirEven {
                h0: 1.0,
                half: taps,
                dt,
            });
        }
    } else {
        let h = (n - 1) / 2;
        if (1..n - h).all(|k| taps[h + k] == taps[h - k]) {
            taps.truncate(n - h);
            return Ok(Kernel::FirOdd {
                h0: 1.0,
                half: taps,
                dt,
            });
        }
    }
    Ok(Kernel::FirAsym {
        h0: 1.0,
        taps,
        dt,
        shift: stage.decimation.map_or(0.0, |d| d.correction),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::response::{Decimation, Sensitivity};

    fn units(n: &str) -> Option<Units> {
        Some(Units {
            name: n.into(),
            description: None,
        })
    }

    fn sts2() -> Response {
        Response {
            sensitivity: Some(Sensitivity {
                value: 1500.0 * 400_000.0,
                frequency: Some(1.0),
                input_units: units("m/s"),
                output_units: units("counts"),
            }),
            stages: vec![
                Stage {
                    number: 1,
                    filter: Filter::PolesZeros {
                        transfer: PzTransfer::LaplaceRadians,
                        normalization_factor: 1.0,
                        normalization_frequency: 0.5,
                        zeros: vec![C64::new(0.0, 0.0); 2],
                        poles: vec![C64::new(-0.037, 0.037), C64::new(-0.037, -0.037)],
                    },
                    input_units: units("m/s"),
                    output_units: units("V"),
                    gain: Some(Gain {
                        value: 1500.0,
                        frequency: 1.0,
                    }),
                    decimation: None,
                },
                Stage {
                    number: 2,
                    filter: Filter::Coefficients {
                        transfer: "DIGITAL".into(),
                        numerator: vec![],
                        denominator: vec![],
                    },
                    input_units: units("V"),
                    output_units: units("counts"),
                    gain: Some(Gain {
                        value: 400_000.0,
                        frequency: 1.0,
                    }),
                    decimation: Some(Decimation {
                        input_sample_rate: 100.0,
                        factor: 1,
                        offset: 0,
                        delay: 0.0,
                        correction: 0.0,
                    }),
                },
            ],
        }
    }

    #[test]
    fn normalisation_is_restated_at_the_sensitivity_frequency() {
        // A0 = 1 stated at 0.5 Hz, not at the sensitivity's 1 Hz: evalresp re-derives it there,
        // so |H(1 Hz)| is the gain product.
        let e = Evaluator::new(&sts2()).unwrap();
        let h = e.at(1.0, Output::Velocity);
        assert!((h.norm() / 6.0e8 - 1.0).abs() < 1e-12, "{h}");
        // Displacement: times iω.
        let d = e.at(1.0, Output::Displacement);
        assert!((d / h - C64::new(0.0, 2.0 * PI)).norm() < 1e-12);
        // Flat velocity response above the corner.
        assert!((e.at(10.0, Output::Velocity).norm() / 6.0e8 - 1.0).abs() < 1e-4);
    }

    #[test]
    fn symmetric_taps_are_zero_phase_and_asymmetric_ones_are_shifted() {
        let stage = |taps: Vec<f64>, correction: f64| Stage {
            number: 1,
            filter: Filter::Fir {
                symmetry: Symmetry::None,
                coefficients: taps,
            },
            input_units: units("counts"),
            output_units: units("counts"),
            gain: Some(Gain {
                value: 1.0,
                frequency: 0.0,
            }),
            decimation: Some(Decimation {
                input_sample_rate: 10.0,
                factor: 1,
                offset: 0,
                delay: 0.0,
                correction,
            }),
        };
        let sym = fir_asym(&stage(vec![0.25, 0.5, 0.25], 0.0), vec![0.25, 0.5, 0.25]).unwrap();
        assert!(matches!(sym, Kernel::FirOdd { .. }));
        assert!(sym.at(1.3).im == 0.0);
        // Two taps of 0.6 sum to 1.2: normalised to 0.5 each, symmetric.
        let pair = fir_asym(&stage(vec![0.6, 0.6], 0.0), vec![0.6, 0.6]).unwrap();
        assert!((pair.at(0.0).re - 1.0).abs() < 1e-15);
        // A pure delay of one sample undone by a correction of one sample: unity.
        let delayed = fir_asym(&stage(vec![0.0, 1.0], 0.1), vec![0.0, 1.0]).unwrap();
        let v = delayed.at(2.0);
        assert!((v - C64::new(1.0, 0.0)).norm() < 1e-12, "{v}");
    }

    #[test]
    fn units_that_do_not_join_are_refused() {
        let mut r = sts2();
        r.stages[1].input_units = units("Pa");
        let e = Evaluator::new(&r).unwrap_err();
        assert!(e.to_string().contains("stage 2"), "{e}");
    }
}
