//! Synthetic data, in one place: the signal model ([`signal`]: realistic noise with events),
//! miniSEED files made from it ([`file`], `seisreduce synth`), and the `synthetic` pipeline
//! source ([`source`]) that streams it as station channels or as an array block.

pub mod file;
pub mod signal;
pub mod source;

pub use signal::{channel, Generator, NoiseModel};
