//! Sinks: where data leaves a pipeline. A sink takes messages and, when asked, makes what it
//! took durable; only then does the runtime commit the input positions, so a crash replays
//! rather than loses.

pub mod archive;
pub mod null;

use crate::bus::Message;
use crate::pipeline::emit::StageError;

pub trait Sink: Send {
    fn write(&mut self, m: &Message) -> Result<(), StageError>;
    /// Everything written so far (and the positions it came from) is durable when this returns.
    fn sync(&mut self) -> Result<(), StageError>;
    /// Forgets everything written since the last sync (it will be delivered again).
    fn rollback(&mut self) -> Result<(), StageError>;
}
