//! FDSN DAS metadata a block of fibre channels carries from the reader to its sinks, so that
//! what an interrogator recorded (gauge length, spacing, units and how to convert them) is
//! written next to the samples, not lost at the first stage.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DasMeta {
    /// The file layout read (`PRODML`, `febus`, `OptoDAS`, `TERRA15`, ...) and its version.
    pub format: String,
    pub format_version: String,
    /// raw, phase, phase_rate, strain, strain_rate, velocity, unknown.
    pub quantity: String,
    /// Units of the values as stored by the interrogator.
    pub units: String,
    /// `physical = stored × scale_factor`, when the format gives the factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_factor: Option<f64>,
    pub physical_units: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gauge_length_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spatial_sampling_interval_m: Option<f64>,
    /// Interrogator model, serial number or host, as the file names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrogator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulse_rate_hz: Option<f64>,
}
