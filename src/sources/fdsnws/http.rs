//! One dataselect POST and what its answer means, by the FDSN web-service rules.
//!
//! The caller decides what to do next (retry, split, give up); this module only reads the
//! answer: 200 with whole records, 204/404 (no data), 413 (too large), 429/5xx (come back
//! later, `Retry-After` read as seconds or an HTTP date), or a body that stops inside a
//! record or short of its announced length (truncated, worth another try).

use std::time::Duration;

use bytes::Bytes;

use crate::formats::mseed::{ErrorKind, RecordReader};
use crate::model::time::days_from_civil;
use crate::model::{now, Nanos};

pub enum Answer {
    Data(Bytes),
    NoData,
    TooLarge,
    /// Worth another try: the reason for the log, and how long the node asked us to wait.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Another try would get the same answer (400, 401, 403, ...).
    Refused(String),
}

pub struct Node {
    client: reqwest::blocking::Client,
    pub query: String,
}

impl Node {
    /// `url` is the service root (`.../fdsnws/dataselect/1/`) or its `query` endpoint.
    pub fn new(url: &str, timeout: Duration, connect_timeout: Duration) -> Result<Node, String> {
        let query = if url.trim_end_matches('/').ends_with("/query") {
            url.trim_end_matches('/').to_string()
        } else {
            format!("{}/query", url.trim_end_matches('/'))
        };
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .user_agent(concat!("seisreduce/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("{url}: {e}"))?;
        Ok(Node { client, query })
    }

    pub fn post(&self, body: String) -> Answer {
        let resp = match self.client.post(&self.query).body(body).send() {
            Ok(r) => r,
            Err(e) => {
                return Answer::Retry {
                    reason: format!("no answer: {}", chain(&e)),
                    after: None,
                }
            }
        };
        let status = resp.status().as_u16();
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now()));
        match status {
            200 => match resp.bytes() {
                Ok(b) => match truncated(&b) {
                    Some(short) => Answer::Retry {
                        reason: format!(
                            "the reply ends inside a record ({} bytes received, {short})",
                            b.len()
                        ),
                        after: None,
                    },
                    None if b.is_empty() => Answer::NoData,
                    None => Answer::Data(b),
                },
                Err(e) => Answer::Retry {
                    reason: format!("the reply was cut short: {}", chain(&e)),
                    after: None,
                },
            },
            204 | 404 => Answer::NoData,
            413 => Answer::TooLarge,
            429 | 500..=599 => Answer::Retry {
                reason: format!("HTTP {status}: {}", first_line(resp)),
                after,
            },
            _ => Answer::Refused(format!("HTTP {status}: {}", first_line(resp))),
        }
    }
}

/// The error and its causes on one line (reqwest hides the useful part in the sources).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The first non-blank line of an error body (FDSN error documents start with the code and
/// its meaning), for the log.
fn first_line(resp: reqwest::blocking::Response) -> String {
    let body = resp.text().unwrap_or_default();
    body.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no body)")
        .chars()
        .take(200)
        .collect()
}

/// Whether the body stops inside its last record: what is missing, for the log.
fn truncated(b: &[u8]) -> Option<String> {
    let last = RecordReader::new(b).last()?;
    match last {
        Err(e) if matches!(e.kind, ErrorKind::Truncated { .. }) => Some(e.kind.to_string()),
        _ => None,
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110, e.g. `Sun, 06 Nov 1994 08:49:37
/// GMT`); a date in the past means now.
pub fn retry_after(v: &str, now: Nanos) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let (_, rest) = v.split_once(", ")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    if f.len() != 5 || f[4] != "GMT" {
        return None;
    }
    let day: u32 = f[0].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == f[1])? as u32
        + 1;
    let year: i64 = f[2].parse().ok()?;
    let hms: Vec<i64> = f[3]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || !(1..=31).contains(&day) {
        return None;
    }
    let at = (days_from_civil(year, month, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
        * 1_000_000_000;
    Some(Duration::from_nanos((at - now).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_iso;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = parse_iso("1994-11-06T08:49:30").unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
