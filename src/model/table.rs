//! Table rows: products that are a row per stream per window (station quality, RSAM), as one
//! Arrow record batch. The batch's schema names its columns and units; `name` says which table
//! it belongs to, so that one sink can keep several tables apart.

use arrow_array::RecordBatch;
use arrow_schema::{DataType, TimeUnit};

/// The type of every time column of the tables: UTC nanoseconds.
pub fn utc_ns() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

#[derive(Debug, Clone)]
pub struct Table {
    /// The table's name (`quality`, ...): the sink's folder for it.
    pub name: String,
    /// The stream the rows are of (the bus key).
    pub stream: String,
    pub batch: RecordBatch,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }
}
