//! FDSN StationXML 1.0–1.2 read into channel epochs (coordinates, orientation, rate, sensor,
//! the full response). Elements are matched by local name, so files without the FDSN
//! namespace (or with a prefix) read the same; elements we do not use are skipped.
//!
//! A channel whose values cannot be read (a latitude that is not a number, a stage without a
//! filter) is left out with a problem naming the channel, its epoch and the line; the other
//! channels of the file are kept.

use num_complex::Complex;
use roxmltree::{Document, Node};

use super::response::{
    Decimation, Filter, Gain, ListPoint, PzTransfer, Response, Sensitivity, Stage, Symmetry, Units,
};
use super::ChannelEpoch;
use crate::model::ids::SeedId;
use crate::model::time::{parse_iso, Iso, Nanos};

/// What a file gave: its channel epochs and what had to be left out.
#[derive(Debug, Default)]
pub struct Parsed {
    pub epochs: Vec<ChannelEpoch>,
    pub problems: Vec<String>,
}

/// Parses a StationXML document. `origin` (a path or URL) names it in problems and errors.
pub fn parse(text: &str, origin: &str) -> Result<Parsed, String> {
    let doc = Document::parse(text).map_err(|e| format!("{origin}: not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "FDSNStationXML" {
        return Err(format!(
            "{origin}: the root element is <{}>, not <FDSNStationXML>",
            root.tag_name().name()
        ));
    }
    let mut out = Parsed::default();
    for net in children(root, "Network") {
        let net_code = net.attribute("code").unwrap_or("").trim();
        for sta in children(net, "Station") {
            let sta_code = sta.attribute("code").unwrap_or("").trim();
            let sta_coords = (
                number(sta, "Latitude").ok().flatten(),
                number(sta, "Longitude").ok().flatten(),
                number(sta, "Elevation").ok().flatten(),
            );
            let site = child(sta, "Site")
                .and_then(|s| child(s, "Name"))
                .and_then(|n| n.text())
                .map(|t| t.trim().to_string());
            for cha in children(sta, "Channel") {
                let id = SeedId::new(
                    net_code,
                    sta_code,
                    cha.attribute("locationCode").unwrap_or(""),
                    cha.attribute("code").unwrap_or(""),
                );
                match channel(cha, &id, sta_coords, site.as_deref(), origin) {
                    Ok(e) => out.epochs.push(e),
                    Err(why) => {
                        let line = doc.text_pos_at(cha.range().start).row;
                        let epoch = cha.attribute("startDate").unwrap_or("?");
                        out.problems.push(format!(
                            "{origin}:{line}: channel {id} epoch from {epoch}: {why}; channel left out"
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}

fn channel(
    cha: Node,
    id: &SeedId,
    sta_coords: (Option<f64>, Option<f64>, Option<f64>),
    site: Option<&str>,
    origin: &str,
) -> Result<ChannelEpoch, String> {
    let start = date(cha.attribute("startDate"))?
        .ok_or_else(|| "no startDate: the epoch is unknown".to_string())?;
    // Services write far-future ends (2599, 3000) for open epochs: beyond what nanoseconds
    // since 1970 hold in i64 (2262), they are open ends here.
    let end = match cha.attribute("endDate") {
        Some(t) if year(t).is_some_and(|y| y >= 2262) => None,
        other => date(other)?,
    };
    if let Some(e) = end {
        if e < start {
            return Err(format!(
                "endDate {} is before startDate {}",
                Iso(e),
                Iso(start)
            ));
        }
    }
    let sample_rate = match number(cha, "SampleRate")? {
        Some(r) => Some(r),
        None => child(cha, "SampleRateRatio").and_then(|r| {
            let n = number(r, "NumberSamples").ok()??;
            let s = number(r, "NumberSeconds").ok()??;
            (s != 0.0).then_some(n / s)
        }),
    };
    let sensor = child(cha, "Sensor").and_then(|s| {
        ["Description", "Model", "Type"]
            .iter()
            .find_map(|k| child(s, k).and_then(|n| n.text()))
            .map(|t| t.trim().to_string())
    });
    let response = match child(cha, "Response") {
        Some(r) => Some(response(r)?),
        None => None,
    };
    Ok(ChannelEpoch {
        id: id.clone(),
        start,
        end,
        latitude: number(cha, "Latitude")?.or(sta_coords.0),
        longitude: number(cha, "Longitude")?.or(sta_coords.1),
        elevation: number(cha, "Elevation")?.or(sta_coords.2),
        depth: number(cha, "Depth")?,
        azimuth: number(cha, "Azimuth")?,
        dip: number(cha, "Dip")?,
        sample_rate,
        sensor,
        site: site.map(str::to_string),
        response,
        origin: origin.to_string(),
    })
}

fn response(r: Node) -> Result<Response, String> {
    let sensitivity = match child(r, "InstrumentSensitivity") {
        Some(s) => Some(Sensitivity {
            value: number(s, "Value")?
                .ok_or("InstrumentSensitivity without a Value".to_string())?,
            frequency: number(s, "Frequency")?,
            input_units: units(s, "InputUnits"),
            output_units: units(s, "OutputUnits"),
        }),
        None => None,
    };
    let mut stages = Vec::new();
    for st in children(r, "Stage") {
        let number_attr = st.attribute("number").unwrap_or("");
        let n: u32 = number_attr
            .trim()
            .parse()
            .map_err(|_| format!("a Stage number {number_attr:?} that is not a number"))?;
        stages.push(stage(st, n).map_err(|e| format!("stage {n}: {e}"))?);
    }
    Ok(Response {
        sensitivity,
        stages,
    })
}

fn stage(st: Node, n: u32) -> Result<Stage, String> {
    let gain = match child(st, "StageGain").or_else(|| child(st, "StageSensitivity")) {
        Some(g) => Some(Gain {
            value: number(g, "Value")?.ok_or("StageGain without a Value")?,
            frequency: number(g, "Frequency")?.unwrap_or(0.0),
        }),
        None => None,
    };
    let decimation = match child(st, "Decimation") {
        Some(d) => Some(Decimation {
            input_sample_rate: number(d, "InputSampleRate")?
                .ok_or("Decimation without an InputSampleRate")?,
            factor: number(d, "Factor")?.unwrap_or(1.0) as u32,
            offset: number(d, "Offset")?.unwrap_or(0.0) as u32,
            delay: number(d, "Delay")?.unwrap_or(0.0),
            correction: number(d, "Correction")?.unwrap_or(0.0),
        }),
        None => None,
    };
    let kinds = [
        "PolesZeros",
        "Coefficients",
        "ResponseList",
        "FIR",
        "Polynomial",
    ];
    let body = kinds.iter().find_map(|k| child(st, k));
    let (filter, input_units, output_units) = match body {
        None => (Filter::GainOnly, None, None),
        Some(b) => (filter(b)?, units(b, "InputUnits"), units(b, "OutputUnits")),
    };
    Ok(Stage {
        number: n,
        filter,
        input_units,
        output_units,
        gain,
        decimation,
    })
}

fn filter(b: Node) -> Result<Filter, String> {
    Ok(match b.tag_name().name() {
        "PolesZeros" => {
            let kind = text(b, "PzTransferFunctionType").unwrap_or_default();
            let transfer = match kind.to_ascii_uppercase().as_str() {
                "LAPLACE (RADIANS/SECOND)" => PzTransfer::LaplaceRadians,
                "LAPLACE (HERTZ)" => PzTransfer::LaplaceHertz,
                "DIGITAL (Z-TRANSFORM)" => PzTransfer::Digital,
                other => return Err(format!("PzTransferFunctionType {other:?} is not one of LAPLACE (RADIANS/SECOND), LAPLACE (HERTZ), DIGITAL (Z-TRANSFORM)")),
            };
            let roots = |name: &'static str| -> Result<Vec<Complex<f64>>, String> {
                children(b, name)
                    .map(|z| {
                        Ok(Complex::new(
                            number(z, "Real")?.unwrap_or(0.0),
                            number(z, "Imaginary")?.unwrap_or(0.0),
                        ))
                    })
                    .collect()
            };
            Filter::PolesZeros {
                transfer,
                normalization_factor: number(b, "NormalizationFactor")?.unwrap_or(1.0),
                normalization_frequency: number(b, "NormalizationFrequency")?.unwrap_or(0.0),
                zeros: roots("Zero")?,
                poles: roots("Pole")?,
            }
        }
        "Coefficients" => Filter::Coefficients {
            transfer: text(b, "CfTransferFunctionType").unwrap_or_default(),
            numerator: numbers(b, "Numerator")?,
            denominator: numbers(b, "Denominator")?,
        },
        "FIR" => {
            let sym = text(b, "Symmetry").unwrap_or_else(|| "NONE".into());
            let symmetry = match sym.to_ascii_uppercase().as_str() {
                "NONE" => Symmetry::None,
                "ODD" => Symmetry::Odd,
                "EVEN" => Symmetry::Even,
                other => return Err(format!("FIR Symmetry {other:?} is not NONE, ODD or EVEN")),
            };
            Filter::Fir {
                symmetry,
                coefficients: numbers(b, "NumeratorCoefficient")?,
            }
        }
        "ResponseList" => Filter::List {
            points: children(b, "ResponseListElement")
                .map(|e| {
                    Ok(ListPoint {
                        frequency: number(e, "Frequency")?.ok_or("no Frequency")?,
                        amplitude: number(e, "Amplitude")?.ok_or("no Amplitude")?,
                        phase_degrees: number(e, "Phase")?.ok_or("no Phase")?,
                    })
                })
                .collect::<Result<_, String>>()?,
        },
        _ => Filter::Polynomial {
            approximation: text(b, "ApproximationType").unwrap_or_default(),
            frequency_lower: number(b, "FrequencyLowerBound")?.unwrap_or(0.0),
            frequency_upper: number(b, "FrequencyUpperBound")?.unwrap_or(0.0),
            coefficients: numbers(b, "Coefficient")?,
        },
    })
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: Node, name: &str) -> Option<String> {
    child(n, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
}

fn units(n: Node, name: &str) -> Option<Units> {
    let u = child(n, name)?;
    Some(Units {
        name: text(u, "Name")?,
        description: text(u, "Description"),
    })
}

fn parse_number(t: &str, what: &str) -> Result<f64, String> {
    let t = t.trim();
    t.parse::<f64>()
        .map_err(|_| format!("{what} {t:?} is not a number"))
}

/// The number in child element `name`, if there is one.
fn number(n: Node, name: &str) -> Result<Option<f64>, String> {
    match child(n, name) {
        None => Ok(None),
        Some(c) => match c.text() {
            None => Ok(None),
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => parse_number(t, name).map(Some),
        },
    }
}

fn numbers(n: Node, name: &'static str) -> Result<Vec<f64>, String> {
    children(n, name)
        .map(|c| parse_number(c.text().unwrap_or(""), name))
        .collect()
}

fn year(t: &str) -> Option<i64> {
    t.trim().get(..4)?.parse().ok()
}

/// StationXML dates: `2004-12-26T00:00:00.0000`, with or without `Z` or `+00:00`, or a date.
fn date(s: Option<&str>) -> Result<Option<Nanos>, String> {
    let Some(raw) = s else { return Ok(None) };
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let t = t
        .strip_suffix("+00:00")
        .or_else(|| t.strip_suffix("Z"))
        .unwrap_or(t);
    let full;
    let t = if t.contains('T') {
        t
    } else {
        full = format!("{t}T00:00:00");
        &full
    };
    // More than nanosecond digits: keep nine.
    let t = match t.split_once('.') {
        Some((a, b)) if b.len() > 9 => &t[..a.len() + 10],
        _ => t,
    };
    parse_iso(t)
        .map(Some)
        .ok_or_else(|| format!("{raw:?} is not a date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<FDSNStationXML xmlns="http://www.fdsn.org/xml/station/1" schemaVersion="1.2">
 <Source>test</Source>
 <Network code="FR"><Station code="CIEL" startDate="2010-01-01T00:00:00">
  <Latitude>44.1</Latitude><Longitude>5.2</Longitude><Elevation>700</Elevation>
  <Site><Name>Ciel</Name></Site>
  <Channel code="HHZ" locationCode="00" startDate="2010-01-01T00:00:00Z" endDate="2020-01-01">
   <Latitude>44.1</Latitude><Longitude>5.2</Longitude><Elevation>701</Elevation><Depth>1</Depth>
   <Azimuth>0</Azimuth><Dip>-90</Dip><SampleRate>1E02</SampleRate>
   <Response><InstrumentSensitivity><Value>6E8</Value><Frequency>1</Frequency>
    <InputUnits><Name>m/s</Name></InputUnits><OutputUnits><Name>counts</Name></OutputUnits>
   </InstrumentSensitivity></Response>
  </Channel>
  <Channel code="HHN" locationCode="00" startDate="2010-01-01T00:00:00">
   <Latitude>north</Latitude>
  </Channel>
 </Station></Network>
</FDSNStationXML>"#;

    #[test]
    fn channels_read_and_a_bad_one_is_named() {
        let p = parse(DOC, "test.xml").unwrap();
        assert_eq!(p.epochs.len(), 1);
        let e = &p.epochs[0];
        assert_eq!(e.id.to_string(), "FR.CIEL.00.HHZ");
        assert_eq!(e.sample_rate, Some(100.0));
        assert_eq!(e.elevation, Some(701.0));
        assert_eq!(e.site.as_deref(), Some("Ciel"));
        assert_eq!(
            Iso(e.end.unwrap()).to_string(),
            "2020-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            e.response
                .as_ref()
                .unwrap()
                .sensitivity
                .as_ref()
                .unwrap()
                .value,
            6e8
        );
        assert_eq!(p.problems.len(), 1);
        let why = &p.problems[0];
        assert!(
            why.contains("test.xml:14") && why.contains("FR.CIEL.00.HHN"),
            "{why}"
        );
        assert!(why.contains("\"north\" is not a number"), "{why}");
    }

    #[test]
    fn not_stationxml_is_an_error() {
        assert!(parse("<a/>", "x.xml")
            .unwrap_err()
            .contains("not <FDSNStationXML>"));
        assert!(parse("<a", "x.xml").unwrap_err().contains("x.xml: not XML"));
    }
}
