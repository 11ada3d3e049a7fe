//! Every stage type, listed once. Adding a type is its module plus one line here.

use std::sync::Arc;

use super::component::{Component, KeyError, Role, StageType};
use crate::bus::DataKind;

/// One stage type: its static facts and how to read its keys.
#[derive(Debug)]
pub struct TypeEntry {
    pub name: &'static str,
    pub role: Role,
    pub about: &'static str,
    pub accepts: &'static [DataKind],
    pub emits: Option<DataKind>,
    parse: fn(toml::Table) -> Result<Arc<dyn Component>, KeyError>,
}

/// The entry of config struct `T`.
pub const fn entry<T: StageType>() -> TypeEntry {
    TypeEntry {
        name: T::NAME,
        role: T::ROLE,
        about: T::ABOUT,
        accepts: T::ACCEPTS,
        emits: T::EMITS,
        parse: parse_as::<T>,
    }
}

/// The registry. Order is the order types are listed in (errors, `seisreduce types`).
pub static TYPES: &[TypeEntry] = &[
    entry::<crate::sources::files::MseedSourceConfig>(),
    entry::<crate::sources::das::DasSourceConfig>(),
    entry::<crate::sources::das_stream::DasStreamConfig>(),
    entry::<crate::sources::seedlink::SeedlinkSourceConfig>(),
    entry::<crate::sources::fdsnws::FdsnwsSourceConfig>(),
    entry::<crate::synthetic::source::SyntheticConfig>(),
    entry::<crate::ops::decode::DecodeConfig>(),
    entry::<crate::ops::decimate::DecimateConfig>(),
    entry::<crate::ops::filter::FilterConfig>(),
    entry::<crate::ops::detrend::DetrendConfig>(),
    entry::<crate::ops::taper::TaperConfig>(),
    entry::<crate::ops::calculus::IntegrateConfig>(),
    entry::<crate::ops::calculus::DifferentiateConfig>(),
    entry::<crate::ops::sensitivity::RemoveSensitivityConfig>(),
    entry::<crate::ops::response::RemoveResponseConfig>(),
    entry::<crate::ops::assemble::AssembleConfig>(),
    entry::<crate::ops::xcorr::stage::XcorrSpectraConfig>(),
    entry::<crate::ops::xcorr::XcorrConfig>(),
    entry::<crate::ops::rsam::RsamConfig>(),
    entry::<crate::ops::rsam::RsamTableConfig>(),
    entry::<crate::ops::ppsd::stage::PpsdConfig>(),
    entry::<crate::ops::health::HealthConfig>(),
    entry::<crate::ops::quality::stage::QualityConfig>(),
    entry::<crate::sinks::archive::ArchiveConfig>(),
    entry::<crate::sinks::zarr::ZarrConfig>(),
    entry::<crate::sinks::parquet::ParquetConfig>(),
    entry::<crate::sinks::parquet_table::ParquetTableConfig>(),
    entry::<crate::sinks::seedlink::SeedlinkSinkConfig>(),
    entry::<crate::sinks::null::NullConfig>(),
];

/// The types valid in `role`'s section.
pub fn names(role: Role) -> impl Iterator<Item = &'static str> {
    TYPES.iter().filter(move |t| t.role == role).map(|t| t.name)
}

/// The entry for `type = name` in `role`'s section.
pub fn find(role: Role, name: &str) -> Option<&'static TypeEntry> {
    TYPES.iter().find(|t| t.role == role && t.name == name)
}

/// Operator types that turn `from` into one of `to`: what to put between two stages.
pub fn converters(
    from: DataKind,
    to: &[DataKind],
) -> impl Iterator<Item = &'static TypeEntry> + '_ {
    TYPES.iter().filter(move |t| {
        t.role == Role::Operator
            && t.accepts.contains(&from)
            && t.emits.is_some_and(|e| to.contains(&e))
    })
}

impl TypeEntry {
    /// Reads a stage's keys (without `type` and `inputs`) into its config.
    pub fn parse(&self, table: toml::Table) -> Result<Arc<dyn Component>, KeyError> {
        (self.parse)(table)
    }
}

/// `unknown operator type `x` (did you mean `y`?); `x` is a sink type; valid: ...`.
pub fn unknown_type(role: Role, name: &str) -> KeyError {
    let hint = super::config::suggest(name, names(role))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    let elsewhere = Role::ALL
        .into_iter()
        .filter(|r| *r != role && find(*r, name).is_some())
        .map(|r| format!("; `{name}` is a {} type", r.plural()))
        .collect::<String>();
    (
        Some("type".into()),
        format!(
            "unknown {} type `{name}`{hint}{elsewhere}; valid: {}",
            role.plural(),
            names(role).collect::<Vec<_>>().join(", ")
        ),
    )
}

/// The list of types as Markdown, as `pipelines/README.md` carries it (a test compares).
pub fn markdown() -> String {
    let kinds = |k: &[DataKind]| {
        if k.is_empty() {
            "—".to_string()
        } else {
            k.iter()
                .map(|k| k.describe())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut out =
        String::from("| section | type | takes | gives | what it does |\n|---|---|---|---|---|\n");
    for t in TYPES {
        out += &format!(
            "| `[{}.NAME]` | `{}` | {} | {} | {} |\n",
            t.role.section(),
            t.name,
            kinds(t.accepts),
            t.emits.map_or("—", |k| k.describe()),
            t.about
        );
    }
    out
}

/// Deserialises a stage's keys into `T`; on error, the key at fault (if any) and the message.
fn parse_as<T: StageType>(table: toml::Table) -> Result<Arc<dyn Component>, KeyError> {
    let t: T = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
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
    })?;
    Ok(Arc::new(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_listed_once_per_role() {
        for t in TYPES {
            let same = TYPES
                .iter()
                .filter(|u| u.role == t.role && u.name == t.name)
                .count();
            assert_eq!(
                same,
                1,
                "{} {} listed {same} times",
                t.role.plural(),
                t.name
            );
            match t.role {
                Role::Source => assert!(t.accepts.is_empty() && t.emits.is_some(), "{}", t.name),
                Role::Operator => assert!(!t.accepts.is_empty() && t.emits.is_some(), "{}", t.name),
                Role::Sink => assert!(!t.accepts.is_empty() && t.emits.is_none(), "{}", t.name),
            }
        }
    }

    #[test]
    fn records_to_samples_goes_through_decode() {
        let names: Vec<_> = converters(DataKind::Records, &[DataKind::Samples])
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["decode"]);
    }
}
