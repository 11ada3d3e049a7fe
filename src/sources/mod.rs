//! Sources: where data enters a pipeline. Each runs on its own thread and pushes into its
//! [`Emitter`](crate::pipeline::emit::Emitter); a full bus blocks it (backpressure), and it
//! stops reading when the pipeline is asked to stop.

pub mod das;
pub mod das_stream;
pub mod files;

use crate::model::{parse_iso, Nanos};

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
