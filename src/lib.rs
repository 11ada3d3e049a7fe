//! seisreduce: a streaming reduction pipeline for seismic and DAS data.
//!
//! This crate is the library behind the `seisreduce` binary. See `docs/architecture.md` for how
//! the parts fit together; in short: [`formats`] turns bytes into samples and back, [`model`] is
//! the vocabulary every stage shares, and [`inspect`] is the user-facing summary of files.

pub mod bus;
pub mod dsp;
pub mod formats;
pub mod inspect;
pub mod memory;
pub mod metadata;
pub mod model;
pub mod ops;
pub mod paths;
pub mod pipeline;
pub mod seedlink;
pub mod settings;
pub mod sinks;
pub mod sources;
pub mod synthetic;
pub mod telemetry;
