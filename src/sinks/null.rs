//! The `null` sink: counts what arrives and keeps nothing. For benchmarks, and for pipelines
//! whose product is their metrics.

use serde::Deserialize;

use super::Sink;
use crate::bus::{DataKind, Message};
use crate::pipeline::component::{BuildContext, Component, Role, StageType, Work};
use crate::pipeline::emit::StageError;
use crate::pipeline::memory::{Flow, Need};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullConfig {}

impl StageType for NullConfig {
    const NAME: &'static str = "null";
    const ROLE: Role = Role::Sink;
    const ABOUT: &'static str =
        "counts what arrives and keeps nothing (benchmarks, metrics-only pipelines)";
    const ACCEPTS: &'static [DataKind] = &[DataKind::Records, DataKind::Samples];
    const EMITS: Option<DataKind> = None;
}

impl Component for NullConfig {
    fn memory(&self, _: &Flow) -> Need {
        Need::new(0, "nothing kept", Flow::default())
    }

    fn build(&self, _: &BuildContext<'_>) -> Result<Work, StageError> {
        Ok(Work::sink(NullSink, 1.0))
    }
}

pub struct NullSink;

impl Sink for NullSink {
    fn write(&mut self, _: &Message) -> Result<(), StageError> {
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StageError> {
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StageError> {
        Ok(())
    }
}
