//! What a run tells its user at the end (and on SIGINT): per stage what went in and out, what
//! was dropped and why, gaps and overlaps, and what each sink wrote where with the line that
//! opens it. Built from the same counters `/metrics` serves, so the two never disagree.

use std::fmt::{self, Write as _};

use super::component::Role;
use super::config::StageDecl;
use crate::model::{Iso, Nanos};
use crate::sinks::SinkReport;
use crate::telemetry::metrics::StageCounts;

/// One stage's line(s).
#[derive(Debug, Clone)]
pub struct StageSummary {
    pub stage: String,
    pub role: Role,
    pub type_name: String,
    pub counts: StageCounts,
    pub report: Option<SinkReport>,
}

impl StageSummary {
    pub fn new(s: &StageDecl, counts: StageCounts, report: Option<SinkReport>) -> Self {
        StageSummary {
            stage: s.name.clone(),
            role: s.role,
            type_name: s.type_name.clone(),
            counts,
            report,
        }
    }

    /// `12,340 records in, 12,336 blocks out (1.2 M samples)`.
    fn traffic(&self) -> String {
        let c = &self.counts;
        let samples = |n: u64| {
            if n > 0 {
                format!(" ({} samples)", Count(n))
            } else {
                String::new()
            }
        };
        match self.role {
            Role::Source => format!(
                "{} messages out{}",
                Count(c.records_out),
                samples(c.samples_out)
            ),
            Role::Operator => format!(
                "{} in{}, {} out{}",
                Count(c.records_in),
                samples(c.samples_in),
                Count(c.records_out),
                samples(c.samples_out)
            ),
            Role::Sink => format!("{} in{}", Count(c.records_in), samples(c.samples_in)),
        }
    }

    /// `dropped 4 (corrupt_record 3, text_record 1); 2 gaps, 1 overlap`.
    fn damage(&self) -> String {
        let c = &self.counts;
        let mut parts = Vec::new();
        let total: u64 = c.dropped.iter().map(|(_, n)| n).sum();
        if total > 0 {
            let each: Vec<String> = c
                .dropped
                .iter()
                .map(|(r, n)| format!("{r} {}", Count(*n)))
                .collect();
            parts.push(format!("dropped {} ({})", Count(total), each.join(", ")));
        }
        for (kind, n) in &c.events {
            parts.push(format!("{} {kind}{}", Count(*n), plural(*n)));
        }
        for (kind, n) in &c.errors {
            parts.push(format!("{} error{} ({kind})", Count(*n), plural(*n)));
        }
        parts.join("; ")
    }
}

/// The whole run's summary.
#[derive(Debug, Clone)]
pub struct Summary {
    pub pipeline: String,
    pub started: Nanos,
    pub ended: Nanos,
    /// Whether it ended on a signal rather than at the end of its data.
    pub stopped: bool,
    pub stages: Vec<StageSummary>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {} after {:.1} s ({} to {})",
            self.pipeline,
            if self.stopped { "stopped" } else { "finished" },
            (self.ended - self.started) as f64 / 1e9,
            Iso(self.started),
            Iso(self.ended)
        )?;
        let w = self.stages.iter().map(|s| s.stage.len()).max().unwrap_or(0);
        let tw = self
            .stages
            .iter()
            .map(|s| s.type_name.len() + s.role.plural().len() + 1)
            .max()
            .unwrap_or(0);
        for s in &self.stages {
            let kind = format!("{} {}", s.role.plural(), s.type_name);
            let damage = s.damage();
            let sep = if damage.is_empty() { "" } else { "; " };
            writeln!(
                f,
                "  {:<w$}  {kind:<tw$}  {}{sep}{damage}",
                s.stage,
                s.traffic()
            )?;
        }
        let wrote: Vec<&SinkReport> = self
            .stages
            .iter()
            .filter_map(|s| s.report.as_ref())
            .collect();
        if !wrote.is_empty() {
            writeln!(f, "wrote:")?;
            for r in wrote {
                let mut line = format!("  {}", r.wrote);
                if let Some(o) = &r.open_with {
                    let _ = write!(line, "\n      {o}");
                }
                writeln!(f, "{line}")?;
            }
        }
        Ok(())
    }
}

impl Summary {
    /// Logs the summary as structured events (for `--log-format json`): one per stage.
    pub fn log(&self) {
        for s in &self.stages {
            let c = &s.counts;
            tracing::info!(
                stage = %s.stage,
                r#type = %s.type_name,
                records_in = c.records_in,
                records_out = c.records_out,
                samples_in = c.samples_in,
                samples_out = c.samples_out,
                dropped = %s.damage(),
                wrote = s.report.as_ref().map(|r| r.wrote.as_str()),
                open_with = s.report.as_ref().and_then(|r| r.open_with.as_deref()),
                "stage summary"
            );
        }
    }
}

/// `s` after a count other than one: `3 channels`, `1 channel`.
pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A count with thousands separators, as people read it: `1,234,567`.
pub struct Count(pub u64);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_people_write_them() {
        assert_eq!(Count(0).to_string(), "0");
        assert_eq!(Count(999).to_string(), "999");
        assert_eq!(Count(1000).to_string(), "1,000");
        assert_eq!(Count(1234567).to_string(), "1,234,567");
    }
}
