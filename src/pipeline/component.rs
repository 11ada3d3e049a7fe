//! What a stage type is: one config struct that knows its name and role, the data kinds it
//! takes and gives, how to check itself, how much memory it will hold, and how to start.
//!
//! A stage type is one module holding its config struct with [`StageType`] and [`Component`]
//! implemented on it, plus one line in [`super::registry::TYPES`]. Everything else (the
//! valid-type lists, "did you mean", the graph's kind checks, `seisreduce check`'s memory
//! table, the runtime) reads the registry, so nothing else needs an edit.

use std::fmt::Debug;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::emit::{Emitter, StageError};
use super::graph::Pipeline;
use super::memory::{Flow, Need};
use crate::bus::{DataKind, Message, Payload};
use crate::ops::{ConfigError, Operator, Output};
use crate::settings::Settings;
use crate::sinks::Sink;
use crate::telemetry::metrics::StageMetrics;

/// The section of the pipeline file a stage type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Source,
    Operator,
    Sink,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Source, Role::Operator, Role::Sink];

    pub fn plural(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Operator => "operator",
            Role::Sink => "sink",
        }
    }

    /// The table the role's stages are declared in: `sources`, `operators`, `sinks`.
    pub fn section(self) -> &'static str {
        match self {
            Role::Source => "sources",
            Role::Operator => "operators",
            Role::Sink => "sinks",
        }
    }
}

/// A problem with a stage's keys: the key at fault (if one is) and what is wrong.
pub type KeyError = (Option<String>, String);

/// Turns an operator's parameter error into a [`KeyError`].
pub fn key_error(e: ConfigError) -> KeyError {
    match e {
        ConfigError::Invalid { key, message } => (Some(key.to_string()), message),
    }
}

/// The static facts of a stage type, read by the registry. Implemented by the config struct.
pub trait StageType: Component + DeserializeOwned + 'static {
    /// The `type = "..."` value.
    const NAME: &'static str;
    const ROLE: Role;
    /// One line for `seisreduce types` and the pipeline README.
    const ABOUT: &'static str;
    /// What it reads (sources: nothing); by default sample blocks, as most operators.
    const ACCEPTS: &'static [DataKind] = &[DataKind::Samples];
    /// What it emits (sinks: nothing); by default sample blocks.
    const EMITS: Option<DataKind> = Some(DataKind::Samples);
}

/// An operator stage over sample blocks: the [`Operator`] it runs and the state it keeps.
/// Implementing this gives the stage type its [`Component`]: `check` builds the operator (so
/// `check` and `run` refuse the same parameters) and `build` runs it.
pub trait OperatorStage: Debug + Send + Sync {
    fn operator(&self, stage: &str) -> Result<Box<dyn Operator>, ConfigError>;
    /// What it holds given the blocks it is fed, and the blocks it emits.
    fn state(&self, input: &Flow) -> Need;
}

impl<T: OperatorStage> Component for T {
    fn check(&self, stage: &str) -> Result<(), KeyError> {
        self.operator(stage).map(drop).map_err(key_error)
    }

    fn memory(&self, input: &Flow) -> Need {
        self.state(input)
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError> {
        Work::operator(self.operator(ctx.stage))
    }
}

/// What the runtime asks of a configured stage.
pub trait Component: Debug + Send + Sync {
    /// Checks of values that hold on any host (ranges, combinations, times). Operators check
    /// by building their operator, so `check` and `run` refuse the same parameters.
    fn check(&self, _stage: &str) -> Result<(), KeyError> {
        Ok(())
    }

    /// Checks that need the host that runs the stage (the files a source reads). Separate,
    /// because a processing host of a split pipeline does not have the acquisition host's files.
    fn check_here(&self) -> Result<(), KeyError> {
        Ok(())
    }

    /// The memory the stage will hold at most, given what flows into it (sources: nothing),
    /// and what it passes on. Queues between stages are counted by the runtime, not here.
    fn memory(&self, input: &Flow) -> Need;

    /// The running work of the stage. Everything that can fail at start fails here, before
    /// any thread starts.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<Work, StageError>;
}

/// What [`Component::build`] may use.
pub struct BuildContext<'a> {
    pub stage: &'a str,
    pub inputs: &'a [String],
    pub pipeline: &'a Pipeline,
    pub settings: &'a Settings,
    pub metrics: StageMetrics,
}

/// A source's loop: reads until its data end or the pipeline stops, emitting as it goes.
pub trait Source: Send {
    fn run(self: Box<Self>, em: &mut Emitter<'_>) -> Result<(), StageError>;
}

/// A stage between stages: takes messages, emits messages.
pub trait Transform: Send {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError>;
    /// No more input is waiting (or the stage is about to make its output durable): emit
    /// anything held back to join with what was expected next.
    fn idle(&mut self, _em: &mut Emitter<'_>) -> Result<(), StageError> {
        Ok(())
    }
    /// About once a second, whether input comes or not: for stages that watch the wall
    /// clock (a stream gone silent). Returns whether it emitted anything.
    fn tick(&mut self, _em: &mut Emitter<'_>) -> Result<bool, StageError> {
        Ok(false)
    }
    /// The input ended: emit whatever is held.
    fn finish(&mut self, _em: &mut Emitter<'_>) -> Result<(), StageError> {
        Ok(())
    }
}

/// What a stage does with its data.
pub enum Work {
    Source(Box<dyn Source>),
    Transform(Box<dyn Transform>),
    /// A sink, made durable every `commit` interval.
    Sink {
        sink: Box<dyn Sink>,
        commit: Duration,
    },
}

impl Work {
    /// The work of an operator stage over sample blocks.
    pub fn operator(op: Result<Box<dyn Operator>, ConfigError>) -> Result<Work, StageError> {
        let op = op.map_err(|e| StageError::Other(e.to_string()))?;
        Ok(Work::Transform(Box::new(Running {
            op,
            out: Output::default(),
        })))
    }

    /// The work of a source that runs `run(config, stage name, emitter)`.
    pub fn source<C: Clone + Send + 'static>(
        cfg: &C,
        stage: &str,
        run: fn(&C, &str, &mut Emitter<'_>) -> Result<(), StageError>,
    ) -> Work {
        Work::Source(Box::new(SourceLoop {
            cfg: cfg.clone(),
            stage: stage.to_string(),
            run,
        }))
    }

    pub fn sink(sink: impl Sink + 'static, commit_interval_s: f64) -> Work {
        Work::Sink {
            sink: Box::new(sink),
            commit: Duration::from_secs_f64(commit_interval_s),
        }
    }
}

/// A source's config, its stage name and its loop.
struct SourceLoop<C> {
    cfg: C,
    stage: String,
    run: fn(&C, &str, &mut Emitter<'_>) -> Result<(), StageError>,
}

impl<C: Send> Source for SourceLoop<C> {
    fn run(self: Box<Self>, em: &mut Emitter<'_>) -> Result<(), StageError> {
        (self.run)(&self.cfg, &self.stage, em)
    }
}

/// An [`Operator`] run as a stage: blocks in, blocks and stream events out.
struct Running {
    op: Box<dyn Operator>,
    out: Output,
}

impl Running {
    fn pass_on(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        for c in self.out.chunks.drain(..) {
            em.emit_chunk(c)?;
        }
        em.events(&self.out.events);
        self.out.clear();
        Ok(())
    }
}

impl Transform for Running {
    fn take(&mut self, m: Message, em: &mut Emitter<'_>) -> Result<(), StageError> {
        match m.payload {
            Payload::Block(c) => {
                self.op
                    .process(std::sync::Arc::unwrap_or_clone(c), &mut self.out);
                self.pass_on(em)
            }
            other => {
                em.wrong_kind(&m.key, &other);
                Ok(())
            }
        }
    }

    fn finish(&mut self, em: &mut Emitter<'_>) -> Result<(), StageError> {
        self.op.flush(&mut self.out);
        self.pass_on(em)
    }
}
