//! A publisher that keeps the sample blocks sent to it, for the unit tests of stages.

use std::sync::{Arc, Mutex};

use super::{BusError, Payload, Publisher};
use crate::model::Chunk;

/// Clones share the blocks: hand one to the stage's emitter, read the other.
#[derive(Clone, Default)]
pub struct Collect(pub Arc<Mutex<Vec<Chunk>>>);

impl Publisher for Collect {
    fn send(&mut self, _: &str, payload: &Payload) -> Result<(), BusError> {
        if let Payload::Block(c) = payload {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c.as_ref().clone());
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BusError> {
        Ok(())
    }
}
