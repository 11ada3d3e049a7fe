//! INFO documents: what the server says about itself and its ring (v3: XML, in the shape
//! SeisComP's and ringserver's servers write and ObsPy's `get_info` reads; v4: JSON), and
//! the times both protocols write.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::ring::Inner;
use crate::model::time::civil_from_days;
use crate::model::{parse_iso, Iso, Nanos};

/// What the server is, for HELLO and INFO ID.
pub const SOFTWARE: &str = concat!("seisreduce ", env!("CARGO_PKG_VERSION"));

/// The INFO levels both protocols know.
pub const LEVELS: [&str; 6] = [
    "ID",
    "CAPABILITIES",
    "FORMATS",
    "STATIONS",
    "STREAMS",
    "CONNECTIONS",
];

pub const CAPABILITIES: [&str; 5] = [
    "SLPROTO:4.0",
    "SLPROTO:3.1",
    "CAP",
    "EXTREPLY",
    "NSWILDCARD",
];

/// What v3 INFO CAPABILITIES lists, in SeisComP's words (clients such as ObsPy's
/// `easyseedlink` look for `multistation` before they select a stream).
pub const V3_CAPABILITIES: [&str; 9] = [
    "dialup",
    "multistation",
    "window-extraction",
    "info:id",
    "info:capabilities",
    "info:stations",
    "info:streams",
    "info:connections",
    "nswildcard",
];

/// `2026/12/02 05:00:00.0000`: the v3 INFO time form.
pub fn v3_time(t: Nanos) -> String {
    let iso = Iso(t).to_string();
    // YYYY-MM-DDTHH:MM:SS.ffffff
    format!(
        "{}/{}/{} {}",
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..24].trim_end_matches('Z')
    )
}

/// v3 command times: `YYYY,MM,DD,hh,mm,ss` (fractional seconds allowed in the last field).
pub fn parse_v3_time(s: &str) -> Option<Nanos> {
    let f: Vec<&str> = s.trim().split(',').collect();
    if f.len() < 6 {
        return None;
    }
    let n = |i: usize| f[i].trim().parse::<i64>().ok();
    let (sec, frac) = f[5].split_once('.').unwrap_or((f[5], ""));
    let iso = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{}",
        n(0)?,
        n(1)?,
        n(2)?,
        n(3)?,
        n(4)?,
        sec.trim().parse::<i64>().ok()?,
        if frac.is_empty() { "" } else { "." },
        frac
    );
    parse_iso(&iso)
}

pub fn format_v3_time(t: Nanos) -> String {
    let secs = t.div_euclid(1_000_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y},{m},{d},{},{},{}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// v4 command times: ISO 8601 with `Z`.
pub fn parse_v4_time(s: &str) -> Option<Nanos> {
    parse_iso(s.trim())
}

pub fn format_v4_time(t: Nanos) -> String {
    Iso(t).to_string()
}

/// Both forms, v4's first.
pub fn parse_any_time(s: &str) -> Option<Nanos> {
    parse_v4_time(s).or_else(|| parse_v3_time(s))
}

/// A client connection as INFO CONNECTIONS lists it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub peer: String,
    pub version: u8,
    pub useragent: String,
    pub connected: Nanos,
    pub packets: u64,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The v3 INFO XML for `level`.
pub fn xml(
    level: &str,
    ring: &Inner,
    organization: &str,
    started: Nanos,
    conns: &[Connection],
) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\"?>\n<seedlink software=\"SeedLink v4.0 ({SOFTWARE})\" organization=\"{}\" started=\"{}\"",
        esc(organization),
        v3_time(started)
    );
    let level = level.to_ascii_uppercase();
    if level == "ID" {
        return x + "/>\n";
    }
    x.push_str(">\n");
    if level == "CAPABILITIES" {
        for c in V3_CAPABILITIES.iter().chain(&CAPABILITIES) {
            x.push_str(&format!(" <capability name=\"{c}\"/>\n"));
        }
    }
    if level == "STATIONS" || level == "STREAMS" {
        for (id, st) in &ring.stations {
            let (net, sta) = id.split_once('_').unwrap_or(("", id));
            let first = st.held.front().map_or(0, |s| s.0);
            let last = st.held.back().map_or(0, |s| s.0);
            x.push_str(&format!(
                " <station name=\"{sta}\" network=\"{net}\" description=\"\" begin_seq=\"{:06X}\" end_seq=\"{:06X}\" stream_check=\"enabled\"",
                first & 0xFF_FFFF,
                last & 0xFF_FFFF
            ));
            if level == "STATIONS" {
                x.push_str("/>\n");
                continue;
            }
            x.push_str(">\n");
            for (stream, (a, b)) in &st.streams {
                let p: Vec<&str> = stream.split('_').collect();
                let (loc, cha) = match p.as_slice() {
                    [l, b, s, ss] => (l.to_string(), format!("{b}{s}{ss}")),
                    _ => (String::new(), stream.clone()),
                };
                x.push_str(&format!(
                    "  <stream location=\"{loc}\" seedname=\"{cha}\" type=\"D\" begin_time=\"{}\" end_time=\"{}\" begin_recno=\"0\" end_recno=\"0\" gap_check=\"disabled\" gap_treshold=\"0\"/>\n",
                    v3_time(*a),
                    v3_time(*b)
                ));
            }
            x.push_str(" </station>\n");
        }
    }
    if level == "CONNECTIONS" {
        for c in conns {
            x.push_str(&format!(
                " <station name=\"\" network=\"\"><connection host=\"{}\" port=\"\" ctime=\"{}\" begin_seq=\"0\" current_seq=\"0\" sequence_gaps=\"0\" txcount=\"{}\" totBytes=\"0\" begin_seq_valid=\"yes\" realtime=\"yes\" end_of_data=\"no\"/></station>\n",
                esc(&c.peer),
                v3_time(c.connected),
                c.packets
            ));
        }
    }
    x + "</seedlink>\n"
}

/// The v4 INFO JSON for `level`.
pub fn json(
    level: &str,
    ring: &Inner,
    organization: &str,
    started: Nanos,
    conns: &[Connection],
) -> String {
    let level = level.to_ascii_uppercase();
    let mut doc = json!({
        "software": format!("SeedLink v4.0 ({SOFTWARE})"),
        "organization": organization,
        "started": format_v4_time(started),
    });
    match level.as_str() {
        "CAPABILITIES" => doc["capability"] = json!(CAPABILITIES),
        "FORMATS" => {
            doc["format"] = json!({"2": {"mimetype": "application/vnd.fdsn.mseed", "subformat": {"D": "data"}},
                                           "3": {"mimetype": "application/vnd.fdsn.mseed3", "subformat": {"D": "data"}}})
        }
        "STATIONS" | "STREAMS" => {
            let stations: Vec<Value> = ring
                .stations
                .iter()
                .map(|(id, st)| {
                    let mut s = json!({
                        "id": id.to_string(),
                        "description": "",
                        "start_seq": st.held.front().map_or(0, |s| s.0),
                        "end_seq": st.held.back().map_or(0, |s| s.0),
                    });
                    if level == "STREAMS" {
                        s["stream"] = st
                            .streams
                            .iter()
                            .map(|(k, (a, b))| {
                                json!({"id": k, "format": "2", "subformat": "D",
                                "start_time": format_v4_time(*a), "end_time": format_v4_time(*b)})
                            })
                            .collect();
                    }
                    s
                })
                .collect();
            doc["station"] = json!(stations);
        }
        "CONNECTIONS" => {
            doc["connection"] = conns
                .iter()
                .map(|c| json!({"host": c.peer, "protocol": format!("SeedLink v{}", c.version),
                    "useragent": c.useragent, "connected": format_v4_time(c.connected), "packets": c.packets}))
                .collect();
        }
        _ => {}
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_both_forms() {
        let t = parse_iso("2026-12-02T05:06:07Z").unwrap();
        assert_eq!(parse_v3_time("2026,12,2,5,6,7"), Some(t));
        assert_eq!(format_v3_time(t), "2026,12,2,5,6,7");
        assert_eq!(parse_any_time("2026-12-02T05:06:07Z"), Some(t));
        assert_eq!(v3_time(t + 1_500_000), "2026/12/02 05:06:07.0015");
        assert_eq!(parse_v3_time("2026,12,2,5,6"), None);
    }
}

/// A station of an INFO reply, read from either version's document.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StationInfo {
    pub id: String,
    pub start_seq: String,
    pub end_seq: String,
    #[serde(rename = "stream")]
    pub streams: Vec<StreamInfo>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StreamInfo {
    pub id: String,
    pub start_time: String,
    pub end_time: String,
}

/// The attributes of every `<tag ...>` element in `xml`, in order (enough for INFO
/// documents, which hold their facts in attributes).
fn elements<'x>(xml: &'x str, tag: &str) -> Vec<BTreeMap<&'x str, String>> {
    let open = format!("<{tag} ");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let body = &rest[i + open.len()..];
        let end = body.find('>').unwrap_or(body.len());
        let mut attrs = BTreeMap::new();
        let mut a = &body[..end];
        while let Some(eq) = a.find("=\"") {
            let name = a[..eq].trim();
            let v = &a[eq + 2..];
            let close = v.find('"').unwrap_or(v.len());
            attrs.insert(
                name,
                v[..close]
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            );
            a = &v[(close + 1).min(v.len())..];
        }
        out.push(attrs);
        rest = &body[end..];
    }
    out
}

/// Stations (and streams) of an INFO STATIONS/STREAMS reply: v3 XML or v4 JSON.
pub fn stations(text: &str) -> Vec<StationInfo> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let s = |x: &Value| match x {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        return v["station"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|st| StationInfo {
                        id: s(&st["id"]),
                        start_seq: s(&st["start_seq"]),
                        end_seq: s(&st["end_seq"]),
                        streams: st["stream"]
                            .as_array()
                            .map(|ss| {
                                ss.iter()
                                    .map(|x| StreamInfo {
                                        id: s(&x["id"]),
                                        start_time: s(&x["start_time"]),
                                        end_time: s(&x["end_time"]),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    // v3: <station ...> elements, each followed by its <stream .../> elements.
    let mut out: Vec<StationInfo> = Vec::new();
    for piece in text.split("<station ").skip(1) {
        let piece = format!("<station {piece}");
        let Some(st) = elements(&piece, "station").into_iter().next() else {
            continue;
        };
        let g = |m: &BTreeMap<&str, String>, k: &str| m.get(k).cloned().unwrap_or_default();
        out.push(StationInfo {
            id: format!("{}_{}", g(&st, "network"), g(&st, "name")),
            start_seq: g(&st, "begin_seq"),
            end_seq: g(&st, "end_seq"),
            streams: elements(&piece, "stream")
                .iter()
                .map(|x| {
                    let loc = g(x, "location");
                    let cha = g(x, "seedname");
                    let c: Vec<char> = cha.chars().collect();
                    let id = if c.len() == 3 {
                        format!("{loc}_{}_{}_{}", c[0], c[1], c[2])
                    } else {
                        format!("{loc}_{cha}")
                    };
                    StreamInfo {
                        id,
                        start_time: g(x, "begin_time"),
                        end_time: g(x, "end_time"),
                    }
                })
                .collect(),
        });
    }
    out
}

/// A table of an INFO reply for people: stations and streams when it has them, else the
/// document's own attributes.
pub fn table(level: &str, text: &str) -> String {
    let sts = stations(text);
    let mut out = String::new();
    if sts.is_empty() {
        let attrs = if let Ok(v) = serde_json::from_str::<Value>(text) {
            v.as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        } else {
            elements(text, "seedlink")
                .into_iter()
                .next()
                .map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                .unwrap_or_default()
        };
        for (k, v) in attrs {
            out.push_str(&format!("{k:<14} {v}\n"));
        }
        for c in elements(text, "capability") {
            out.push_str(&format!(
                "capability     {}\n",
                c.get("name").cloned().unwrap_or_default()
            ));
        }
        return out;
    }
    let streams = level.eq_ignore_ascii_case("streams");
    out.push_str(&format!(
        "{:<14} {:>10} {:>10}\n",
        "station", "first seq", "last seq"
    ));
    for s in &sts {
        out.push_str(&format!(
            "{:<14} {:>10} {:>10}\n",
            s.id, s.start_seq, s.end_seq
        ));
        if streams {
            for x in &s.streams {
                out.push_str(&format!(
                    "  {:<14} {} .. {}\n",
                    x.id, x.start_time, x.end_time
                ));
            }
        }
    }
    let n: usize = sts.iter().map(|s| s.streams.len()).sum();
    out.push_str(&format!(
        "{} stations{}\n",
        sts.len(),
        if streams {
            format!(", {n} streams")
        } else {
            String::new()
        }
    ));
    out
}

/// An INFO reply as JSON: v4's as it is; v3's stations and streams in v4's shape, other
/// levels as the root element's attributes.
pub fn as_json(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    let root: serde_json::Map<String, Value> = elements(text, "seedlink")
        .into_iter()
        .next()
        .map(|m| {
            m.into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect()
        })
        .unwrap_or_default();
    let mut v = Value::Object(root);
    let sts = stations(text);
    if !sts.is_empty() {
        v["station"] = serde_json::to_value(sts).unwrap_or_default();
    }
    let caps: Vec<String> = elements(text, "capability")
        .into_iter()
        .filter_map(|m| m.get("name").cloned())
        .collect();
    if !caps.is_empty() {
        v["capability"] = json!(caps);
    }
    v
}
