//! Data encodings and decoded sample buffers.

use std::fmt;

/// Byte order of multi-byte values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    Big,
    Little,
}

/// A miniSEED data encoding (SEED blockette 1000 / miniSEED 3 header codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    Ascii,
    Int16,
    Int32,
    Float32,
    Float64,
    Steim1,
    Steim2,
    Geoscope24,
    Geoscope16_3,
    Geoscope16_4,
    Cdsn,
    Sro,
    Dwwssn,
    /// A code this library has no decoder for; the header is still readable.
    Other(u8),
}

/// The in-memory type samples of an encoding decode to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleType {
    Int,
    Float32,
    Float64,
    Text,
}

impl Encoding {
    /// Every encoding this library decodes.
    pub const DECODABLE: [Encoding; 13] = [
        Encoding::Ascii,
        Encoding::Int16,
        Encoding::Int32,
        Encoding::Float32,
        Encoding::Float64,
        Encoding::Steim1,
        Encoding::Steim2,
        Encoding::Geoscope24,
        Encoding::Geoscope16_3,
        Encoding::Geoscope16_4,
        Encoding::Cdsn,
        Encoding::Sro,
        Encoding::Dwwssn,
    ];

    /// The encodings [`crate::formats::mseed::encode`] writes.
    pub const WRITABLE: [Encoding; 7] = [
        Encoding::Steim1,
        Encoding::Steim2,
        Encoding::Int16,
        Encoding::Int32,
        Encoding::Float32,
        Encoding::Float64,
        Encoding::Ascii,
    ];

    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Encoding::Ascii,
            1 => Encoding::Int16,
            3 => Encoding::Int32,
            4 => Encoding::Float32,
            5 => Encoding::Float64,
            10 => Encoding::Steim1,
            11 => Encoding::Steim2,
            12 => Encoding::Geoscope24,
            13 => Encoding::Geoscope16_3,
            14 => Encoding::Geoscope16_4,
            16 => Encoding::Cdsn,
            30 => Encoding::Sro,
            32 => Encoding::Dwwssn,
            c => Encoding::Other(c),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Encoding::Ascii => 0,
            Encoding::Int16 => 1,
            Encoding::Int32 => 3,
            Encoding::Float32 => 4,
            Encoding::Float64 => 5,
            Encoding::Steim1 => 10,
            Encoding::Steim2 => 11,
            Encoding::Geoscope24 => 12,
            Encoding::Geoscope16_3 => 13,
            Encoding::Geoscope16_4 => 14,
            Encoding::Cdsn => 16,
            Encoding::Sro => 30,
            Encoding::Dwwssn => 32,
            Encoding::Other(c) => c,
        }
    }

    /// The name used by `seisreduce inspect` and in ObsPy's `stats.mseed.encoding`.
    pub fn name(self) -> String {
        match self {
            Encoding::Ascii => "ASCII".into(),
            Encoding::Int16 => "INT16".into(),
            Encoding::Int32 => "INT32".into(),
            Encoding::Float32 => "FLOAT32".into(),
            Encoding::Float64 => "FLOAT64".into(),
            Encoding::Steim1 => "STEIM1".into(),
            Encoding::Steim2 => "STEIM2".into(),
            Encoding::Geoscope24 => "GEOSCOPE24".into(),
            Encoding::Geoscope16_3 => "GEOSCOPE16_3".into(),
            Encoding::Geoscope16_4 => "GEOSCOPE16_4".into(),
            Encoding::Cdsn => "CDSN".into(),
            Encoding::Sro => "SRO".into(),
            Encoding::Dwwssn => "DWWSSN".into(),
            Encoding::Other(c) => format!("UNKNOWN{c}"),
        }
    }

    /// Parses a name as printed by [`Encoding::name`] (case-insensitive).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::DECODABLE
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(s))
    }

    pub fn sample_type(self) -> Option<SampleType> {
        Some(match self {
            Encoding::Ascii => SampleType::Text,
            Encoding::Int16
            | Encoding::Int32
            | Encoding::Steim1
            | Encoding::Steim2
            | Encoding::Cdsn
            | Encoding::Sro
            | Encoding::Dwwssn => SampleType::Int,
            Encoding::Float32
            | Encoding::Geoscope24
            | Encoding::Geoscope16_3
            | Encoding::Geoscope16_4 => SampleType::Float32,
            Encoding::Float64 => SampleType::Float64,
            Encoding::Other(_) => return None,
        })
    }

    pub fn is_steim(self) -> bool {
        matches!(self, Encoding::Steim1 | Encoding::Steim2)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Decoded samples, in the type their encoding produces.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    Int(Vec<i32>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Text(Vec<u8>),
}

impl Samples {
    pub fn empty(t: SampleType) -> Self {
        match t {
            SampleType::Int => Samples::Int(Vec::new()),
            SampleType::Float32 => Samples::Float32(Vec::new()),
            SampleType::Float64 => Samples::Float64(Vec::new()),
            SampleType::Text => Samples::Text(Vec::new()),
        }
    }

    pub fn sample_type(&self) -> SampleType {
        match self {
            Samples::Int(_) => SampleType::Int,
            Samples::Float32(_) => SampleType::Float32,
            Samples::Float64(_) => SampleType::Float64,
            Samples::Text(_) => SampleType::Text,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Samples::Int(v) => v.len(),
            Samples::Float32(v) => v.len(),
            Samples::Float64(v) => v.len(),
            Samples::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the first `len` samples.
    pub fn truncate(&mut self, len: usize) {
        match self {
            Samples::Int(v) => v.truncate(len),
            Samples::Float32(v) => v.truncate(len),
            Samples::Float64(v) => v.truncate(len),
            Samples::Text(v) => v.truncate(len),
        }
    }

    /// Appends `other`, which must have the same sample type.
    pub fn append(&mut self, other: Samples) -> bool {
        match (self, other) {
            (Samples::Int(a), Samples::Int(b)) => a.extend(b),
            (Samples::Float32(a), Samples::Float32(b)) => a.extend(b),
            (Samples::Float64(a), Samples::Float64(b)) => a.extend(b),
            (Samples::Text(a), Samples::Text(b)) => a.extend(b),
            _ => return false,
        }
        true
    }

    /// The bytes the project's checksum convention hashes: integers as little-endian int32,
    /// floats as little-endian float64, text as its raw bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        match self {
            Samples::Int(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::Float32(v) => v.iter().flat_map(|&x| (x as f64).to_le_bytes()).collect(),
            Samples::Float64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Samples::Text(v) => v.clone(),
        }
    }

    /// Hex SHA-256 of [`Samples::canonical_bytes`].
    pub fn sha256_hex(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.canonical_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}
