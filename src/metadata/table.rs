//! The catalogue as people read it (`seisreduce stations`): a table, or JSON.

use std::fmt::Write;

use serde_json::{json, Value};

use num_complex::Complex;

use super::evaluate::{fft_frequencies, Evaluator, Output};
use super::{Catalogue, ChannelEpoch};
use crate::model::time::Iso;

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x}"))
}

/// One line per channel epoch, then the problems.
pub fn text(c: &Catalogue) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<27} {:<27} {:>10} {:>11} {:>7} {:>6} {:>5} {:>5} {:>8} {:>12} {:>7} {:<14} STAGES",
        "CHANNEL", "START", "END", "LAT", "LON", "ELEV", "DEPTH", "AZ", "DIP", "RATE", "SENSITIVITY", "AT Hz", "UNITS"
    );
    for e in c.epochs() {
        let (sens, freq, units, stages) = match &e.response {
            Some(r) => {
                let (v, f, u) = match &r.sensitivity {
                    Some(s) => (
                        format!("{:.6e}", s.value),
                        opt(s.frequency),
                        format!(
                            "{}>{}",
                            s.input_units.as_ref().map_or("?", |u| u.name.as_str()),
                            s.output_units.as_ref().map_or("?", |u| u.name.as_str())
                        ),
                    ),
                    None => ("-".into(), "-".into(), "-".into()),
                };
                (v, f, u, r.stage_summary())
            }
            None => ("-".into(), "-".into(), "-".into(), "no response".into()),
        };
        let _ = writeln!(
            out,
            "{:<18} {:<27} {:<27} {:>10} {:>11} {:>7} {:>6} {:>5} {:>5} {:>8} {:>12} {:>7} {:<14} {}",
            e.id.to_string(),
            Iso(e.start).to_string(),
            e.end.map_or_else(|| "open".into(), |t| Iso(t).to_string()),
            opt(e.latitude),
            opt(e.longitude),
            opt(e.elevation),
            opt(e.depth),
            opt(e.azimuth),
            opt(e.dip),
            opt(e.sample_rate),
            sens,
            freq,
            units,
            stages
        );
    }
    let _ = writeln!(
        out,
        "{} channel epochs of {} channels",
        c.epochs().len(),
        c.channels()
    );
    for p in &c.problems {
        let _ = writeln!(out, "problem: {p}");
    }
    out
}

fn epoch_json(e: &ChannelEpoch) -> Value {
    json!({
        "id": e.id.to_string(),
        "source_id": e.id.to_source_id().as_str(),
        "start": Iso(e.start).to_string(),
        "end": e.end.map(|t| Iso(t).to_string()),
        "latitude": e.latitude,
        "longitude": e.longitude,
        "elevation": e.elevation,
        "depth": e.depth,
        "azimuth": e.azimuth,
        "dip": e.dip,
        "sample_rate": e.sample_rate,
        "sensor": e.sensor,
        "site": e.site,
        "response": e.response,
        "origin": e.origin,
    })
}

/// `{"channels": [...], "problems": [...]}`.
pub fn json(c: &Catalogue) -> Value {
    json!({
        "channels": c.epochs().iter().map(epoch_json).collect::<Vec<_>>(),
        "problems": c.problems,
    })
}

/// A response evaluated on an FFT grid (`seisreduce response`).
pub struct Grid {
    pub channel: String,
    pub epoch: String,
    pub output: Output,
    pub frequencies: Vec<f64>,
    pub values: Vec<Complex<f64>>,
}

/// The epoch's response on the grid of `nfft` points at `t_samp` (default: its rate).
pub fn response_grid(
    e: &ChannelEpoch,
    output: Output,
    nfft: usize,
    t_samp: Option<f64>,
) -> Result<Grid, String> {
    let name = format!("channel {} epoch {}", e.id, e.span());
    let response = e
        .response
        .as_ref()
        .ok_or_else(|| format!("{name}: no response in {}", e.origin))?;
    let t = match (t_samp, e.sample_rate) {
        (Some(t), _) => t,
        (None, Some(r)) if r > 0.0 => 1.0 / r,
        _ => return Err(format!("{name}: no sample rate; give --t-samp")),
    };
    let ev = Evaluator::new(response).map_err(|err| format!("{name}: {err}"))?;
    let frequencies = fft_frequencies(t, nfft);
    let values = ev.on(&frequencies, output);
    Ok(Grid {
        channel: e.id.to_string(),
        epoch: e.span(),
        output,
        frequencies,
        values,
    })
}

impl Grid {
    pub fn json(&self) -> Value {
        json!({
            "channel": self.channel,
            "epoch": self.epoch,
            "output": format!("{:?}", self.output),
            "frequency": self.frequencies,
            "real": self.values.iter().map(|v| v.re).collect::<Vec<_>>(),
            "imag": self.values.iter().map(|v| v.im).collect::<Vec<_>>(),
        })
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "# {} {} ({:?})\n# frequency_hz amplitude phase_deg\n",
            self.channel, self.epoch, self.output
        );
        for (f, v) in self.frequencies.iter().zip(&self.values) {
            let _ = writeln!(out, "{f:.6e} {:.6e} {:.4}", v.norm(), v.arg().to_degrees());
        }
        out
    }
}
