//! An instrument response as StationXML states it: the overall sensitivity and the stages
//! (poles and zeros, coefficients, FIR, response lists, polynomials), each with its gain and
//! decimation. Evaluation is in `evaluate.rs`; this is only the data.

use num_complex::Complex;
use serde::Serialize;

/// Units as StationXML names them (`m/s`, `counts`, `Pa`), with the description when given.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Units {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The overall sensitivity: counts per physical unit at one frequency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    pub value: f64,
    /// Hz; `None` where the file does not say (evalresp then uses 0 Hz).
    pub frequency: Option<f64>,
    pub input_units: Option<Units>,
    pub output_units: Option<Units>,
}

/// A stage's gain at a frequency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gain {
    pub value: f64,
    pub frequency: f64,
}

/// A stage's decimation: the digital stages run at `input_sample_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decimation {
    pub input_sample_rate: f64,
    pub factor: u32,
    pub offset: u32,
    /// Estimated delay, seconds.
    pub delay: f64,
    /// Correction applied to the sample times, seconds.
    pub correction: f64,
}

/// How a poles-and-zeros stage is stated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PzTransfer {
    /// `LAPLACE (RADIANS/SECOND)`: s = i·2πf.
    LaplaceRadians,
    /// `LAPLACE (HERTZ)`: s = i·f (poles and zeros in Hz).
    LaplaceHertz,
    /// `DIGITAL (Z-TRANSFORM)`: z = exp(i·2πf/fs).
    Digital,
}

/// FIR symmetry: `Odd` and `Even` list only the first half of the coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Symmetry {
    None,
    Odd,
    Even,
}

/// One point of a response list: amplitude and phase (degrees) at a frequency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ListPoint {
    pub frequency: f64,
    pub amplitude: f64,
    pub phase_degrees: f64,
}

/// What a stage does to the signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Filter {
    PolesZeros {
        transfer: PzTransfer,
        normalization_factor: f64,
        normalization_frequency: f64,
        #[serde(serialize_with = "complex_list")]
        zeros: Vec<Complex<f64>>,
        #[serde(serialize_with = "complex_list")]
        poles: Vec<Complex<f64>>,
    },
    Coefficients {
        /// `ANALOG (RADIANS/SECOND)`, `ANALOG (HERTZ)` or `DIGITAL`, as written.
        transfer: String,
        numerator: Vec<f64>,
        denominator: Vec<f64>,
    },
    Fir {
        symmetry: Symmetry,
        coefficients: Vec<f64>,
    },
    List {
        points: Vec<ListPoint>,
    },
    Polynomial {
        approximation: String,
        /// The frequency band the polynomial holds in (Hz).
        frequency_lower: f64,
        frequency_upper: f64,
        coefficients: Vec<f64>,
    },
    /// A stage with a gain and nothing else.
    GainOnly,
}

fn complex_list<S: serde::Serializer>(v: &[Complex<f64>], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for c in v {
        seq.serialize_element(&[c.re, c.im])?;
    }
    seq.end()
}

/// One stage of the chain from ground motion to counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// The stage sequence number (1 is the sensor).
    pub number: u32,
    pub filter: Filter,
    pub input_units: Option<Units>,
    pub output_units: Option<Units>,
    pub gain: Option<Gain>,
    pub decimation: Option<Decimation>,
}

/// A channel's response.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Response {
    pub sensitivity: Option<Sensitivity>,
    pub stages: Vec<Stage>,
}

impl Response {
    /// The input units of the whole chain: the sensitivity's, else the first stage's.
    pub fn input_units(&self) -> Option<&Units> {
        self.sensitivity
            .as_ref()
            .and_then(|s| s.input_units.as_ref())
            .or_else(|| self.stages.first().and_then(|s| s.input_units.as_ref()))
    }

    /// The stage types in order, e.g. `PZ FIR FIR FIR` (for tables).
    pub fn stage_summary(&self) -> String {
        self.stages
            .iter()
            .map(|s| match &s.filter {
                Filter::PolesZeros { .. } => "PZ",
                Filter::Coefficients { denominator, .. } if denominator.is_empty() => "COEF",
                Filter::Coefficients { .. } => "IIR",
                Filter::Fir { .. } => "FIR",
                Filter::List { .. } => "LIST",
                Filter::Polynomial { .. } => "POLY",
                Filter::GainOnly => "GAIN",
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}
