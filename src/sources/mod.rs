//! Sources: where data enters a pipeline. Each runs on its own thread and pushes into its
//! [`Emitter`](crate::pipeline::emit::Emitter); a full bus blocks it (backpressure), and it
//! stops reading when the pipeline is asked to stop.

pub mod das;
pub mod das_stream;
pub mod fdsnws;
pub mod files;
pub mod seedlink;

use crate::model::{parse_iso, ChannelMeta, Nanos, SeedId};

/// Serde defaults the network sources share (seconds).
pub(crate) mod defaults {
    pub fn one() -> f64 {
        1.0
    }
    pub fn ten() -> f64 {
        10.0
    }
    pub fn sixty() -> f64 {
        60.0
    }
}
use crate::pipeline::component::KeyError;

/// The keys that name a fibre's channels (`network`, `channel`), as FDSN allows them.
pub fn check_fibre_naming(network: &str, channel: &str) -> Result<(), KeyError> {
    let bad = |k: &str, m: &str| Err((Some(k.to_string()), m.to_string()));
    if network.is_empty() || network.len() > 8 {
        return bad(
            "network",
            "must be an FDSN network code (1 to 8 characters)",
        );
    }
    if channel.len() != 3 {
        return bad(
            "channel",
            "must be a 3-character SEED channel code, e.g. HSF",
        );
    }
    Ok(())
}

/// A fibre's channels: station code = index along the fibre (`00042`, as GEOFON names its
/// DAS channels), each with its position when the source knows one.
pub fn fibre_channels(
    network: &str,
    location: &str,
    channel: &str,
    positions: impl Iterator<Item = Option<f64>>,
) -> Vec<ChannelMeta> {
    positions
        .enumerate()
        .map(|(i, distance_m)| ChannelMeta {
            source_id: SeedId::new(network, &format!("{i:05}"), location, channel).to_source_id(),
            distance_m,
        })
        .collect()
}

/// `2024-03-01` or `2024-03-01T12:00:00[.fff][Z]`.
pub fn parse_time(s: &str) -> Option<Nanos> {
    if s.contains('T') {
        parse_iso(s)
    } else {
        parse_iso(&format!("{s}T00:00:00"))
    }
}

/// Sleeps until `deadline`, waking every 100 ms to see whether to stop; returns false if so.
pub fn sleep_until(deadline: std::time::Instant, stop: impl Fn() -> bool) -> bool {
    loop {
        if stop() {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(std::time::Duration::from_millis(100)));
    }
}
