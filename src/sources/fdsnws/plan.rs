//! What to ask an FDSN dataselect node, as a list of bulk requests.
//!
//! A long backfill is cut into windows on a UTC grid (a day by default) and the streams into
//! bounded groups, so that each request is small enough for a node to answer in one go, a
//! failure costs one request's worth of data, and the resume file can name what is done.
//! Requests run window by window, so every stream arrives in time order.

use std::fmt;

use crate::model::{Iso, Nanos};

const NS_PER_SEC: i64 = 1_000_000_000;

/// One `NET.STA.LOC.CHA` selection; `*` and `?` allowed in each code, `--` (or nothing) for an
/// empty location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub net: String,
    pub sta: String,
    pub loc: String,
    pub cha: String,
}

impl Stream {
    pub fn parse(s: &str) -> Result<Stream, String> {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 4 {
            return Err(format!(
                "{s:?}: write NET.STA.LOC.CHA, e.g. \"FR.CIEL.00.HH?\" or \"FR.*.--.HHZ\""
            ));
        }
        let ok = |c: &str| {
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
        };
        for (name, code) in [
            ("network", parts[0]),
            ("station", parts[1]),
            ("channel", parts[3]),
        ] {
            if code.is_empty() || !ok(code) {
                return Err(format!(
                    "{s:?}: the {name} code must be letters, digits, * or ?"
                ));
            }
        }
        let loc = if parts[2] == "--" { "" } else { parts[2] };
        if !ok(loc) {
            return Err(format!(
                "{s:?}: the location code must be letters, digits, * or ?, or -- for none"
            ));
        }
        Ok(Stream {
            net: parts[0].into(),
            sta: parts[1].into(),
            loc: loc.into(),
            cha: parts[3].into(),
        })
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = if self.loc.is_empty() { "--" } else { &self.loc };
        write!(f, "{}.{}.{loc}.{}", self.net, self.sta, self.cha)
    }
}

/// Options every request carries (the bulk body's `key=value` lines).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub quality: Option<String>,
    pub minimumlength: Option<f64>,
    pub longestonly: bool,
}

/// A bulk request: some streams over one time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub start: Nanos,
    pub end: Nanos,
    pub streams: Vec<Stream>,
}

/// Bulk-request time text: ISO 8601 UTC without the `Z`, as the FDSN web-service
/// specification writes it and every dataselect implementation reads it.
fn bulk_time(t: Nanos) -> String {
    let s = Iso(t).to_string();
    s.trim_end_matches('Z').to_string()
}

impl Request {
    /// The name the resume file keeps: window and streams, stable across runs.
    pub fn key(&self) -> String {
        let streams: Vec<String> = self.streams.iter().map(|s| s.to_string()).collect();
        format!(
            "{} {} {}",
            bulk_time(self.start),
            bulk_time(self.end),
            streams.join(",")
        )
    }

    /// The POST body: options, then one `NET STA LOC CHA START END` line per stream.
    pub fn body(&self, opts: &Options) -> String {
        let mut b = String::new();
        if let Some(q) = &opts.quality {
            b.push_str(&format!("quality={q}\n"));
        }
        if let Some(m) = opts.minimumlength {
            b.push_str(&format!("minimumlength={m}\n"));
        }
        if opts.longestonly {
            b.push_str("longestonly=true\n");
        }
        // Windows are half-open; the bulk format's end is inclusive, to the microsecond.
        let (a, z) = (bulk_time(self.start), bulk_time(self.end - 1_000));
        for s in &self.streams {
            let loc = if s.loc.is_empty() { "--" } else { &s.loc };
            b.push_str(&format!("{} {} {loc} {} {a} {z}\n", s.net, s.sta, s.cha));
        }
        b
    }

    /// Halves a request a node refused as too large (413): the streams first, then the time.
    /// `None` when it is one stream over no more than `min_s` seconds.
    pub fn split(&self, min_s: f64) -> Option<(Request, Request)> {
        if self.streams.len() > 1 {
            let (a, b) = self.streams.split_at(self.streams.len() / 2);
            return Some((
                Request {
                    streams: a.to_vec(),
                    ..self.clone()
                },
                Request {
                    streams: b.to_vec(),
                    ..self.clone()
                },
            ));
        }
        let span = self.end - self.start;
        if (span as f64) <= min_s * NS_PER_SEC as f64 {
            return None;
        }
        // On whole seconds where the span allows, so the halves' keys read well.
        let mut mid = self.start + span / 2;
        if span >= 2 * NS_PER_SEC {
            mid -= mid.rem_euclid(NS_PER_SEC);
        }
        Some((
            Request {
                end: mid,
                ..self.clone()
            },
            Request {
                start: mid,
                ..self.clone()
            },
        ))
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.streams.len();
        let first = &self.streams[0];
        write!(f, "{} to {}, {first}", Iso(self.start), Iso(self.end))?;
        if n > 1 {
            write!(
                f,
                " and {} more stream{}",
                n - 1,
                if n > 2 { "s" } else { "" }
            )?;
        }
        Ok(())
    }
}

/// The requests for `[start, end)`: windows of `window_s` on the UTC grid (a window that
/// the start or end cuts is shorter), each window's streams in groups of at most `group`.
pub fn plan(
    streams: &[Stream],
    start: Nanos,
    end: Nanos,
    window_s: u64,
    group: usize,
) -> Vec<Request> {
    let w = window_s as i64 * NS_PER_SEC;
    let mut out = Vec::new();
    let mut a = start;
    while a < end {
        let b = ((a.div_euclid(w) + 1) * w).min(end);
        for g in streams.chunks(group.max(1)) {
            out.push(Request {
                start: a,
                end: b,
                streams: g.to_vec(),
            });
        }
        a = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_iso;

    fn t(s: &str) -> Nanos {
        parse_iso(s).unwrap()
    }

    #[test]
    fn streams_read_and_print_with_empty_locations() {
        let s = Stream::parse("FR.CIEL.--.HH?").unwrap();
        assert_eq!(s.loc, "");
        assert_eq!(s.to_string(), "FR.CIEL.--.HH?");
        assert_eq!(Stream::parse("FR.CIEL..HHZ").unwrap(), s_with("HHZ"));
        assert!(Stream::parse("FR.CIEL.HHZ").is_err());
        assert!(Stream::parse("FR.CI EL.00.HHZ").is_err());
        assert!(Stream::parse("FR..00.HHZ").is_err());
    }

    fn s_with(cha: &str) -> Stream {
        Stream {
            net: "FR".into(),
            sta: "CIEL".into(),
            loc: "".into(),
            cha: cha.into(),
        }
    }

    #[test]
    fn windows_follow_utc_days_and_groups_are_bounded() {
        let streams: Vec<Stream> = (0..5).map(|i| s_with(&format!("HH{i}"))).collect();
        let p = plan(
            &streams,
            t("2024-01-01T12:00:00"),
            t("2024-01-03T06:00:00"),
            86_400,
            2,
        );
        assert_eq!(p.len(), 9);
        assert_eq!(p[0].start, t("2024-01-01T12:00:00"));
        assert_eq!(p[0].end, t("2024-01-02T00:00:00"));
        assert_eq!(p[3].start, t("2024-01-02T00:00:00"));
        assert_eq!(p[8].end, t("2024-01-03T06:00:00"));
        assert_eq!(p[2].streams.len(), 1);
        assert_eq!(
            p[0].body(&Options {
                quality: Some("D".into()),
                minimumlength: None,
                longestonly: true
            }),
            "quality=D\nlongestonly=true\n\
             FR CIEL -- HH0 2024-01-01T12:00:00.000000 2024-01-01T23:59:59.999999\n\
             FR CIEL -- HH1 2024-01-01T12:00:00.000000 2024-01-01T23:59:59.999999\n"
        );
    }

    #[test]
    fn too_large_splits_streams_then_time_then_stops() {
        let r = Request {
            start: t("2024-01-01T00:00:00"),
            end: t("2024-01-02T00:00:00"),
            streams: vec![s_with("HHZ"), s_with("HHN"), s_with("HHE")],
        };
        let (a, b) = r.split(60.0).unwrap();
        assert_eq!((a.streams.len(), b.streams.len()), (1, 2));
        let (c, d) = a.split(60.0).unwrap();
        assert_eq!(c.end, t("2024-01-01T12:00:00"));
        assert_eq!(d.start, c.end);
        let tiny = Request {
            end: t("2024-01-01T00:01:00"),
            ..a
        };
        assert!(tiny.split(60.0).is_none());
    }
}
