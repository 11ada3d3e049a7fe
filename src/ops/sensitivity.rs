//! `remove_sensitivity`: counts to physical units with each channel's overall sensitivity
//! (ObsPy's `Trace.remove_sensitivity`: divide by the stated value), from the station
//! metadata epoch that covers the samples.
//!
//! Stateless and exact per sample, so it streams without windows. A block that crosses the
//! end of an epoch is divided piecewise, each part by its own epoch. The values are
//! physical only near the sensitivity's frequency (the passband): for the full response, use
//! `remove_response`.
//!
//! What cannot be converted is said, never guessed: a one-channel block without metadata
//! (no epoch, no sensitivity, a sensitivity whose output is not counts) flows on unchanged,
//! in counts, with a warning per channel and epoch and a `no_metadata` event; in a block of
//! several channels such a row becomes NaN, as does a row whose units differ from the
//! block's, since one array has one unit.

use serde::Deserialize;

use super::epochs::Epochs;
use super::{Operator, Output};
use crate::metadata::ChannelEpoch;
use crate::model::{first_at_or_after, Chunk, Iso, SourceId};
use crate::pipeline::component::{BuildContext, Component, KeyError, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Flow, Need};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveSensitivityConfig {}

impl StageType for RemoveSensitivityConfig {
    const NAME: &'static str = "remove_sensitivity";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "counts to physical units (m/s, m/s**2, Pa) by each channel's sensitivity from [metadata]";
}

impl Component for RemoveSensitivityConfig {
    fn check(&self, _: &str) -> Result<(), KeyError> {
        Ok(())
    }

    fn memory(&self, input: &Flow) -> Need {
        Need::new(
            0,
            "no state: each block divided as it passes".to_string(),
            *input,
        )
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        let epochs = Epochs::for_stage(ctx, "remove_sensitivity")?;
        Work::operator(Ok(Box::new(RemoveSensitivity { epochs })))
    }
}

pub struct RemoveSensitivity {
    epochs: Epochs,
}

/// The factor and the units for one channel over `[from, ...)`, and the index where its
/// epoch ends inside the block (`n` when it does not).
struct Part {
    divisor: f64,
    units: String,
    end: usize,
}

impl RemoveSensitivity {
    pub fn new(epochs: Epochs) -> Self {
        RemoveSensitivity { epochs }
    }

    /// The epoch's sensitivity for the samples from index `i` of `chunk`.
    fn part(&mut self, chunk: &Chunk, id: &SourceId, i: usize) -> Option<Part> {
        let t = chunk.time_of(i as i64);
        let cat = self.epochs.current();
        let epoch = self.epochs.at(&cat, id, t)?;
        let (divisor, units) = match sensitivity(epoch) {
            Ok(x) => x,
            Err(why) => {
                let msg = format!("{} epoch {}: {why}: left in counts", epoch.id, epoch.span());
                self.epochs.note(id.as_str(), epoch.start, msg);
                return None;
            }
        };
        let n = chunk.n_samples();
        let end = match epoch.end {
            Some(e) => first_at_or_after(chunk.start, chunk.rate.hz(), e, n),
            None => n,
        };
        Some(Part {
            divisor,
            units,
            end: end.max(i + 1),
        })
    }
}

/// Counts per unit and the physical units of an epoch's overall sensitivity.
fn sensitivity(e: &ChannelEpoch) -> Result<(f64, String), String> {
    let s = e
        .response
        .as_ref()
        .and_then(|r| r.sensitivity.as_ref())
        .ok_or("no InstrumentSensitivity")?;
    if !(s.value.is_finite() && s.value != 0.0) {
        return Err(format!("sensitivity {} cannot divide", s.value));
    }
    let input = s
        .input_units
        .as_ref()
        .ok_or("the sensitivity has no input units")?;
    if let Some(out) = &s.output_units {
        if !is_counts(&out.name) {
            return Err(format!(
                "the sensitivity's output is {:?}, not counts: units that do not match",
                out.name
            ));
        }
    }
    Ok((s.value, physical(&input.name)))
}

fn is_counts(u: &str) -> bool {
    matches!(
        u.to_ascii_lowercase().as_str(),
        "counts" | "count" | "cts" | "digital counts"
    )
}

/// SEED writes units in capitals (`M/S`, `M/S**2`, `PA`); products use SI spellings.
pub fn physical(u: &str) -> String {
    match u.to_ascii_uppercase().as_str() {
        "PA" => "Pa".into(),
        "HPA" => "hPa".into(),
        "V" | "VOLTS" => "V".into(),
        "C" | "DEGC" => "degC".into(),
        _ if u.chars().any(|c| c.is_ascii_lowercase()) => u.into(),
        _ => u.to_ascii_lowercase(),
    }
}

impl Operator for RemoveSensitivity {
    fn process(&mut self, mut chunk: Chunk, out: &mut Output) {
        let n = chunk.n_samples();
        let rows = chunk.n_channels();
        let mut units: Option<String> = None;
        let mut unconverted: Vec<usize> = Vec::new();
        for c in 0..rows {
            let id = chunk.channels[c].source_id.clone();
            let mut i = 0;
            let mut ok = true;
            let mut parts = Vec::new();
            while i < n {
                match self.part(&chunk, &id, i) {
                    Some(p) => {
                        if units.get_or_insert_with(|| p.units.clone()) != &p.units {
                            tracing::warn!(channel = %id, units = %p.units,
                                block_units = units.as_deref().unwrap_or(""),
                                start = %Iso(chunk.start),
                                "units differ from the block's other channels: NaN");
                            ok = false;
                            break;
                        }
                        let end = p.end.min(n);
                        parts.push((i, end, p.divisor));
                        i = end;
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                unconverted.push(c);
                continue;
            }
            let mut row = chunk.data.row_mut(c);
            let x = row.as_slice_mut().expect("a block's rows are contiguous");
            for (a, b, d) in parts {
                let inv = 1.0 / d;
                for v in &mut x[a..b] {
                    *v = (*v as f64 * inv) as f32;
                }
            }
        }
        if !unconverted.is_empty() {
            if unconverted.len() == rows {
                // Nothing converted: the block flows on as it came, in counts.
                out.chunks.push(chunk);
                return;
            }
            for c in unconverted {
                chunk.data.row_mut(c).fill(f32::NAN);
            }
        }
        chunk.units = units;
        out.chunks.push(chunk);
    }

    fn flush(&mut self, _: &mut Output) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::response::{Response, Sensitivity, Units};
    use crate::metadata::Catalogue;
    use crate::model::{ChannelMeta, Nanos, SampleRate, SeedId};
    use ndarray::Array2;

    const S: Nanos = 1_000_000_000;

    fn epoch(sta: &str, start: Nanos, end: Option<Nanos>, value: f64, units: &str) -> ChannelEpoch {
        let u = |n: &str| {
            Some(Units {
                name: n.into(),
                description: None,
            })
        };
        ChannelEpoch {
            id: SeedId::new("XX", sta, "", "HHZ"),
            start,
            end,
            latitude: None,
            longitude: None,
            elevation: None,
            depth: None,
            azimuth: None,
            dip: None,
            sample_rate: None,
            sensor: None,
            site: None,
            response: Some(Response {
                sensitivity: Some(Sensitivity {
                    value,
                    frequency: Some(1.0),
                    input_units: u(units),
                    output_units: u("COUNTS"),
                }),
                stages: Vec::new(),
            }),
            origin: "test".into(),
        }
    }

    fn block(stations: &[&str], start: Nanos) -> Chunk {
        Chunk {
            stream: "b".into(),
            start,
            rate: SampleRate(1.0),
            channels: stations
                .iter()
                .map(|s| ChannelMeta {
                    source_id: SeedId::new("XX", s, "", "HHZ").to_source_id(),
                    distance_m: None,
                })
                .collect(),
            data: Array2::from_elem((stations.len(), 10), 8.0),
            das: None,
            units: None,
        }
    }

    fn op() -> RemoveSensitivity {
        let t1 = 100 * S;
        let cat = Catalogue::new(
            vec![
                epoch("A", 0, Some(t1), 2.0, "M/S"),
                epoch("A", t1, None, 4.0, "M/S"),
                epoch("B", 0, None, 10.0, "PA"),
            ],
            Vec::new(),
        );
        RemoveSensitivity::new(Epochs::new(crate::metadata::live::Live::fixed(cat), None))
    }

    #[test]
    fn divides_epoch_by_epoch_and_names_the_units() {
        let mut out = Output::default();
        op().process(block(&["A", "B", "C"], 95 * S), &mut out);
        let c = &out.chunks[0];
        assert_eq!(c.units.as_deref(), Some("m/s"));
        let a: Vec<f32> = c.data.row(0).to_vec();
        assert_eq!(
            &a[..5],
            &[4.0; 5],
            "the first epoch's sensitivity before its end"
        );
        assert_eq!(&a[5..], &[2.0; 5], "the next epoch's after");
        assert!(c.data.row(1).iter().all(|v| v.is_nan()), "Pa among m/s");
        assert!(c.data.row(2).iter().all(|v| v.is_nan()), "no metadata");
    }

    #[test]
    fn a_channel_without_metadata_flows_on_in_counts() {
        let mut out = Output::default();
        op().process(block(&["C"], 0), &mut out);
        assert_eq!(out.chunks[0].units, None);
        assert!(out.chunks[0].data.iter().all(|&v| v == 8.0));
        let mut out = Output::default();
        op().process(block(&["B"], 0), &mut out);
        assert_eq!(out.chunks[0].units.as_deref(), Some("Pa"));
        assert!(out.chunks[0].data.iter().all(|&v| v == 0.8));
    }
}
