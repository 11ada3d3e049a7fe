//! Repeated damage, summarised: a stage that meets the same kind of trouble over and over (the
//! overlaps of a station that resends, the undecodable records of a broken file) logs each case
//! at `debug` and a tally per kind at `info` — when it first happens, then at most once a
//! minute while more arrive, and once more when the stage ends — naming the streams hit most.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::model::{Iso, Nanos};
use crate::pipeline::summary::plural;
use crate::pipeline::summary::Count;

/// How often a tally that keeps growing is logged again.
const EVERY: Duration = Duration::from_secs(60);
/// Streams named in a tally line; the rest are counted.
const NAMED: usize = 4;

#[derive(Default)]
struct Tally {
    cases: u64,
    /// Samples (or records) the cases cost.
    lost: u64,
    streams: BTreeMap<String, u64>,
    span: Option<(Nanos, Nanos)>,
    example: String,
    /// Cases already in a logged line.
    logged: u64,
    /// Damage to data (a warning) rather than an ordinary stream event.
    warn: bool,
}

/// One stage's tallies.
pub struct Repeats {
    stage: String,
    tallies: BTreeMap<&'static str, Tally>,
    last: Instant,
}

impl Repeats {
    pub fn new(stage: &str) -> Repeats {
        Repeats {
            stage: stage.to_string(),
            tallies: BTreeMap::new(),
            last: Instant::now(),
        }
    }

    /// Counts one case of `kind` on `stream` that cost `lost` samples over `span`; `example`
    /// (the case in words) is kept for the first.
    pub fn note(
        &mut self,
        (kind, warn): (&'static str, bool),
        stream: &str,
        lost: u64,
        span: Option<(Nanos, Nanos)>,
        example: impl FnOnce() -> String,
    ) {
        let t = self.tallies.entry(kind).or_default();
        if t.cases == 0 {
            t.example = example();
            t.warn = warn;
        }
        t.cases += 1;
        t.lost += lost;
        *t.streams.entry(stream.to_string()).or_default() += 1;
        if let Some((a, b)) = span {
            t.span = Some(t.span.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        if t.cases == 1 {
            t.logged = 1;
            log(&self.stage, kind, t, false);
        }
        if self.last.elapsed() >= EVERY {
            self.log(false);
        }
    }

    /// Logs every tally that grew since it was last logged; `end`: the stage is ending.
    pub fn log(&mut self, end: bool) {
        self.last = Instant::now();
        for (kind, t) in &mut self.tallies {
            if t.cases != t.logged {
                t.logged = t.cases;
                log(&self.stage, kind, t, end);
            }
        }
    }
}

fn log(stage: &str, kind: &str, t: &Tally, end: bool) {
    let mut top: Vec<(&String, &u64)> = t.streams.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let named: Vec<String> = top
        .iter()
        .take(NAMED)
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let more = top.len().saturating_sub(NAMED);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let span = t.span.map_or(String::new(), |(a, b)| {
        format!(", data from {} to {}", Iso(a), Iso(b))
    });
    let lost = if t.lost > 0 {
        format!(", {} samples", Count(t.lost))
    } else {
        String::new()
    };
    let line = if t.cases == 1 {
        t.example.clone()
    } else {
        format!(
            "{} {kind} {} on {} stream{} ({}{more}){lost}{span}; first: {}",
            Count(t.cases),
            if end { "in all" } else { "so far" },
            t.streams.len(),
            plural(t.streams.len() as u64),
            named.join(", "),
            t.example
        )
    };
    if t.warn {
        tracing::warn!(stage = %stage, "{line}");
    } else {
        tracing::info!(stage = %stage, "{line}");
    }
}
