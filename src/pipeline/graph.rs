//! Validation of a parsed pipeline file: names, inputs, cycles, data kinds, stage parameters.
//! Everything that can be checked before data flows is checked here, so `seisreduce check`
//! and the start of `seisreduce run` find the same problems.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::component::Role;
use super::config::{suggest, PipelineError, PipelineFile, StageDecl};
use super::registry;

/// A pipeline that passed every check.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub file: PipelineFile,
    /// Stage names in an order where every stage comes after its inputs.
    pub order: Vec<String>,
    /// The `[metadata]` catalogue, read on first use and shared by the stages.
    catalogue:
        std::sync::OnceLock<Result<Option<std::sync::Arc<crate::metadata::live::Live>>, String>>,
}

impl Pipeline {
    pub fn load(path: &Path) -> Result<Pipeline, PipelineError> {
        Self::validate(PipelineFile::load(path)?)
    }

    pub fn validate(file: PipelineFile) -> Result<Pipeline, PipelineError> {
        let by_name: HashMap<&str, &StageDecl> =
            file.stages.iter().map(|s| (s.name.as_str(), s)).collect();
        if file.stages.is_empty() {
            return Err(file.error(
                1,
                None,
                None,
                "no stages: add [sources.NAME], [operators.NAME] and [sinks.NAME] tables",
            ));
        }
        // One namespace for all roles: inputs name stages, whatever their section.
        let mut seen: BTreeMap<&str, &StageDecl> = BTreeMap::new();
        for s in &file.stages {
            if let Some(first) = seen.insert(&s.name, s) {
                return Err(file.error(
                    s.line,
                    Some(&s.name),
                    None,
                    format!(
                        "name already used by the {} on line {}; stage names are shared by all sections",
                        first.role.plural(),
                        first.line
                    ),
                ));
            }
        }
        let names: Vec<&str> = file.stages.iter().map(|s| s.name.as_str()).collect();
        for s in &file.stages {
            let err = |k: Option<&str>, m: String| file.error(s.line_of(k), Some(&s.name), k, m);
            match (s.role, s.inputs.is_empty()) {
                (Role::Source, false) => {
                    return Err(err(Some("inputs"), "sources take no inputs".into()))
                }
                (Role::Operator | Role::Sink, true) => {
                    return Err(err(
                        Some("inputs"),
                        format!(
                            "missing: name the stages this {} reads, e.g. inputs = [\"{}\"]",
                            s.role.plural(),
                            names.first().copied().unwrap_or("source")
                        ),
                    ))
                }
                _ => {}
            }
            for input in &s.inputs {
                let Some(up) = by_name.get(input.as_str()) else {
                    let hint = suggest(input, names.iter().copied().filter(|n| *n != s.name))
                        .map(|h| format!("did you mean `{h}`? "))
                        .unwrap_or_default();
                    return Err(err(
                        Some("inputs"),
                        format!(
                            "no stage named `{input}`; {hint}stages: {}",
                            names.join(", ")
                        ),
                    ));
                };
                let Some(kind) = up.entry.emits else {
                    return Err(err(
                        Some("inputs"),
                        format!("`{input}` is a sink: it has no output to read"),
                    ));
                };
                let accepts = s.entry.accepts;
                if !accepts.contains(&kind) {
                    let fix = registry::converters(kind, accepts)
                        .next()
                        .map(|t| {
                            let n = t.name;
                            format!("; put a `{n}` operator between them (type = \"{n}\", inputs = [\"{input}\"])")
                        })
                        .unwrap_or_default();
                    return Err(err(
                        Some("inputs"),
                        format!(
                            "`{input}` ({} `{}`) gives {}, but `{}` takes {}{fix}",
                            up.role.plural(),
                            up.type_name,
                            kind.describe(),
                            s.type_name,
                            accepts
                                .iter()
                                .map(|k| k.describe())
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    ));
                }
            }
            s.spec
                .check(&s.name)
                .map_err(|(k, m)| err(k.as_deref(), m))?;
        }
        let order = topological(&file, &by_name)?;
        Ok(Pipeline {
            file,
            order,
            catalogue: Default::default(),
        })
    }

    /// The station metadata named by `[metadata]` (None without one), read on first use and
    /// again every `refresh_s`: a source that cannot be read at first is an error naming it;
    /// channels left out are logged.
    pub fn catalogue(&self) -> Result<Option<std::sync::Arc<crate::metadata::live::Live>>, String> {
        self.catalogue
            .get_or_init(|| {
                let Some(m) = &self.file.metadata else {
                    return Ok(None);
                };
                let base = self.file.path.parent().unwrap_or(std::path::Path::new("."));
                let sources: Vec<String> = m
                    .stationxml
                    .iter()
                    .map(|s| {
                        let p = std::path::Path::new(s);
                        if s.contains("://") || p.is_absolute() {
                            s.clone()
                        } else {
                            base.join(p).display().to_string()
                        }
                    })
                    .collect();
                let refresh = match m.refresh_s {
                    Some(s) if !(s.is_finite() && s > 0.0) => {
                        return Err(format!("[metadata] refresh_s: {s}: must be positive"))
                    }
                    s => s.map(std::time::Duration::from_secs_f64),
                };
                let live = crate::metadata::live::Live::start(sources.clone(), refresh)
                    .map_err(|e| format!("[metadata] stationxml: {e}"))?;
                let c = live.current();
                for p in &c.problems {
                    tracing::warn!("station metadata: {p}");
                }
                tracing::info!(
                    epochs = c.epochs().len(),
                    channels = c.channels(),
                    "station metadata read from {}",
                    sources.join(", ")
                );
                Ok(Some(live))
            })
            .clone()
    }

    /// Checks what depends on the host that runs `stages` (all when `None`): that the files
    /// a source reads are there. Separate from [`Pipeline::validate`] because a processing
    /// host of a split pipeline does not have the acquisition host's files.
    pub fn check_here(&self, stages: Option<&[String]>) -> Result<(), PipelineError> {
        for s in &self.file.stages {
            if stages.is_some_and(|l| !l.contains(&s.name)) {
                continue;
            }
            s.spec.check_here().map_err(|(k, m)| {
                let k = k.as_deref();
                self.file.error(s.line_of(k), Some(&s.name), k, m)
            })?;
        }
        // The station metadata reads here, before any stage starts (and once: the stages
        // share what was read).
        if let Err(m) = self.catalogue() {
            let line = self
                .file
                .text
                .lines()
                .position(|l| l.trim() == "[metadata]")
                .map_or(1, |i| i + 1);
            let key = if m.starts_with("[metadata] refresh_s") {
                "metadata.refresh_s"
            } else {
                "metadata.stationxml"
            };
            return Err(self.file.error(line, None, Some(key), m));
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.file.header.name
    }

    pub fn stage(&self, name: &str) -> Option<&StageDecl> {
        self.file.stages.iter().find(|s| s.name == name)
    }

    /// (upstream, downstream) for every input of every stage.
    pub fn edges(&self) -> Vec<(String, String)> {
        self.file
            .stages
            .iter()
            .flat_map(|s| s.inputs.iter().map(|i| (i.clone(), s.name.clone())))
            .collect()
    }

    /// Whether any stage reads `stage`'s output.
    pub fn has_consumers(&self, stage: &str) -> bool {
        self.file
            .stages
            .iter()
            .any(|s| s.inputs.iter().any(|i| i == stage))
    }
}

/// Orders stages inputs-first; a cycle is an error that lists it.
fn topological(
    file: &PipelineFile,
    by_name: &HashMap<&str, &StageDecl>,
) -> Result<Vec<String>, PipelineError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark: HashMap<&str, Mark> = by_name.keys().map(|k| (*k, Mark::New)).collect();
    let mut order = Vec::new();
    fn visit<'a>(
        n: &'a str,
        by_name: &HashMap<&str, &'a StageDecl>,
        mark: &mut HashMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match mark[n] {
            Mark::Done => return Ok(()),
            Mark::Active => {
                let from = path.iter().position(|p| *p == n).unwrap_or(0);
                let mut cycle: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
                cycle.push(n.to_string());
                return Err(cycle);
            }
            Mark::New => {}
        }
        mark.insert(n, Mark::Active);
        path.push(n);
        for i in &by_name[n].inputs {
            visit(i, by_name, mark, path, order)?;
        }
        path.pop();
        mark.insert(n, Mark::Done);
        order.push(n.to_string());
        Ok(())
    }
    for s in &file.stages {
        let mut path = Vec::new();
        visit(&s.name, by_name, &mut mark, &mut path, &mut order).map_err(|cycle| {
            // Report at the stage that closes the loop, reading in data-flow order.
            let mut flow = cycle.clone();
            flow.reverse();
            let at = by_name[cycle[0].as_str()];
            file.error(
                at.line_of(Some("inputs")),
                Some(&at.name),
                Some("inputs"),
                format!(
                    "cycle: {}; data must flow from sources to sinks",
                    flow.join(" -> ")
                ),
            )
        })?;
    }
    Ok(order)
}
