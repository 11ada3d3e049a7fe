//! Pipelines: the file that names the stages ([`config`]), the types a stage may be
//! ([`stages`], [`operators`]), the checks made before anything starts ([`graph`]), and the
//! runtime that runs them over a bus ([`runtime`]).

pub mod config;
pub mod emit;
pub mod graph;
pub mod operators;
pub mod provenance;
pub mod runtime;
pub mod stages;

pub use config::{PipelineError, PipelineFile};
pub use graph::Pipeline;
