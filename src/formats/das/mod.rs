//! DAS (distributed acoustic sensing) files as interrogators write them: one reader per
//! vendor layout, picked from the file's content (never its name), all giving the same view:
//! a (time, distance) array with an exact time axis, the channel positions, the units and
//! the FDSN DAS metadata.
//!
//! Files are read through the HDF5 C library (`hdf5-metno` over Debian's libhdf5, the
//! library h5py itself wraps), by hyperslab: [`DasFile::read`] reads one time × channel
//! window, so a file of any size streams in bounded memory.
//!
//! Times are integers: sample `i` is at `start + i·1e9/rate` ns ([`sample_time`]), never a
//! float step accumulated. Vendor time metadata that disagrees with the array (an end time,
//! a stored step, a trace count) is kept as a warning in [`DasInfo::warnings`].

mod apsensing;
pub mod binary;
mod dasdae;
mod febus;
mod gdr;
mod h5;
mod h5simple;
mod neubrex;
mod neubrex_rfs;
mod optodas;
mod prodml;
pub mod prodml_write;
mod segy;
mod sentek;
mod silixa;
mod tdms;
mod terra15;

use std::ops::Range;
use std::path::{Path, PathBuf};

use hdf5::Dataset;
use ndarray::{s, Array2, Array3};

use crate::model::{parse_iso, sample_time, DasMeta, Nanos};

/// The layouts read, as `(name, versions)`: the HDF5 ones in the order detection tries
/// them, then the binary ones.
pub const FORMATS: &[(&str, &str)] = &[
    (
        "PRODML",
        "2.0, 2.1 (Silixa iDAS, OptaSense, Sintela; Raw and Fbe arrays)",
    ),
    ("febus", "A1 (1, 2)"),
    ("OptoDAS", "8-11 (ASN)"),
    ("TERRA15", "4-6"),
    ("APSensing", "1"),
    ("NeubrexDAS", "1"),
    ("NeubrexRFS", "1 (DSS strain, DTS temperature)"),
    ("Silixa_H5", "1 (iDAS native)"),
    ("GDR_DAS", "1 (Geothermal Data Repository)"),
    ("DASDAE", "1 (DASCore's own)"),
    ("H5Simple", "1"),
    ("TDMS", "4712, 4713 (Silixa iDAS)"),
    ("sentek", "5"),
    ("segy", "1.0, 2.0, 2.1 (one trace per channel)"),
];

#[derive(Debug, thiserror::Error)]
#[error("{path}: {msg}")]
pub struct DasError {
    pub path: String,
    pub msg: String,
}

/// What the stored values measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Raw,
    Phase,
    PhaseRate,
    Strain,
    StrainRate,
    Velocity,
    /// Energy in a frequency band (PRODML `Fbe` arrays).
    BandEnergy,
    Unknown,
}

impl Quantity {
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Raw => "raw",
            Quantity::Phase => "phase",
            Quantity::PhaseRate => "phase_rate",
            Quantity::Strain => "strain",
            Quantity::StrainRate => "strain_rate",
            Quantity::Velocity => "velocity",
            Quantity::BandEnergy => "band_energy",
            Quantity::Unknown => "unknown",
        }
    }

    /// From the first of several vendor texts (a description, then a unit) that says.
    pub fn guess_first(texts: &[&str]) -> Quantity {
        texts
            .iter()
            .map(|t| Quantity::guess(t))
            .find(|q| *q != Quantity::Unknown)
            .unwrap_or(Quantity::Unknown)
    }

    /// From a vendor's description or unit text ("Strain rate", "rad/s", "nanostrain/s").
    pub fn guess(text: &str) -> Quantity {
        let t = text.to_ascii_lowercase().replace([' ', '_'], "");
        let rate = t.contains("rate") || t.contains("/s") || t.ends_with("s-1");
        if t.contains("velocity") || t == "m/s" {
            Quantity::Velocity
        } else if t.contains("strain") || t.contains("ε") || t.contains("nm/m") {
            if rate {
                Quantity::StrainRate
            } else {
                Quantity::Strain
            }
        } else if t.contains("rad") || t.contains("phase") {
            if rate {
                Quantity::PhaseRate
            } else {
                Quantity::Phase
            }
        } else if t.contains("count") || t.contains("raw") {
            Quantity::Raw
        } else {
            Quantity::Unknown
        }
    }
}

/// Units of the values: as stored, and how to get the physical quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct DataUnits {
    pub quantity: Quantity,
    /// Units of the stored values (`counts` when the file stores integers without a unit).
    pub stored: String,
    /// `physical = stored × factor`, when the format gives the factor.
    pub factor: Option<f64>,
    /// Units after the factor (the stored units when there is none).
    pub physical: String,
}

impl DataUnits {
    /// Units the format gives no conversion factor for: physical = stored.
    pub fn unconverted(quantity: Quantity, units: impl Into<String>) -> DataUnits {
        let units = units.into();
        DataUnits {
            quantity,
            physical: units.clone(),
            stored: units,
            factor: None,
        }
    }
}

/// Everything about a DAS file but its samples.
#[derive(Debug, Clone)]
pub struct DasInfo {
    pub format: &'static str,
    pub version: String,
    pub n_time: usize,
    pub n_distance: usize,
    /// The sample type of the values [`DasFile::read`] returns before they become f32, as
    /// numpy names it (`int16`, `float32`): the stored type, or the type after the storage
    /// scale (numpy's promotion of the stored type with float32).
    pub dtype: String,
    /// A storage encoding (OptoDAS `dataScale`, like CF `scale_factor`): every value read is
    /// multiplied by it. Not a unit conversion (that is [`DataUnits::factor`]).
    pub storage_scale: Option<f64>,
    pub start: Nanos,
    pub rate_hz: f64,
    /// Position of every channel along the fibre, metres.
    pub distance: Vec<f64>,
    pub units: DataUnits,
    pub gauge_length_m: Option<f64>,
    pub interrogator: Option<String>,
    pub pulse_rate_hz: Option<f64>,
    /// Whether [`DasInfo::distance`] holds positions or channel numbers.
    pub axis: Axis,
    /// Disagreements between the vendor's metadata and the array (kept, logged by callers).
    pub warnings: Vec<String>,
}

impl DasInfo {
    pub fn time_of(&self, index: usize) -> Nanos {
        sample_time(self.start, index as i64, self.rate_hz)
    }

    /// Time of the last sample (the start when the file is empty).
    pub fn time_max(&self) -> Nanos {
        self.time_of(self.n_time.saturating_sub(1))
    }

    /// Sampling interval rounded to the nanosecond (for display; times use the exact rate).
    pub fn step_ns(&self) -> i64 {
        (1e9 / self.rate_hz).round() as i64
    }

    /// Mean channel spacing, metres.
    pub fn distance_step(&self) -> f64 {
        match self.distance.as_slice() {
            [a, .., b] => (b - a) / (self.distance.len() - 1) as f64,
            _ => 0.0,
        }
    }

    /// The FDSN DAS metadata a chunk carries to its sinks.
    pub fn meta(&self) -> DasMeta {
        DasMeta {
            format: self.format.to_string(),
            format_version: self.version.clone(),
            quantity: self.units.quantity.name().to_string(),
            units: self.units.stored.clone(),
            scale_factor: self.units.factor,
            physical_units: self.units.physical.clone(),
            gauge_length_m: self.gauge_length_m,
            spatial_sampling_interval_m: (self.distance.len() > 1).then(|| self.distance_step()),
            interrogator: self.interrogator.clone(),
            pulse_rate_hz: self.pulse_rate_hz,
        }
    }
}

/// What the second axis of the array is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Axis {
    /// Positions along the fibre, metres.
    #[default]
    Distance,
    /// Channel numbers: the file gives no positions (SEG-Y, H5Simple without a distance
    /// array), so [`DasInfo::distance`] holds `0, 1, 2, ...` and no distance is invented.
    Channel,
}

impl Axis {
    pub fn name(self) -> &'static str {
        match self {
            Axis::Distance => "distance",
            Axis::Channel => "channel",
        }
    }
}

/// How the samples lie in an HDF5 file.
enum Storage {
    /// A 2-D dataset; `time_major`: its rows are times. Rows past `n_time` (frames
    /// allocated but not yet written) are never read.
    Plain { ds: Dataset, time_major: bool },
    /// Febus A1: (block, time, distance) blocks that overlap in time; rows `keep` of each
    /// block, concatenated, are the continuous record.
    Blocks { ds: Dataset, keep: Range<usize> },
}

impl Storage {
    fn dataset(&self) -> &Dataset {
        match self {
            Storage::Plain { ds, .. } | Storage::Blocks { ds, .. } => ds,
        }
    }
}

/// Where the samples are read from.
enum Store {
    Hdf5 {
        storage: Storage,
        /// The stored sample type, looked up once (every read dispatches on it).
        sample: hdf5::types::TypeDescriptor,
        _file: hdf5::File,
    },
    Binary(binary::BinaryArray),
}

/// An open DAS file: one of its arrays ([`DasFile::arrays`]; most files hold one).
pub struct DasFile {
    pub path: PathBuf,
    pub info: DasInfo,
    /// Every array of the file that DASCore gives as a patch, labelled (`Raw[0]`,
    /// `Fbe[0]/FbeData[2] 9.28..50.29 Hz`, a DASDAE patch name); `info` describes
    /// `arrays[index]`.
    pub arrays: Vec<String>,
    pub index: usize,
    store: Store,
}

type Probe = fn(&hdf5::File) -> Option<String>;
type Opener = fn(&hdf5::File, &str, usize) -> Result<(DasInfo, Storage), String>;
type Lister = fn(&hdf5::File) -> Vec<String>;

/// An HDF5 layout: how to recognise it (its version), open array `n`, and list its arrays
/// (`None`: one array, the layout's name).
struct Hdf5Reader {
    probe: Probe,
    open: Opener,
    arrays: Option<Lister>,
}

const fn one(probe: Probe, open: Opener) -> Hdf5Reader {
    Hdf5Reader {
        probe,
        open,
        arrays: None,
    }
}

const READERS: &[Hdf5Reader] = &[
    Hdf5Reader {
        probe: prodml::probe,
        open: prodml::open,
        arrays: Some(prodml::arrays),
    },
    one(febus::probe, febus::open),
    one(optodas::probe, optodas::open),
    one(terra15::probe, terra15::open),
    one(apsensing::probe, apsensing::open),
    one(neubrex::probe, neubrex::open),
    one(neubrex_rfs::probe, neubrex_rfs::open),
    one(silixa::probe, silixa::open),
    one(gdr::probe, gdr::open),
    Hdf5Reader {
        probe: dasdae::probe,
        open: dasdae::open,
        arrays: Some(dasdae::arrays),
    },
    one(h5simple::probe, h5simple::open),
];

/// A binary layout: recognised from the first bytes (and the name, where the vendor's
/// format has nothing else to go by), opened on the file.
type BinaryProbe = fn(&Path, &[u8]) -> Option<String>;
type BinaryOpener =
    fn(&Path, std::fs::File, &str) -> Result<(DasInfo, binary::BinaryArray), String>;

const BINARY_READERS: &[(BinaryProbe, BinaryOpener)] = &[
    (tdms::probe, tdms::open),
    (segy::probe, segy::open),
    (sentek::probe, sentek::open),
];

/// Bytes read from the start of a file to recognise a binary layout (SEG-Y's binary
/// header ends at 3600).
const HEAD: usize = 4096;

/// Whether `path` starts with the HDF5 signature (at 0, 512, 1024, ... as the spec allows).
pub fn is_hdf5(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut sig = [0u8; 8];
    let mut at = 0u64;
    while at <= 8192 {
        if f.seek(SeekFrom::Start(at)).is_err() || f.read_exact(&mut sig).is_err() {
            return false;
        }
        if sig == *b"\x89HDF\r\n\x1a\n" {
            return true;
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    false
}

/// The binary layout `path` is in, if any: `(reader, version)`.
fn binary_layout(path: &Path) -> Option<(usize, String)> {
    use std::io::Read;
    let mut head = Vec::with_capacity(HEAD);
    std::fs::File::open(path)
        .ok()?
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .ok()?;
    BINARY_READERS
        .iter()
        .enumerate()
        .find_map(|(i, (probe, _))| probe(path, &head).map(|v| (i, v)))
}

/// Whether `path` is a DAS file of a layout read here (HDF5 or binary), from its content.
pub fn is_das(path: &Path) -> bool {
    is_hdf5(path) || binary_layout(path).is_some()
}

fn supported() -> String {
    FORMATS
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DasFile {
    /// Opens the first array of `path`, recognising its layout from its content.
    pub fn open(path: &Path) -> Result<DasFile, DasError> {
        DasFile::open_array(path, 0)
    }

    /// Opens array `index` of `path` (see [`DasFile::arrays`]).
    pub fn open_array(path: &Path, index: usize) -> Result<DasFile, DasError> {
        let fail = |msg: String| DasError {
            path: path.display().to_string(),
            msg,
        };
        if !is_hdf5(path) {
            let Some((reader, version)) = binary_layout(path) else {
                return Err(fail(format!(
                    "neither HDF5 (no HDF5 signature) nor a binary DAS layout; DAS formats read: {}",
                    supported()
                )));
            };
            if index > 0 {
                return Err(fail(format!("holds one array; there is no array {index}")));
            }
            let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
            let (info, array) = (BINARY_READERS[reader].1)(path, file, &version).map_err(fail)?;
            return Ok(DasFile {
                path: path.to_path_buf(),
                arrays: vec![info.format.to_string()],
                index: 0,
                info,
                store: Store::Binary(array),
            });
        }
        // Without HDF5's file lock: the interrogator holds the file it is writing open, and
        // a reader that honoured the lock could never follow it as it grows.
        let f = hdf5::File::with_options()
            .with_fapl(|p| p.file_locking(false))
            .open(path)
            .map_err(|e| fail(format!("HDF5: {e}")))?;
        for r in READERS {
            if let Some(version) = (r.probe)(&f) {
                let arrays = match r.arrays {
                    Some(list) => list(&f),
                    None => Vec::new(),
                };
                if index > 0 && index >= arrays.len() {
                    return Err(fail(format!(
                        "holds {} array(s); there is no array {index}",
                        arrays.len().max(1)
                    )));
                }
                let (info, storage) = (r.open)(&f, &version, index).map_err(fail)?;
                let sample = storage
                    .dataset()
                    .dtype()
                    .and_then(|d| d.to_descriptor())
                    .map_err(|e| fail(format!("HDF5 type: {e}")))?;
                let arrays = if arrays.is_empty() {
                    vec![info.format.to_string()]
                } else {
                    arrays
                };
                return Ok(DasFile {
                    path: path.to_path_buf(),
                    info,
                    arrays,
                    index,
                    store: Store::Hdf5 {
                        storage,
                        sample,
                        _file: f,
                    },
                });
            }
        }
        Err(fail(format!(
            "HDF5 file of no known DAS layout; formats read: {}",
            supported()
        )))
    }

    /// Samples `t` (time indices) × `x` (channel indices) as a (channel, time) block of f32,
    /// values as stored (apply [`DataUnits::factor`] for physical units).
    pub fn read(&self, t: Range<usize>, x: Range<usize>) -> Result<Array2<f32>, DasError> {
        let i = &self.info;
        if t.end > i.n_time || x.end > i.n_distance || t.start > t.end || x.start > x.end {
            return Err(self.fail(format!(
                "window {t:?} × {x:?} outside the array ({} × {})",
                i.n_time, i.n_distance
            )));
        }
        if t.is_empty() || x.is_empty() {
            return Ok(Array2::zeros((x.len(), t.len())));
        }
        use hdf5::types::{FloatSize as F, IntSize as I, TypeDescriptor as D};
        let (st, sample) = match &self.store {
            Store::Binary(a) => return a.read(t, x).map_err(|m| self.fail(m)),
            Store::Hdf5 {
                storage, sample, ..
            } => (storage, sample),
        };
        // Samples are read in the file's own type and converted while transposing: HDF5's
        // own conversion (element by element, through a 1 MiB buffer) is several times slower.
        let block = match sample {
            D::Integer(I::U1) => self.read_as::<i8>(st, t, x),
            D::Integer(I::U2) => self.read_as::<i16>(st, t, x),
            D::Integer(I::U4) => self.read_as::<i32>(st, t, x),
            D::Integer(I::U8) => self.read_as::<i64>(st, t, x),
            D::Unsigned(I::U1) => self.read_as::<u8>(st, t, x),
            D::Unsigned(I::U2) => self.read_as::<u16>(st, t, x),
            D::Unsigned(I::U4) => self.read_as::<u32>(st, t, x),
            D::Unsigned(I::U8) => self.read_as::<u64>(st, t, x),
            D::Float(F::U8) => self.read_as::<f64>(st, t, x),
            _ => self.read_as::<f32>(st, t, x),
        };
        match self.info.storage_scale {
            Some(k) if k != 1.0 => block.map(|mut b| {
                b.mapv_inplace(|v| (v as f64 * k) as f32);
                b
            }),
            _ => block,
        }
    }

    fn read_as<T: Sample>(
        &self,
        storage: &Storage,
        t: Range<usize>,
        x: Range<usize>,
    ) -> Result<Array2<f32>, DasError> {
        let h5 = |e: hdf5::Error| self.fail(format!("HDF5 read: {e}"));
        match storage {
            Storage::Plain {
                ds,
                time_major: true,
            } => {
                let tx: Array2<T> = ds
                    .read_slice_2d(s![t.start..t.end, x.start..x.end])
                    .map_err(h5)?;
                Ok(transpose(tx.view()))
            }
            Storage::Plain {
                ds,
                time_major: false,
            } => {
                let xt: Array2<T> = ds
                    .read_slice_2d(s![x.start..x.end, t.start..t.end])
                    .map_err(h5)?;
                Ok(xt.mapv(Sample::to_f32))
            }
            Storage::Blocks { ds, keep } => {
                let per = keep.len();
                let (b0, b1) = (t.start / per, (t.end - 1) / per + 1);
                let cube: Array3<T> = ds
                    .read_slice(s![b0..b1, keep.start..keep.end, x.start..x.end])
                    .map_err(h5)?;
                let rows = cube
                    .into_shape_with_order(((b1 - b0) * per, x.len()))
                    .map_err(|e| self.fail(e.to_string()))?;
                let off = t.start - b0 * per;
                Ok(transpose(rows.slice(s![off..off + t.len(), ..])))
            }
        }
    }

    fn fail(&self, msg: String) -> DasError {
        DasError {
            path: self.path.display().to_string(),
            msg,
        }
    }
}

/// A stored sample type, converted to f32 on the way out.
pub trait Sample: hdf5::H5Type + Copy + Send + Sync {
    fn to_f32(self) -> f32;
}

macro_rules! samples {
    ($($t:ty),*) => {
        $(impl Sample for $t {
            #[inline(always)]
            fn to_f32(self) -> f32 {
                self as f32
            }
        })*
    };
}
samples!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// (time, channel) → (channel, time) f32, converting as it goes, in cache-sized tiles: each
/// output row segment is written contiguously from a tile of input rows that stays in L1
/// (a plain strided copy of a 10,000-channel block misses the cache on every element).
pub fn transpose<T: Sample>(tx: ndarray::ArrayView2<T>) -> Array2<f32> {
    const TILE: usize = 64;
    const LANES: usize = 8;
    let (nt, nx) = tx.dim();
    let src = tx.as_standard_layout();
    let src = src.as_slice().expect("standard layout");
    let mut out = vec![0f32; nt * nx];
    for x0 in (0..nx).step_by(TILE) {
        let x1 = (x0 + TILE).min(nx);
        let mut t = 0;
        // Eight input rows at a time: eight streaming reads, one 8-sample write per channel.
        while t + LANES <= nt {
            let rows: [&[T]; LANES] =
                std::array::from_fn(|k| &src[(t + k) * nx + x0..(t + k) * nx + x1]);
            for (j, x) in (x0..x1).enumerate() {
                let lane: [f32; LANES] = std::array::from_fn(|k| rows[k][j].to_f32());
                out[x * nt + t..x * nt + t + LANES].copy_from_slice(&lane);
            }
            t += LANES;
        }
        for t in t..nt {
            for x in x0..x1 {
                out[x * nt + t] = src[t * nx + x].to_f32();
            }
        }
    }
    Array2::from_shape_vec((nx, nt), out).expect("nx × nt values")
}

/// numpy's type for `stored` values multiplied by a float32 scale (`result_type(t, float32)`).
fn scaled_dtype(stored: &str) -> String {
    match stored {
        "int8" | "int16" | "uint8" | "uint16" | "float32" => "float32".into(),
        _ => "float64".into(),
    }
}

/// numpy's name for an HDF5 sample type.
fn dtype_name(ds: &Dataset) -> String {
    use hdf5::types::{FloatSize, IntSize, TypeDescriptor as T};
    let size = |s: IntSize| match s {
        IntSize::U1 => 8,
        IntSize::U2 => 16,
        IntSize::U4 => 32,
        IntSize::U8 => 64,
    };
    match ds.dtype().and_then(|d| d.to_descriptor()) {
        Ok(T::Integer(s)) => format!("int{}", size(s)),
        Ok(T::Unsigned(s)) => format!("uint{}", size(s)),
        Ok(T::Float(FloatSize::U4)) => "float32".into(),
        Ok(T::Float(FloatSize::U8)) => "float64".into(),
        Ok(other) => other.to_string(),
        Err(_) => "unknown".into(),
    }
}

/// ISO 8601 with an optional UTC offset (`+00:00`, `+0100`, `Z`) or a space for `T`.
pub fn parse_iso_offset(s: &str) -> Option<Nanos> {
    let s = s.trim().replacen(' ', "T", 1);
    let s = s.strip_suffix('Z').unwrap_or(&s);
    let date_end = s.find('T')?;
    let (body, offset_s) = match s[date_end..].rfind(['+', '-']) {
        Some(i) => {
            let (b, o) = s.split_at(date_end + i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits: String = o[1..].chars().filter(char::is_ascii_digit).collect();
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
                _ => return None,
            };
            (b, sign * (h * 3600 + m * 60))
        }
        None => (s, 0),
    };
    Some(parse_iso(body)? - offset_s * 1_000_000_000)
}

/// The vendor's end time against the one the array implies, as a warning when they differ
/// by more than half a sample.
fn check_end(info: &mut DasInfo, what: &str, vendor_end: Option<Nanos>) {
    if let Some(end) = vendor_end {
        let ours = info.time_max();
        let half = (5e8 / info.rate_hz) as i64;
        if (end - ours).abs() > half {
            info.warnings.push(format!(
                "{what} is {} but {} samples at {} Hz from the start end at {} ({:+} samples)",
                crate::model::Iso(end),
                info.n_time,
                info.rate_hz,
                crate::model::Iso(ours),
                (end - ours) as f64 * info.rate_hz / 1e9
            ));
        }
    }
}

/// The shape of a data set that must be 2-D, or an error naming it (`what`).
fn shape_2d(ds: &Dataset, what: &str) -> Result<[usize; 2], String> {
    match ds.shape()[..] {
        [a, b] => Ok([a, b]),
        ref s => Err(format!("{what} has {} dimensions, expected 2", s.len())),
    }
}

/// A (time, distance) data set, the layout most vendors use.
fn time_major(info: DasInfo, ds: Dataset) -> Result<(DasInfo, Storage), String> {
    Ok((
        info,
        Storage::Plain {
            ds,
            time_major: true,
        },
    ))
}

/// (time samples, channels) of a 2-D array stored time-major or channel-major.
fn time_and_channels(shape: [usize; 2], time_major: bool) -> (usize, usize) {
    if time_major {
        (shape[0], shape[1])
    } else {
        (shape[1], shape[0])
    }
}

/// The sampling interval DASCore gives a coordinate made from a time array (its
/// `get_coord(data=...)`, then `snap()`): when every interval is within 0.1 % of the
/// median, the upper median interval from the first time; otherwise the even axis from the
/// first to the last time. (With stamps that jitter, the two differ: a reader that agrees
/// with DASCore must use the same rule.)
fn time_axis_step(times: &[i64]) -> Option<f64> {
    let (first, last) = (*times.first()?, *times.last()?);
    if times.len() < 2 || last <= first {
        return None;
    }
    let mut d: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    d.sort_unstable();
    let median = if d.len() % 2 == 1 {
        d[d.len() / 2] as f64
    } else {
        (d[d.len() / 2 - 1] as f64 + d[d.len() / 2] as f64) / 2.0
    };
    let monotonic = d[0] > 0;
    let close = d
        .iter()
        .all(|v| (*v as f64 - median).abs() <= 1e-8 + 1e-3 * median.abs());
    Some(if monotonic && close {
        d[d.len() / 2] as f64
    } else {
        (last - first) as f64 / (times.len() - 1) as f64
    })
}

/// A warning when time stamps (`what`) depart from the even axis `start + i·step` by more
/// than half a step (DASCore snaps them to it; so do we, and say where that hides jitter).
fn off_grid(times: &[i64], start: Nanos, step_ns: f64, what: &str) -> Option<String> {
    let off = times
        .iter()
        .enumerate()
        .filter(|(i, t)| ((**t - start) as f64 - *i as f64 * step_ns).abs() > step_ns / 2.0)
        .count();
    (off > 0).then(|| format!("{off} {what} lie more than half a step off the even time axis"))
}

/// Evenly spaced channel positions.
fn positions(start: f64, step: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| start + i as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_with_offsets() {
        let t = parse_iso_offset("2019-05-31T08:38:50.626928+00:00").unwrap();
        assert_eq!(t, parse_iso("2019-05-31T08:38:50.626928").unwrap());
        let p = parse_iso_offset("2019-05-31T10:38:50+02:00").unwrap();
        assert_eq!(p, parse_iso("2019-05-31T08:38:50").unwrap());
        assert_eq!(parse_iso_offset("2019-05-31 08:38:50Z"), p.into());
        assert_eq!(
            parse_iso_offset("2019-05-31T08:38:50-0130").unwrap(),
            p + 5400 * 1_000_000_000
        );
    }

    #[test]
    fn tiled_transpose() {
        let a = Array2::from_shape_fn((130, 70), |(t, x)| (t * 1000 + x) as f32);
        assert_eq!(transpose(a.view()), a.t().to_owned());
        let b = Array2::from_shape_fn((33, 65), |(t, x)| t as i16 - x as i16);
        assert_eq!(transpose(b.view()), b.t().mapv(|v| v as f32));
    }

    #[test]
    fn quantities_from_vendor_text() {
        assert_eq!(Quantity::guess("Strain rate"), Quantity::StrainRate);
        assert_eq!(Quantity::guess("(nm/m)/s * Hz/m"), Quantity::StrainRate);
        assert_eq!(Quantity::guess("strain/s"), Quantity::StrainRate);
        assert_eq!(Quantity::guess("rad"), Quantity::Phase);
        assert_eq!(Quantity::guess("velocity"), Quantity::Velocity);
        assert_eq!(Quantity::guess("microstrain"), Quantity::Strain);
    }
}
