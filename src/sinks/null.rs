//! The `null` sink: counts what arrives and keeps nothing. For benchmarks, and for pipelines
//! whose product is their metrics.

use serde::Deserialize;

use super::Sink;
use crate::bus::Message;
use crate::pipeline::emit::StageError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullConfig {}

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
