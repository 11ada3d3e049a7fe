//! Data formats read and written by seisreduce.

pub mod arrow;
pub mod das;
pub mod mseed;
