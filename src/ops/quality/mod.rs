//! Station quality: one row per stream per window of the metrics network operators already
//! read each morning, meaning what they mean in ObsPy's `MSEEDMetadata`, MUSTANG and scqc.
//!
//! - [`coverage`]: availability, gaps and overlaps of a window (MUSTANG's definitions, as ObsPy
//!   computes them);
//! - [`values`]: sample statistics over the window's exact values (min, max, mean, median,
//!   quartiles, demeaned rms, number of distinct values);
//! - [`spikes`]: MUSTANG's `num_spikes` (rolling Hampel filter, 41 samples, threshold 10);
//! - [`flags`]: miniSEED header flags, counted per window;
//! - [`timing`]: timing quality and time corrections of the records that add coverage;
//! - [`window`]: records cut on UTC-aligned windows, latency and delay as scqc defines them;
//! - [`table`]: the rows as an Arrow table, the product sinks and subscribers take;
//! - [`stage`]: the `quality` pipeline stage.

pub mod coverage;
pub mod flags;
pub mod spikes;
pub mod stage;
pub mod table;
pub mod timing;
pub mod values;
pub mod window;

pub use window::{Notes, Quality, Row};
