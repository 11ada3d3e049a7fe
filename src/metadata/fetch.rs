//! Where StationXML comes from: a file, a folder of `.xml` files, or an FDSN station query
//! URL (`https://ws.resif.fr/fdsnws/station/1/query?network=FR&level=response`).
//!
//! A file or URL named explicitly must read: its failure is an error. Inside a folder, a file
//! that does not read is a problem of the catalogue and the other files are kept.

use std::path::Path;
use std::time::Duration;

use super::{stationxml, Catalogue};

/// Reads every source into one catalogue.
pub fn load(sources: &[String]) -> Result<Catalogue, String> {
    let mut epochs = Vec::new();
    let mut problems = Vec::new();
    let mut add = |p: stationxml::Parsed| {
        epochs.extend(p.epochs);
        problems.extend(p.problems);
    };
    for src in sources {
        if is_url(src) {
            match get(src)? {
                Some(text) => add(stationxml::parse(&text, src)?),
                None => add(stationxml::Parsed {
                    epochs: Vec::new(),
                    problems: vec![format!("{src}: the service has no matching channels")],
                }),
            }
            continue;
        }
        let path = Path::new(src);
        if path.is_dir() {
            let files: Vec<_> = crate::paths::expand_paths(&[path.to_path_buf()])
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
                .collect();
            if files.is_empty() {
                return Err(format!("{src}: a folder without .xml files"));
            }
            for f in files {
                match read_file(&f) {
                    Ok(p) => add(p),
                    Err(e) => add(stationxml::Parsed {
                        epochs: Vec::new(),
                        problems: vec![format!("{e}; file left out")],
                    }),
                }
            }
        } else {
            add(read_file(path)?);
        }
    }
    Ok(Catalogue::new(epochs, problems))
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn read_file(path: &Path) -> Result<stationxml::Parsed, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = decode(bytes);
    stationxml::parse(&text, &path.display().to_string())
}

/// UTF-8, or ISO-8859-1 as some services declare (each byte its code point).
fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    }
}

/// GETs a station query. `None` for FDSN's "no data" answers (204, 404).
fn get(url: &str) -> Result<Option<String>, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .user_agent(concat!("seisreduce/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("{url}: {e}"))?;
    let resp = client.get(url).send().map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    if status == 204 || status == 404 {
        return Ok(None);
    }
    if status != 200 {
        let body = resp.text().unwrap_or_default();
        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("{url}: HTTP {status}: {first}"));
    }
    let bytes = resp
        .bytes()
        .map_err(|e| format!("{url}: reading the reply: {e}"))?;
    Ok(Some(decode(bytes.to_vec())))
}
