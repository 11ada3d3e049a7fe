//! A PRODML 2.1 writer that behaves like an interrogator: it creates a file with an
//! extendible `RawData` (time, locus) array and appends rows as they are "recorded",
//! flushing after each append, so readers see the file grow. For tests, demos and the
//! ingest benchmarks; the layout is the one [`super::prodml`] reads (Silixa iDAS style).

use std::path::Path;

use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Location};
use ndarray::{s, Array1, ArrayView2};

use crate::model::{sample_time, Iso, Nanos};

/// The acquisition a file describes.
#[derive(Debug, Clone)]
pub struct Acquisition {
    pub start: Nanos,
    pub rate_hz: f64,
    pub channels: usize,
    /// Locus index of the first channel (position = index × spacing).
    pub start_locus: i64,
    pub spacing_m: f64,
    pub gauge_length_m: f64,
}

/// Writes samples of type `T` (`f32`, or `i16` raw counts as iDAS units store them).
pub struct ProdmlWriter<T> {
    file: File,
    data: Dataset,
    time: Dataset,
    acq: Acquisition,
    rows: usize,
    _samples: std::marker::PhantomData<T>,
}

fn text(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| hdf5::Error::from(format!("{e:?}")))?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&v)
}

fn number(loc: &Location, name: &str, value: f64) -> hdf5::Result<()> {
    loc.new_attr::<f64>().create(name)?.write_scalar(&value)
}

fn iso(t: Nanos) -> String {
    // PRODML writes an explicit offset.
    format!("{}+00:00", Iso(t).to_string().trim_end_matches('Z'))
}

impl<T: hdf5::H5Type> ProdmlWriter<T> {
    pub fn create(path: &Path, acq: Acquisition) -> hdf5::Result<ProdmlWriter<T>> {
        let file = File::create(path)?;
        let a = file.create_group("Acquisition")?;
        text(&a, "schemaVersion", "2.1")?;
        text(&a, "uuid", "00000000-0000-4000-8000-000000000000")?;
        text(&a, "MeasurementStartTime", &iso(acq.start))?;
        text(&a, "ServiceCompanyName", "seisreduce")?;
        number(&a, "PulseRate", acq.rate_hz)?;
        number(&a, "PulseWidth", 50.0)?;
        number(&a, "GaugeLength", acq.gauge_length_m)?;
        text(&a, "GaugeLength.uom", "m")?;
        number(&a, "SpatialSamplingInterval", acq.spacing_m)?;
        text(&a, "SpatialSamplingInterval.uom", "m")?;
        a.new_attr::<i64>()
            .create("NumberOfLoci")?
            .write_scalar(&(acq.channels as i64))?;
        a.new_attr::<i64>()
            .create("StartLocusIndex")?
            .write_scalar(&acq.start_locus)?;
        let raw = a.create_group("Raw[0]")?;
        number(&raw, "OutputDataRate", acq.rate_hz)?;
        text(&raw, "RawDataUnit", "(nm/m)/s")?;
        text(&raw, "RawDescription", "Strain rate")?;
        raw.new_attr::<i64>()
            .create("NumberOfLoci")?
            .write_scalar(&(acq.channels as i64))?;
        raw.new_attr::<i64>()
            .create("StartLocusIndex")?
            .write_scalar(&acq.start_locus)?;
        let chunk_rows = ((acq.rate_hz / 4.0).ceil() as usize).max(1);
        let data = raw
            .new_dataset::<T>()
            .shape((0.., acq.channels))
            .chunk((chunk_rows, acq.channels))
            .create("RawData")?;
        let dims: Vec<VarLenUnicode> = ["time", "locus"]
            .iter()
            .map(|d| d.parse().unwrap())
            .collect();
        data.new_attr::<VarLenUnicode>()
            .shape(2)
            .create("Dimensions")?
            .write(&Array1::from(dims))?;
        text(&data, "PartStartTime", &iso(acq.start))?;
        text(&data, "PartEndTime", &iso(acq.start))?;
        let time = raw
            .new_dataset::<i64>()
            .shape(0..)
            .chunk(chunk_rows)
            .create("RawDataTime")?;
        text(&time, "PartStartTime", &iso(acq.start))?;
        text(&time, "PartEndTime", &iso(acq.start))?;
        Ok(ProdmlWriter {
            file,
            data,
            time,
            acq,
            rows: 0,
            _samples: std::marker::PhantomData,
        })
    }

    /// Appends `block` (time, channel) and flushes, so that a reader sees the new rows.
    pub fn append(&mut self, block: ArrayView2<T>) -> hdf5::Result<()> {
        let (n, nx) = block.dim();
        if nx != self.acq.channels {
            return Err(format!("{nx} channels, the file has {}", self.acq.channels).into());
        }
        let (r0, r1) = (self.rows, self.rows + n);
        self.data.resize((r1, nx))?;
        self.data.write_slice(&block, s![r0..r1, ..])?;
        let times: Array1<i64> = (r0..r1)
            .map(|i| sample_time(self.acq.start, i as i64, self.acq.rate_hz) / 1000)
            .collect();
        self.time.resize(r1)?;
        self.time.write_slice(&times, s![r0..r1])?;
        self.rows = r1;
        let end = iso(sample_time(self.acq.start, r1 as i64 - 1, self.acq.rate_hz));
        for ds in [&self.data, &self.time] {
            let v: VarLenUnicode = end
                .parse()
                .map_err(|e| hdf5::Error::from(format!("{e:?}")))?;
            ds.attr("PartEndTime")?.write_scalar(&v)?;
        }
        self.file.flush()
    }
}
