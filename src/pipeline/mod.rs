//! Pipelines: the file that names the stages ([`config`]), what a stage type is
//! ([`component`]) and the list of them ([`registry`]), the checks made before anything starts
//! ([`graph`]), the memory a pipeline will hold ([`memory`]), the runtime that runs it over a
//! bus ([`runtime`]) and what it tells its user at the end ([`summary`]).

pub mod component;
pub mod config;
pub mod emit;
pub mod graph;
pub mod memory;
pub mod provenance;
pub mod registry;
pub mod repeats;
pub mod runtime;
pub mod summary;

pub use config::{PipelineError, PipelineFile};
pub use graph::Pipeline;
