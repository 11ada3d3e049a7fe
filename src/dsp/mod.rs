//! Signal-processing building blocks: filter design and the inner loops over slices.
//!
//! Nothing here knows about streams, chunks or time; [`crate::ops`] wraps these into operators.
//!
//! - [`kaiser`], [`response`], [`cascade`]: anti-alias FIR design, verified against its spec.
//! - [`dot`]: the polyphase decimator's inner loop (AVX2/FMA at run time, portable fallback).
//! - [`butter`], [`zpk2sos`], [`sos`]: Butterworth design as SciPy does it, and running it.
//! - [`welch`]: Welch power spectral density as ObsPy's PPSD computes it (matplotlib's).

pub mod butter;
pub mod cascade;
pub mod dot;
pub mod kaiser;
pub mod response;
pub mod sos;
pub mod welch;
pub mod zpk2sos;
