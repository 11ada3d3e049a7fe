//! The stage types a pipeline file may name, what each takes and gives, and their keys.

use serde::de::DeserializeOwned;

use super::operators::{
    AssembleConfig, CalculusConfig, DecimateConfig, DecodeConfig, DetrendConfig, FilterConfig,
    TaperConfig,
};
use crate::bus::DataKind;
use crate::sinks::archive::ArchiveConfig;
use crate::sinks::null::NullConfig;
use crate::sinks::parquet::ParquetConfig;
use crate::sinks::zarr::ZarrConfig;
use crate::sources::das::DasSourceConfig;
use crate::sources::files::MseedSourceConfig;
use crate::sources::synthetic::SyntheticConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Operator,
    Sink,
}

impl Role {
    pub fn plural(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Operator => "operator",
            Role::Sink => "sink",
        }
    }

    /// The `type`s valid in this role's section.
    pub fn types(self) -> &'static [&'static str] {
        match self {
            Role::Source => &["mseed", "das", "synthetic"],
            Role::Operator => &[
                "decode",
                "decimate",
                "filter",
                "detrend",
                "taper",
                "integrate",
                "differentiate",
                "assemble",
            ],
            Role::Sink => &["mseed", "zarr", "parquet", "null"],
        }
    }
}

/// A stage's own configuration, by type.
#[derive(Debug, Clone)]
pub enum StageSpec {
    MseedSource(MseedSourceConfig),
    Synthetic(SyntheticConfig),
    DasSource(DasSourceConfig),
    Decode(DecodeConfig),
    Decimate(DecimateConfig),
    Assemble(AssembleConfig),
    Filter(FilterConfig),
    Detrend(DetrendConfig),
    Taper(TaperConfig),
    Integrate(CalculusConfig),
    Differentiate(CalculusConfig),
    Archive(ArchiveConfig),
    Zarr(ZarrConfig),
    Parquet(ParquetConfig),
    Null(NullConfig),
}

/// Deserialises a stage's keys; on error, the key at fault (if any) and the message.
fn keys<T: DeserializeOwned>(table: toml::Table) -> Result<T, (Option<String>, String)> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.inner().message().trim().to_string();
        // serde names an unknown key in the message; report it as the key at fault.
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        let key = unknown.or((path != "." && !path.is_empty()).then_some(path));
        let msg = if msg.starts_with("unknown field") {
            format!("{msg} (besides `type` and `inputs`)")
        } else {
            msg
        };
        (key, msg)
    })
}

impl StageSpec {
    pub fn parse(
        role: Role,
        type_name: &str,
        table: toml::Table,
    ) -> Result<StageSpec, (Option<String>, String)> {
        use StageSpec as S;
        Ok(match (role, type_name) {
            (Role::Source, "mseed") => S::MseedSource(keys(table)?),
            (Role::Source, "synthetic") => S::Synthetic(keys(table)?),
            (Role::Source, "das") => S::DasSource(keys(table)?),
            (Role::Operator, "decode") => S::Decode(keys(table)?),
            (Role::Operator, "decimate") => S::Decimate(keys(table)?),
            (Role::Operator, "assemble") => S::Assemble(keys(table)?),
            (Role::Operator, "filter") => S::Filter(keys(table)?),
            (Role::Operator, "detrend") => S::Detrend(keys(table)?),
            (Role::Operator, "taper") => S::Taper(keys(table)?),
            (Role::Operator, "integrate") => S::Integrate(keys(table)?),
            (Role::Operator, "differentiate") => S::Differentiate(keys(table)?),
            (Role::Sink, "mseed") => S::Archive(keys(table)?),
            (Role::Sink, "zarr") => S::Zarr(keys(table)?),
            (Role::Sink, "parquet") => S::Parquet(keys(table)?),
            (Role::Sink, "null") => S::Null(keys(table)?),
            (role, other) => {
                let hint = super::config::suggest(other, role.types().iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                let elsewhere = [Role::Source, Role::Operator, Role::Sink]
                    .into_iter()
                    .filter(|r| *r != role && r.types().contains(&other))
                    .map(|r| format!("; `{other}` is a {} type", r.plural()))
                    .collect::<String>();
                return Err((
                    Some("type".into()),
                    format!(
                        "unknown {} type `{other}`{hint}{elsewhere}; valid: {}",
                        role.plural(),
                        role.types().join(", ")
                    ),
                ));
            }
        })
    }

    /// What the stage emits (sinks: nothing).
    pub fn output(&self) -> Option<DataKind> {
        match self {
            StageSpec::MseedSource(_) => Some(DataKind::Records),
            StageSpec::Archive(_)
            | StageSpec::Zarr(_)
            | StageSpec::Parquet(_)
            | StageSpec::Null(_) => None,
            _ => Some(DataKind::Samples),
        }
    }

    /// What the stage accepts as input (sources: nothing).
    pub fn accepts(&self) -> &'static [DataKind] {
        match self {
            StageSpec::MseedSource(_) | StageSpec::Synthetic(_) | StageSpec::DasSource(_) => &[],
            StageSpec::Decode(_) => &[DataKind::Records],
            StageSpec::Archive(_) | StageSpec::Parquet(_) | StageSpec::Null(_) => {
                &[DataKind::Records, DataKind::Samples]
            }
            _ => &[DataKind::Samples],
        }
    }
}
