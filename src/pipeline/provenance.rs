//! Provenance for products: which seisreduce, which pipeline file (by hash) and every stage's
//! parameters as written, stored with the data so that a product can be traced and remade.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::graph::Pipeline;

/// Group attributes for the output of sink `stage`: CF global attributes and provenance.
pub fn attributes(p: &Pipeline, stage: &str) -> Value {
    let hash: String = Sha256::digest(p.file.text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut stages = serde_json::Map::new();
    if let Ok(table) = toml::from_str::<toml::Table>(&p.file.text) {
        for section in ["sources", "operators", "sinks"] {
            if let Some(toml::Value::Table(t)) = table.get(section) {
                for (name, keys) in t {
                    let v = serde_json::to_value(keys).unwrap_or(Value::Null);
                    stages.insert(name.clone(), json!({"role": section, "keys": v}));
                }
            }
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    json!({
        "Conventions": "CF-1.10",
        "title": format!("{}: {}", p.name(), stage),
        "source": format!("seisreduce {version}"),
        "seisreduce_version": version,
        "pipeline": p.name(),
        "pipeline_file": p.file.path.display().to_string(),
        "pipeline_sha256": hash,
        "stages": stages,
    })
}
