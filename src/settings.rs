//! Deployment settings: where the broker is, how to authenticate, where files go, how to log.
//!
//! These differ between a laptop and a cluster while the pipeline file stays the same, so they
//! live apart from it: a TOML file (`configs/*.toml`, chosen with `--config` or
//! `SEISREDUCE_CONFIG`), then `SEISREDUCE_<SECTION>_<KEY>` environment variables on top (what a
//! Kubernetes pod spec or a Secret sets). Unknown keys and unknown `SEISREDUCE_*` variables are
//! errors naming the key and listing the valid ones: a misspelt password variable must not be
//! silently ignored. Secrets are held in [`Secret`], which never prints its value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that must never appear in logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value itself, for handing to the client library that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Serialised (settings shown as TOML) as `***`, never the value.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter: `info`, `seisreduce=debug,rdkafka=warn`, ...
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Address of the `/metrics`, `/healthz` and `/readyz` endpoints (`127.0.0.1:9898`,
    /// `0.0.0.0:9898` in a pod); none: no endpoint.
    pub listen: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// Relative output paths of sinks are taken from here; an `s3://BUCKET/PREFIX` root puts
    /// the outputs of the Zarr and Parquet sinks in object storage.
    pub root: PathBuf,
    /// S3-compatible endpoint (`http://127.0.0.1:9000`, a MinIO or Ceph gateway); none: AWS.
    /// The `AWS_*` variables are read too; these settings win.
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
    /// Allow plain `http://` endpoints (a server inside the cluster or on loopback).
    pub s3_allow_http: bool,
    /// Objects of a Zarr column PUT at the same time: one after the other, a distant
    /// bucket's round trips add up (a column holds one object per block of channels).
    pub s3_puts_at_once: usize,
}

impl StorageSettings {
    /// Where a sink's `path` is: as given when absolute, else under the root.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            root: PathBuf::from("out"),
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            s3_puts_at_once: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list.
    pub brokers: String,
    /// Partitions of the topics the pipeline creates.
    pub partitions: i32,
    pub replication: i32,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub security_protocol: String,
    pub ssl_ca_location: Option<PathBuf>,
    pub ssl_certificate_location: Option<PathBuf>,
    pub ssl_key_location: Option<PathBuf>,
    pub ssl_key_password: Option<Secret>,
    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`.
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    pub sasl_password: Option<Secret>,
    /// Static group membership (`group.instance.id`): a stable name per process (a
    /// StatefulSet pod name), so that a restarted consumer takes its partitions back at once
    /// instead of after the dead member's session timeout.
    pub group_instance_id: Option<String>,
    /// Any other librdkafka property, passed through as is.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            brokers: "127.0.0.1:9092".into(),
            partitions: 4,
            replication: 1,
            security_protocol: "plaintext".into(),
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
            ssl_key_password: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            group_instance_id: None,
            properties: BTreeMap::new(),
        }
    }
}

impl KafkaSettings {
    /// The librdkafka properties these settings stand for (secrets included: for the client
    /// only, never for a log line).
    pub fn client_properties(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("bootstrap.servers".to_string(), self.brokers.clone()),
            (
                "security.protocol".to_string(),
                self.security_protocol.clone(),
            ),
        ];
        let paths = [
            ("ssl.ca.location", &self.ssl_ca_location),
            ("ssl.certificate.location", &self.ssl_certificate_location),
            ("ssl.key.location", &self.ssl_key_location),
        ];
        for (k, v) in paths {
            if let Some(v) = v {
                p.push((k.into(), v.display().to_string()));
            }
        }
        let strings = [
            ("sasl.mechanisms", self.sasl_mechanism.as_deref()),
            ("sasl.username", self.sasl_username.as_deref()),
            (
                "sasl.password",
                self.sasl_password.as_ref().map(Secret::expose),
            ),
            (
                "ssl.key.password",
                self.ssl_key_password.as_ref().map(Secret::expose),
            ),
        ];
        for (k, v) in strings {
            if let Some(v) = v {
                p.push((k.into(), v.into()));
            }
        }
        p.extend(self.properties.iter().map(|(k, v)| (k.clone(), v.clone())));
        p
    }
}

/// How much memory the process may plan to hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemorySettings {
    /// `run` refuses to start a pipeline whose stated bound is above this (`512MiB`, `4 GiB`);
    /// default: the container's cgroup limit when there is one, else none.
    pub limit: Option<String>,
}

impl MemorySettings {
    /// The limit in bytes and where it came from; an unreadable size is an error naming the key.
    pub fn limit_bytes(&self) -> Result<Option<(u64, &'static str)>, String> {
        match &self.limit {
            Some(text) => crate::pipeline::memory::parse_size(text)
                .map(|b| Some((b, "memory.limit")))
                .ok_or_else(|| {
                    format!(
                        "memory.limit = {text:?}: not a size (use e.g. \"512MiB\" or \"4 GiB\")"
                    )
                }),
            None => Ok(crate::pipeline::memory::cgroup_limit()
                .map(|b| (b, "the container's cgroup limit"))),
        }
    }
}

/// Everything a deployment can set.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub storage: StorageSettings,
    pub kafka: KafkaSettings,
    pub memory: MemorySettings,
}

impl Settings {
    /// The effective settings as TOML, secrets as `***` (for `check` and debug logs).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# settings not shown: {e}"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    Bool,
}

/// Every setting an environment variable may override: `SEISREDUCE_<SECTION>_<KEY>`.
const ENV_KEYS: &[(&str, &str, Ty)] = &[
    ("log", "format", Ty::Str),
    ("log", "level", Ty::Str),
    ("metrics", "listen", Ty::Str),
    ("storage", "root", Ty::Str),
    ("storage", "s3_endpoint", Ty::Str),
    ("storage", "s3_region", Ty::Str),
    ("storage", "s3_access_key_id", Ty::Str),
    ("storage", "s3_secret_access_key", Ty::Str),
    ("storage", "s3_allow_http", Ty::Bool),
    ("storage", "s3_puts_at_once", Ty::Int),
    ("kafka", "brokers", Ty::Str),
    ("kafka", "partitions", Ty::Int),
    ("kafka", "replication", Ty::Int),
    ("kafka", "security_protocol", Ty::Str),
    ("kafka", "ssl_ca_location", Ty::Str),
    ("kafka", "ssl_certificate_location", Ty::Str),
    ("kafka", "ssl_key_location", Ty::Str),
    ("kafka", "ssl_key_password", Ty::Str),
    ("kafka", "sasl_mechanism", Ty::Str),
    ("kafka", "sasl_username", Ty::Str),
    ("kafka", "sasl_password", Ty::Str),
    ("kafka", "group_instance_id", Ty::Str),
    ("memory", "limit", Ty::Str),
];

/// `SEISREDUCE_*` variables that are not settings: the settings file itself, and process
/// switches read elsewhere.
const ENV_NOT_SETTINGS: &[&str] = &["SEISREDUCE_CONFIG", "SEISREDUCE_DEFAULT_MALLOC"];

fn env_name(section: &str, key: &str) -> String {
    format!("SEISREDUCE_{}_{}", section, key).to_ascii_uppercase()
}

impl Settings {
    /// Reads `path` (if given) and applies the `SEISREDUCE_*` variables in `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let (text, shown) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| SettingsError::Read {
                    path: p.to_path_buf(),
                    source,
                })?,
                p.to_path_buf(),
            ),
            None => (String::new(), PathBuf::from("(defaults)")),
        };
        let parse_err = |e: toml::de::Error| SettingsError::Parse {
            path: shown.clone(),
            line: e.span().map_or(1, |s| line_of(&text, s.start)),
            message: e.message().trim().to_string(),
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(parse_err)?;
        let mut from_env = Vec::new();
        for (var, value) in env {
            if !var.starts_with("SEISREDUCE_") || ENV_NOT_SETTINGS.contains(&var.as_str()) {
                continue;
            }
            let Some(&(section, key, ty)) = ENV_KEYS.iter().find(|(s, k, _)| env_name(s, k) == var)
            else {
                let valid: Vec<String> = ENV_KEYS.iter().map(|(s, k, _)| env_name(s, k)).collect();
                return Err(SettingsError::Env {
                    var,
                    message: format!(
                        "not a setting; valid: {} (and {})",
                        valid.join(", "),
                        ENV_NOT_SETTINGS.join(", ")
                    ),
                });
            };
            let v = match ty {
                Ty::Str => toml::Value::String(value),
                Ty::Int => {
                    toml::Value::Integer(value.trim().parse().map_err(|_| SettingsError::Env {
                        var: var.clone(),
                        message: "must be a whole number".into(),
                    })?)
                }
                Ty::Bool => toml::Value::Boolean(match value.trim() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(SettingsError::Env {
                            var,
                            message: "must be true or false".into(),
                        })
                    }
                }),
            };
            let sec = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            if let toml::Value::Table(t) = sec {
                t.insert(key.to_string(), v);
            }
            from_env.push((format!("{section}.{key}"), var));
        }
        // Re-serialise so that type errors point at a line of what the user wrote or, for a
        // value that came from the environment, name the variable.
        match serde_path_to_error::deserialize::<_, Settings>(toml::Value::Table(table)) {
            Ok(s) => Ok(s),
            Err(e) => {
                let key = e.path().to_string();
                let message = e.inner().message().trim().to_string();
                let mut parts = key.splitn(2, '.');
                let (section, field) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                if let Some((_, var)) = from_env.into_iter().find(|(k, _)| *k == key) {
                    return Err(SettingsError::Env { var, message });
                }
                Err(SettingsError::Parse {
                    path: shown.clone(),
                    line: find_key_line(&text, section, field),
                    message: format!("`{key}`: {message}"),
                })
            }
        }
    }

    /// The settings file named by `--config`, else `SEISREDUCE_CONFIG`, else none, with the
    /// process environment applied.
    pub fn from_process(config: Option<&Path>) -> Result<Settings, SettingsError> {
        let from_env = std::env::var_os("SEISREDUCE_CONFIG").map(PathBuf::from);
        let path = config.map(Path::to_path_buf).or(from_env);
        Settings::load(path.as_deref(), std::env::vars())
    }
}

/// 1-based line of byte offset `at`.
pub fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Best-effort line of `key` inside `[section]`, for errors found after parsing.
fn find_key_line(text: &str, section: &str, key: &str) -> usize {
    let mut in_section = section.is_empty();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_section = t.trim_matches(|c| c == '[' || c == ']').trim() == section;
        } else if in_section && t.split('=').next().is_some_and(|k| k.trim() == key) {
            return i + 1;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_and_secrets_stay_hidden() {
        let s = Settings::load(
            None,
            env(&[
                ("SEISREDUCE_KAFKA_BROKERS", "10.0.0.1:9093"),
                ("SEISREDUCE_KAFKA_PARTITIONS", "12"),
                ("SEISREDUCE_KAFKA_SASL_PASSWORD", "hunter2"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(s.kafka.brokers, "10.0.0.1:9093");
        assert_eq!(s.kafka.partitions, 12);
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(s
            .kafka
            .client_properties()
            .contains(&("sasl.password".into(), "hunter2".into())));
    }

    #[test]
    fn unknown_env_variable_is_named() {
        let e = Settings::load(None, env(&[("SEISREDUCE_KAFKA_BROKER", "x")])).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("SEISREDUCE_KAFKA_BROKER:"), "{m}");
        assert!(m.contains("SEISREDUCE_KAFKA_BROKERS"), "{m}");
        let e = Settings::load(None, env(&[("SEISREDUCE_KAFKA_PARTITIONS", "four")])).unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
    }
}
