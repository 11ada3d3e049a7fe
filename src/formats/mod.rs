//! Data formats read and written by seisreduce.

pub mod arrow;
pub mod ccf_arrow;
pub mod das;
pub mod mseed;
pub mod spectra_arrow;
pub mod table_arrow;
