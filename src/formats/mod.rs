//! Data formats read and written by seisreduce.

pub mod mseed;
pub mod arrow;
