//! Pipeline files: TOML with `[pipeline]`, `[sources.NAME]`, `[operators.NAME]` and
//! `[sinks.NAME]` tables, each stage with a `type` and (operators, sinks) its `inputs`.
//!
//! Parsing keeps the span of every stage and key so that every error, including those found
//! later by graph validation, names the file, the line, the stage and the key, and says what
//! would be valid. Each stage type's own keys are a struct with `deny_unknown_fields`
//! (see `pipeline::registry`), so a misspelt key is an error, never a silently ignored default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use std::sync::Arc;

use super::component::{Component, Role};
use super::registry::{self, TypeEntry};
use crate::settings::line_of;

/// An error in a pipeline file.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineError {
    pub file: PathBuf,
    pub line: usize,
    pub stage: Option<String>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(s) = &self.stage {
            write!(f, "stage `{s}`: ")?;
        }
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PipelineError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    /// Bounded in-process channels: one process, no server.
    #[default]
    Memory,
    /// Kafka topics: stages may run in different processes and hosts.
    Kafka,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Names the topics and consumer groups on Kafka; letters, digits, `.`, `_`, `-`.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub bus: BusKind,
    /// Messages each in-memory queue holds before its producer waits.
    #[serde(default = "default_queue")]
    pub queue: usize,
}

/// `[metadata]`: the pipeline's station metadata, named once for every stage that uses it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetadataDecl {
    /// StationXML files, folders or FDSN station query URLs; relative paths are read from the
    /// pipeline file's folder.
    pub stationxml: Vec<String>,
    /// Seconds between reading the sources again while the pipeline runs (none: once).
    #[serde(default)]
    pub refresh_s: Option<f64>,
}

fn default_queue() -> usize {
    64
}

/// One declared stage.
#[derive(Debug, Clone)]
pub struct StageDecl {
    pub name: String,
    pub role: Role,
    pub type_name: String,
    pub inputs: Vec<String>,
    /// The stage type's facts (what it takes and gives).
    pub entry: &'static TypeEntry,
    /// The stage's own keys, as its type's config.
    pub spec: Arc<dyn Component>,
    /// Line of the stage's table header.
    pub line: usize,
    /// Line of each key, for errors found after parsing.
    pub key_lines: BTreeMap<String, usize>,
}

impl StageDecl {
    /// Line of `key` in this stage's table, or of the table header when the key is not there.
    pub fn line_of(&self, key: Option<&str>) -> usize {
        key.and_then(|k| self.key_lines.get(k))
            .copied()
            .unwrap_or(self.line)
    }
}

/// A parsed, not yet validated, pipeline file.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    pub path: PathBuf,
    pub text: String,
    pub header: Header,
    pub stages: Vec<StageDecl>,
    /// `[metadata]`, if the file has one.
    pub metadata: Option<MetadataDecl>,
}

type RawStage = BTreeMap<Spanned<String>, Spanned<toml::Value>>;
type RawRole = BTreeMap<Spanned<String>, Spanned<RawStage>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    pipeline: Spanned<Header>,
    #[serde(default)]
    sources: RawRole,
    #[serde(default)]
    operators: RawRole,
    #[serde(default)]
    sinks: RawRole,
    #[serde(default)]
    metadata: Option<MetadataDecl>,
}

impl PipelineFile {
    pub fn error(
        &self,
        line: usize,
        stage: Option<&str>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> PipelineError {
        PipelineError {
            file: self.path.clone(),
            line,
            stage: stage.map(str::to_string),
            key: key.map(str::to_string),
            message: message.into(),
        }
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<PipelineFile, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError {
            file: path.to_path_buf(),
            line: 0,
            stage: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<PipelineFile, PipelineError> {
        let mut file = PipelineFile {
            path: path.to_path_buf(),
            text,
            header: Header {
                name: String::new(),
                description: None,
                bus: BusKind::Memory,
                queue: default_queue(),
            },
            stages: Vec::new(),
            metadata: None,
        };
        let raw: RawFile = toml::from_str(&file.text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(&file.text, s.start));
            let msg = e.message().trim().to_string();
            let msg = if msg.contains("missing field `pipeline`") {
                "missing the [pipeline] table (with at least `name = \"...\"`)".to_string()
            } else {
                msg
            };
            file.error(line, None, None, msg)
        })?;
        let header_line = line_of(&file.text, raw.pipeline.span().start);
        file.header = raw.pipeline.into_inner();
        file.metadata = raw.metadata;
        let name = &file.header.name;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(file.error(
                header_line,
                None,
                Some("pipeline.name"),
                format!("{name:?}: use letters, digits, `.`, `_` or `-` (it names Kafka topics)"),
            ));
        }
        if file.header.queue == 0 {
            return Err(file.error(
                header_line,
                None,
                Some("pipeline.queue"),
                "must be at least 1",
            ));
        }
        for (role, table) in [
            (Role::Source, raw.sources),
            (Role::Operator, raw.operators),
            (Role::Sink, raw.sinks),
        ] {
            for (name, stage) in table {
                let decl = file.stage(role, name, stage)?;
                file.stages.push(decl);
            }
        }
        Ok(file)
    }

    fn stage(
        &self,
        role: Role,
        name: Spanned<String>,
        raw: Spanned<RawStage>,
    ) -> Result<StageDecl, PipelineError> {
        let line = line_of(&self.text, name.span().start);
        let name = name.into_inner();
        let mut key_lines = BTreeMap::new();
        let mut table = toml::Table::new();
        for (k, v) in raw.into_inner() {
            key_lines.insert(k.get_ref().clone(), line_of(&self.text, k.span().start));
            table.insert(k.into_inner(), v.into_inner());
        }
        let err = |key: Option<&str>, msg: String| {
            let at = key.and_then(|k| key_lines.get(k)).copied().unwrap_or(line);
            self.error(at, Some(&name), key, msg)
        };
        let type_name = match table.remove("type") {
            Some(toml::Value::String(s)) => s,
            Some(_) => return Err(err(Some("type"), "must be a string".into())),
            None => {
                return Err(err(
                    None,
                    format!(
                        "missing `type`; {} types: {}",
                        role.plural(),
                        registry::names(role).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        };
        let inputs = match table.remove("inputs") {
            None => Vec::new(),
            Some(toml::Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    _ => Err(err(Some("inputs"), "must be a list of stage names".into())),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(err(
                    Some("inputs"),
                    "must be a list of stage names, like inputs = [\"decode\"]".into(),
                ))
            }
        };
        // A key that is not in the file (missing, or the type itself) points at the header.
        let fail = |(key, msg): (Option<String>, String)| err(key.as_deref(), msg);
        let entry = registry::find(role, &type_name)
            .ok_or_else(|| fail(registry::unknown_type(role, &type_name)))?;
        let spec = entry.parse(table).map_err(fail)?;
        Ok(StageDecl {
            name,
            role,
            type_name,
            inputs,
            entry,
            spec,
            line,
            key_lines,
        })
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("decod", ["decode", "files", "archive"]),
            Some("decode")
        );
        assert_eq!(suggest("zzz", ["decode", "files"]), None);
    }
}
