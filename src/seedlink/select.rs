//! What a client asks for: stream patterns (the `streams` key), their translation to each
//! protocol's STATION/SELECT commands, and the server's matching of those commands.
//!
//! Patterns are written in v4's form, `NET_STA:LOC_B_S_SS` with `*` and `?` (`FR_*:*_H_H_?`);
//! the stream part may be left out (every stream of the stations). For v3 servers a station
//! pattern becomes `STATION STA NET` and a stream pattern `SELECT LLCCC` (`*` location: just
//! `CCC`; empty location: `--CCC`), which needs single-character band, source and subsource
//! codes; anything else is refused by [`Pattern::v3_select`] with the reason.

use super::wire::split_sid;
use crate::model::SourceId;

/// `*` (any run) and `?` (any one character) over ASCII text.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// One entry of the `streams` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// `NET_STA` glob.
    pub station: String,
    /// `LOC_B_S_SS` glob; `None`: every stream.
    pub stream: Option<String>,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let (station, stream) = match s.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let ok = |t: &str| {
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_*?-".contains(&c))
        };
        if !station.contains('_') || !ok(station) {
            return Err(format!(
                "{s:?}: the station part must be NET_STA (wildcards * and ?), e.g. FR_CIEL or FR_*"
            ));
        }
        if let Some(st) = stream {
            if st.split('_').count() != 4 || !ok(st) {
                return Err(format!(
                    "{s:?}: the stream part must be LOC_B_S_SS (v4 form, wildcards * and ?), e.g. 00_H_H_Z or *_H_H_?"
                ));
            }
        }
        Ok(Pattern {
            station: station.to_ascii_uppercase(),
            stream: stream.map(|s| s.to_ascii_uppercase()),
        })
    }

    pub fn matches(&self, sid: &SourceId) -> bool {
        let (net, sta, stream) = split_sid(sid);
        glob(&self.station, &format!("{net}_{sta}"))
            && self.stream.as_deref().is_none_or(|p| glob(p, stream))
    }

    /// `STATION` arguments for v3: `STA NET`.
    pub fn v3_station(&self) -> String {
        let (net, sta) = self.station.split_once('_').unwrap_or(("*", &self.station));
        format!("{sta} {net}")
    }

    /// The v3 `SELECT` argument for the stream part, if there is one.
    pub fn v3_select(&self) -> Result<Option<String>, String> {
        let Some(s) = &self.stream else {
            return Ok(None);
        };
        let p: Vec<&str> = s.split('_').collect();
        let (loc, b, so, ss) = (p[0], p[1], p[2], p[3]);
        if b.len() != 1 || so.len() != 1 || ss.len() != 1 || loc.len() > 2 {
            return Err(format!(
                "stream pattern {s:?} has no SeedLink v3 form (band, source and subsource must be one character each, the location at most two)"
            ));
        }
        Ok(Some(match loc {
            "*" => format!("{b}{so}{ss}"),
            "" => format!("--{b}{so}{ss}"),
            l => format!("{l:?<2}{b}{so}{ss}"),
        }))
    }
}

/// Patterns grouped by station pattern, in the order first given: one STATION command each,
/// with the SELECTs of every pattern naming it.
pub fn by_station(patterns: &[Pattern]) -> Vec<(String, Vec<Pattern>)> {
    let mut out: Vec<(String, Vec<Pattern>)> = Vec::new();
    for p in patterns {
        match out.iter_mut().find(|(s, _)| *s == p.station) {
            Some((_, v)) => v.push(p.clone()),
            None => out.push((p.station.clone(), vec![p.clone()])),
        }
    }
    out
}

/// A station as a client selected it on the server (`STATION`).
#[derive(Debug, Clone, PartialEq)]
pub struct StationSel {
    /// `NET_STA` glob.
    pub id: String,
    pub selectors: Vec<Selector>,
}

impl StationSel {
    /// v3 `STATION STA [NET]`, v4 `STATION NET_STA`.
    pub fn parse(args: &str, v4: bool) -> Option<StationSel> {
        let mut it = args.split_whitespace();
        let a = it.next()?;
        let id = if v4 {
            a.to_string()
        } else {
            format!("{}_{a}", it.next().unwrap_or("*"))
        };
        Some(StationSel {
            id: id.to_ascii_uppercase(),
            selectors: Vec::new(),
        })
    }

    pub fn matches_station(&self, station: &str) -> bool {
        glob(&self.id, station)
    }

    /// Whether a stream of this station is selected: no selectors, or a positive one matches
    /// and no negative one does.
    pub fn matches_stream(&self, sid: &SourceId) -> bool {
        if self.selectors.is_empty() {
            return true;
        }
        let (_, _, stream) = split_sid(sid);
        let (neg, pos): (Vec<&Selector>, Vec<&Selector>) =
            self.selectors.iter().partition(|s| s.negate);
        (pos.is_empty() || pos.iter().any(|s| s.matches(stream)))
            && !neg.iter().any(|s| s.matches(stream))
    }
}

/// One `SELECT` argument, as the server matches it against a `LOC_B_S_SS` stream id.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub negate: bool,
    /// v4 glob over `LOC_B_S_SS`; v3 selectors are converted to it.
    pub pattern: String,
    /// The packet type (`D` data, ...); only data is served.
    pub kind: Option<char>,
}

impl Selector {
    /// `[!]LLCCC[.T]`, `[!]CCC[.T]` (v3) or `[!]LOC_B_S_SS[.T]` (v4, also accepted from v3
    /// clients that send it). `None` when it is neither.
    pub fn parse(s: &str) -> Option<Selector> {
        let (negate, s) = match s.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (body, kind) = match s.split_once('.') {
            Some((b, t)) => (b, Some(t.chars().next()?.to_ascii_uppercase())),
            None => (s, None),
        };
        let valid = |t: &str| {
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"*?-_ ".contains(&c))
        };
        if !valid(body) {
            return None;
        }
        let body = body.to_ascii_uppercase();
        let pattern = if body.contains('_') {
            match body.split('_').count() {
                4 => body,
                3 => format!("*_{body}"),
                _ => return None,
            }
        } else {
            let b = body.as_bytes();
            let (loc, cha) = match b.len() {
                3 => ("*".to_string(), &body[..]),
                5 => {
                    let l = body[..2].replace(['-', ' '], "");
                    (
                        if l.is_empty() && &body[..2] == "??" {
                            "*".into()
                        } else {
                            l
                        },
                        &body[2..],
                    )
                }
                n if n <= 2 => (body.clone(), "???"),
                _ => return None,
            };
            let c: Vec<char> = cha.chars().collect();
            if c.len() != 3 {
                return None;
            }
            format!("{loc}_{}_{}_{}", c[0], c[1], c[2])
        };
        Some(Selector {
            negate,
            pattern,
            kind,
        })
    }

    pub fn matches(&self, stream: &str) -> bool {
        self.kind.is_none_or(|k| k == 'D') && glob(&self.pattern, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> SourceId {
        SourceId::parse(s).unwrap()
    }

    #[test]
    fn patterns_match_and_translate() {
        let p = Pattern::parse("FR_*:*_H_H_?").unwrap();
        assert!(p.matches(&sid("FDSN:FR_CIEL_00_H_H_Z")));
        assert!(!p.matches(&sid("FDSN:FR_CIEL_00_B_H_Z")));
        assert_eq!(p.v3_station(), "* FR");
        assert_eq!(p.v3_select().unwrap().as_deref(), Some("HH?"));
        let p = Pattern::parse("FR_CIEL:00_H_H_Z").unwrap();
        assert_eq!(p.v3_select().unwrap().as_deref(), Some("00HHZ"));
        let p = Pattern::parse("FR_CIEL:_H_H_Z").unwrap();
        assert_eq!(p.v3_select().unwrap().as_deref(), Some("--HHZ"));
        assert!(Pattern::parse("FR_CIEL:00_H_H_ZZ")
            .unwrap()
            .v3_select()
            .is_err());
        assert!(Pattern::parse("CIEL").is_err());
        assert!(Pattern::parse("FR_CIEL:HHZ").is_err());
    }

    #[test]
    fn server_selectors_of_both_versions() {
        let s = |x: &str| Selector::parse(x).unwrap();
        assert!(s("HHZ").matches("00_H_H_Z") && s("HHZ").matches("_H_H_Z"));
        assert!(s("00HH?").matches("00_H_H_N") && !s("00HH?").matches("10_H_H_N"));
        assert!(s("--HHZ").matches("_H_H_Z") && !s("--HHZ").matches("00_H_H_Z"));
        assert!(s("  HHZ").matches("_H_H_Z"));
        assert!(s("HHZ.D").matches("00_H_H_Z") && !s("HHZ.E").matches("00_H_H_Z"));
        assert!(s("*_H_H_?").matches("00_H_H_E") && s("H_H_Z").matches("_H_H_Z"));
        let mut st = StationSel::parse("CIEL FR", false).unwrap();
        assert!(st.matches_station("FR_CIEL"));
        st.selectors = vec![s("HH?"), s("!HHE")];
        assert!(st.matches_stream(&sid("FDSN:FR_CIEL_00_H_H_Z")));
        assert!(!st.matches_stream(&sid("FDSN:FR_CIEL_00_H_H_E")));
        assert!(StationSel::parse("FR_C*", true)
            .unwrap()
            .matches_station("FR_CIEL"));
    }
}
