//! Station metadata: a catalogue of channel epochs read from StationXML (files, folders or an
//! FDSN station query), looked up by channel and time, and instrument responses evaluated as
//! ObsPy evaluates them.
//!
//! A channel's metadata for some data is the epoch that covers the data's time; a channel
//! without one is an answer ([`Missing`]) that names the channel and the time, so that the
//! data can flow on marked as having no metadata.

pub mod deconvolve;
pub mod evaluate;
pub mod fetch;
pub mod live;
pub mod response;
pub mod stationxml;
pub mod table;

use std::collections::HashMap;

use crate::model::ids::SeedId;
use crate::model::time::{Iso, Nanos};
use response::Response;

/// One epoch of one channel, as the station service states it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelEpoch {
    pub id: SeedId,
    pub start: Nanos,
    /// `None`: open (still operating).
    pub end: Option<Nanos>,
    /// Degrees; the station's where the channel omits them.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Metres above sea level.
    pub elevation: Option<f64>,
    /// Metres below the surface.
    pub depth: Option<f64>,
    pub azimuth: Option<f64>,
    pub dip: Option<f64>,
    pub sample_rate: Option<f64>,
    pub sensor: Option<String>,
    pub site: Option<String>,
    pub response: Option<Response>,
    /// The file or URL it came from.
    pub origin: String,
}

impl ChannelEpoch {
    /// Whether the epoch covers `t` (start inclusive, end exclusive).
    pub fn covers(&self, t: Nanos) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }

    /// `2010-01-01T00:00:00.000000Z – open` for messages.
    pub fn span(&self) -> String {
        match self.end {
            Some(e) => format!("{} – {}", Iso(self.start), Iso(e)),
            None => format!("{} – open", Iso(self.start)),
        }
    }
}

/// Why a channel has no metadata at a time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Missing {
    /// The channel (NET.STA.LOC.CHA) is not in the catalogue.
    #[error("no metadata for channel {0}")]
    Channel(String),
    #[error("no epoch of channel {id} covers {}; its epochs: {epochs}", Iso(*.at))]
    Epoch {
        id: String,
        at: Nanos,
        epochs: String,
    },
}

/// All the channel epochs of some StationXML sources, indexed by channel.
#[derive(Debug, Default, Clone)]
pub struct Catalogue {
    epochs: Vec<ChannelEpoch>,
    by_id: HashMap<SeedId, Vec<usize>>,
    /// What was left out or doubtful, each naming its source, channel and epoch.
    pub problems: Vec<String>,
}

impl Catalogue {
    /// A catalogue of these epochs; overlapping epochs of one channel are noted as problems
    /// (the later-starting one answers for the overlap).
    pub fn new(mut epochs: Vec<ChannelEpoch>, mut problems: Vec<String>) -> Self {
        epochs.sort_by(|a, b| a.id.cmp(&b.id).then(a.start.cmp(&b.start)));
        epochs.dedup_by(|b, a| a == b);
        let mut by_id: HashMap<SeedId, Vec<usize>> = HashMap::new();
        for (i, e) in epochs.iter().enumerate() {
            let list = by_id.entry(e.id.clone()).or_default();
            if let Some(&prev) = list.last() {
                let p: &ChannelEpoch = &epochs[prev];
                if p.end.is_none_or(|end| end > e.start) {
                    problems.push(format!(
                        "channel {}: epochs {} ({}) and {} ({}) overlap; the later one is used where they do",
                        e.id,
                        p.span(),
                        p.origin,
                        e.span(),
                        e.origin
                    ));
                }
            }
            list.push(i);
        }
        Catalogue {
            epochs,
            by_id,
            problems,
        }
    }

    /// Every epoch, sorted by channel and start.
    pub fn epochs(&self) -> &[ChannelEpoch] {
        &self.epochs
    }

    /// Number of distinct channels.
    pub fn channels(&self) -> usize {
        self.by_id.len()
    }

    /// The epoch of `id` that covers `t`.
    pub fn at(&self, id: &SeedId, t: Nanos) -> Result<&ChannelEpoch, Missing> {
        let list = self
            .by_id
            .get(id)
            .ok_or_else(|| Missing::Channel(id.to_string()))?;
        list.iter()
            .rev()
            .map(|&i| &self.epochs[i])
            .find(|e| e.covers(t))
            .ok_or_else(|| Missing::Epoch {
                id: id.to_string(),
                at: t,
                epochs: list
                    .iter()
                    .map(|&i| self.epochs[i].span())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(start: Nanos, end: Option<Nanos>) -> ChannelEpoch {
        ChannelEpoch {
            id: SeedId::new("FR", "CIEL", "00", "HHZ"),
            start,
            end,
            latitude: Some(44.0),
            longitude: Some(5.0),
            elevation: None,
            depth: None,
            azimuth: None,
            dip: None,
            sample_rate: Some(100.0),
            sensor: None,
            site: None,
            response: None,
            origin: "a.xml".into(),
        }
    }

    #[test]
    fn the_epoch_covering_the_time_answers() {
        let c = Catalogue::new(vec![epoch(100, None), epoch(0, Some(100))], vec![]);
        let id = SeedId::new("FR", "CIEL", "00", "HHZ");
        assert_eq!(c.at(&id, 50).unwrap().start, 0);
        assert_eq!(c.at(&id, 100).unwrap().start, 100);
        assert!(c.problems.is_empty());
        let e = c.at(&id, -5).unwrap_err().to_string();
        assert!(
            e.contains("no epoch of channel FR.CIEL.00.HHZ covers 1969-12-31T23:59:59"),
            "{e}"
        );
        let other = SeedId::new("FR", "CIEL", "00", "HHN");
        assert_eq!(
            c.at(&other, 0).unwrap_err(),
            Missing::Channel(other.to_string())
        );
    }

    #[test]
    fn overlapping_epochs_are_noted() {
        let c = Catalogue::new(vec![epoch(0, None), epoch(100, None)], vec![]);
        assert_eq!(c.problems.len(), 1);
        assert!(c.problems[0].contains("overlap"));
    }
}
