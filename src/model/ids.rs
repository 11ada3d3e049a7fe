//! Stream identifiers: SEED codes (`NET.STA.LOC.CHA`) and FDSN source ids
//! (`FDSN:NET_STA_LOC_B_S_SS`), converted both ways.
//!
//! miniSEED 2 records carry the four SEED codes; miniSEED 3 records carry a source id. A stream
//! is keyed by its source id everywhere in the pipeline (Kafka message keys, Zarr channel
//! coordinates), and the SEED form is what seismologists type and what ObsPy prints.

use std::fmt;

/// The four SEED codes of a channel. Codes are stored trimmed of padding spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SeedId {
    pub network: String,
    pub station: String,
    pub location: String,
    pub channel: String,
}

/// An FDSN source identifier, stored in its canonical text form `FDSN:...`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("source id {0:?} does not start with \"FDSN:\"")]
    NotFdsn(String),
    #[error("source id {0:?} needs NET_STA_LOC_B_S_SS (or NET_STA_LOC_CHA) after \"FDSN:\"")]
    BadShape(String),
    #[error("SEED id {0:?} needs four dot-separated codes NET.STA.LOC.CHA")]
    BadSeed(String),
}

impl SeedId {
    pub fn new(network: &str, station: &str, location: &str, channel: &str) -> Self {
        SeedId {
            network: network.trim().to_string(),
            station: station.trim().to_string(),
            location: location.trim().to_string(),
            channel: channel.trim().to_string(),
        }
    }

    /// Parses `NET.STA.LOC.CHA` (empty codes allowed, as in `XX.TEST..BHZ`).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('.').collect();
        match parts.as_slice() {
            [n, s_, l, c] => Ok(SeedId::new(n, s_, l, c)),
            _ => Err(IdError::BadSeed(s.to_string())),
        }
    }

    /// The FDSN source id: a three-character channel becomes `B_S_SS`.
    pub fn to_source_id(&self) -> SourceId {
        SourceId::from_codes(&self.network, &self.station, &self.location, &self.channel)
    }
}

impl fmt::Display for SeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}.{}",
            self.network, self.station, self.location, self.channel
        )
    }
}

impl SourceId {
    /// Builds `FDSN:NET_STA_LOC_B_S_SS` from (already trimmed) SEED codes with one allocation:
    /// this runs once per miniSEED 2 record, so it is on the decoding hot path.
    pub fn from_codes(network: &str, station: &str, location: &str, channel: &str) -> Self {
        let mut s = String::with_capacity(5 + network.len() + station.len() + location.len() + 8);
        s.push_str("FDSN:");
        for part in [network, station, location] {
            s.push_str(part);
            s.push('_');
        }
        let mut chars = channel.chars();
        match (chars.next(), chars.next(), chars.next(), chars.next()) {
            (Some(b), Some(src), Some(sub), None) => {
                s.push(b);
                s.push('_');
                s.push(src);
                s.push('_');
                s.push(sub);
            }
            _ => s.push_str(channel),
        }
        SourceId(s)
    }

    /// Parses and validates an `FDSN:` source id.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let id = SourceId(s.to_string());
        id.to_seed()?;
        Ok(id)
    }

    /// Wraps text read from a record without validating it, so that an unusual id in a
    /// record is carried through rather than dropping the record.
    pub fn from_raw(s: String) -> Self {
        SourceId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SEED codes: `B_S_SS` with one-character band and source and a one-character
    /// subsource collapses to a three-character channel; anything else is kept joined by `_`.
    pub fn to_seed(&self) -> Result<SeedId, IdError> {
        let rest = self
            .0
            .strip_prefix("FDSN:")
            .ok_or_else(|| IdError::NotFdsn(self.0.clone()))?;
        let parts: Vec<&str> = rest.split('_').collect();
        match parts.as_slice() {
            [n, s, l, b, src, sub] => {
                let chan = if b.chars().count() == 1
                    && src.chars().count() == 1
                    && sub.chars().count() == 1
                {
                    format!("{b}{src}{sub}")
                } else {
                    format!("{b}_{src}_{sub}")
                };
                Ok(SeedId::new(n, s, l, &chan))
            }
            [n, s, l, c] => Ok(SeedId::new(n, s, l, c)),
            _ => Err(IdError::BadShape(self.0.clone())),
        }
    }

    /// SEED text `NET.STA.LOC.CHA`, or the source id itself when it is not convertible.
    pub fn seed_text(&self) -> String {
        self.to_seed()
            .map(|s| s.to_string())
            .unwrap_or_else(|_| self.0.clone())
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_to_fdsn_and_back() {
        let s = SeedId::parse("XX.TEST..BHZ").unwrap();
        let sid = s.to_source_id();
        assert_eq!(sid.as_str(), "FDSN:XX_TEST__B_H_Z");
        assert_eq!(sid.to_seed().unwrap(), s);
        assert_eq!(sid.seed_text(), "XX.TEST..BHZ");
    }

    #[test]
    fn unusual_channels_survive() {
        let s = SeedId::new("XX", "TEST", "00", "LOG0");
        let sid = s.to_source_id();
        assert_eq!(sid.as_str(), "FDSN:XX_TEST_00_LOG0");
        assert_eq!(sid.to_seed().unwrap(), s);
        let long = SourceId::parse("FDSN:XX_TEST_00_H_HZ_1").unwrap();
        assert_eq!(long.to_seed().unwrap().channel, "H_HZ_1");
        let empty = SeedId::default().to_source_id();
        assert_eq!(empty.seed_text(), "...");
    }

    #[test]
    fn bad_ids_are_errors() {
        assert!(SourceId::parse("XX_TEST").is_err());
        assert!(SourceId::parse("FDSN:XX_TEST").is_err());
        assert!(SeedId::parse("XX.TEST.BHZ").is_err());
    }
}
