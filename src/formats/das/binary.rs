//! Samples stored as plain binary arrays in files that are not HDF5 (TDMS, Sentek, SEG-Y):
//! one or more segments, each a run of time rows whose sample `(x, t)` lies at
//! `base + x·x_stride + (t − t0)·t_stride` bytes. A time-major block (Sentek, interleaved
//! TDMS) has `x_stride` = one sample; a channel-major one (SEG-Y traces, contiguous TDMS
//! chunks) has `t_stride` = one sample. A window is read with one positioned read per
//! segment it touches (only the bytes that window spans), so files of any size stream in
//! bounded memory, as the HDF5 readers do by hyperslab.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use ndarray::Array2;
use rayon::prelude::*;

/// A stored sample type and its byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    I8,
    I16 {
        big: bool,
    },
    I32 {
        big: bool,
    },
    I64 {
        big: bool,
    },
    U8,
    U16 {
        big: bool,
    },
    U32 {
        big: bool,
    },
    F32 {
        big: bool,
    },
    F64 {
        big: bool,
    },
    /// IBM System/360 single precision (SEG-Y format code 1), big-endian.
    Ibm32,
}

impl Scalar {
    pub fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 { .. } | Scalar::U16 { .. } => 2,
            Scalar::I32 { .. } | Scalar::U32 { .. } | Scalar::F32 { .. } | Scalar::Ibm32 => 4,
            Scalar::I64 { .. } | Scalar::F64 { .. } => 8,
        }
    }

    /// numpy's name for the values as read (IBM floats become float32, as segyio gives them).
    pub fn dtype(self) -> &'static str {
        match self {
            Scalar::I8 => "int8",
            Scalar::I16 { .. } => "int16",
            Scalar::I32 { .. } => "int32",
            Scalar::I64 { .. } => "int64",
            Scalar::U8 => "uint8",
            Scalar::U16 { .. } => "uint16",
            Scalar::U32 { .. } => "uint32",
            Scalar::F32 { .. } | Scalar::Ibm32 => "float32",
            Scalar::F64 { .. } => "float64",
        }
    }
}

/// IBM hexadecimal floating point: sign, 7-bit excess-64 base-16 exponent, 24-bit fraction.
/// The value `fraction · 2^(4·(exp − 64) − 24)` is exact in f64 (the scale is built from its
/// exponent bits, no `powi`), then rounded once to f32.
#[inline(always)]
pub fn ibm_to_f32(v: u32) -> f32 {
    let frac = v & 0x00ff_ffff;
    if frac == 0 {
        return 0.0;
    }
    let k = 4 * (((v >> 24) & 0x7f) as i64 - 64) - 24;
    let scale = f64::from_bits(((k + 1023) as u64) << 52);
    let value = (frac as f64 * scale) as f32;
    if v >> 31 == 1 {
        -value
    } else {
        value
    }
}

/// A run of time rows `t0..t0 + len` laid out as the module doc says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub t0: usize,
    pub len: usize,
    pub base: u64,
    pub x_stride: u64,
    pub t_stride: u64,
}

/// An open binary array: the file, the sample type, the segments in time order.
pub struct BinaryArray {
    file: File,
    pub scalar: Scalar,
    pub n_channels: usize,
    segments: Vec<Segment>,
    file_len: u64,
}

impl BinaryArray {
    /// Checks that every segment lies inside the file, that they tile the time axis, and
    /// that each is channel-major or time-major (one of its strides is one sample).
    pub fn new(
        file: File,
        scalar: Scalar,
        n_channels: usize,
        segments: Vec<Segment>,
    ) -> Result<BinaryArray, String> {
        let file_len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut next = 0;
        for s in &segments {
            if s.t0 != next {
                return Err(format!(
                    "segment at byte {} starts at row {} (expected {next})",
                    s.base, s.t0
                ));
            }
            next += s.len;
            let size = scalar.size() as u64;
            if s.x_stride != size && s.t_stride != size {
                return Err(format!(
                    "segment at byte {}: neither channels nor times are contiguous",
                    s.base
                ));
            }
            if s.len > 0 && n_channels > 0 {
                let last = s.base
                    + (n_channels as u64 - 1) * s.x_stride
                    + (s.len as u64 - 1) * s.t_stride
                    + scalar.size() as u64;
                if last > file_len {
                    return Err(format!(
                        "data at bytes {}..{last} run past the end of the file ({file_len} bytes): truncated",
                        s.base
                    ));
                }
            }
        }
        Ok(BinaryArray {
            file,
            scalar,
            n_channels,
            segments,
            file_len,
        })
    }

    pub fn n_time(&self) -> usize {
        self.segments.last().map(|s| s.t0 + s.len).unwrap_or(0)
    }

    /// Rows `t` × channels `x` as a (channel, time) block (the caller checked the bounds).
    ///
    /// Channel-major runs (SEG-Y traces, TDMS chunks) decode straight into the output rows;
    /// a trace far from the next (its header in between) is read on its own, so no bytes but
    /// the samples are read. Time-major rows (Sentek, interleaved TDMS) decode row by row
    /// into a time-major block that is then transposed in cache-sized tiles.
    pub fn read(&self, t: Range<usize>, x: Range<usize>) -> Result<Array2<f32>, String> {
        let (nt, nx) = (t.len(), x.len());
        let mut out = vec![0f32; nx * nt];
        let size = self.scalar.size() as u64;
        let mut buf = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        for s in &self.segments {
            let (a, b) = (t.start.max(s.t0), t.end.min(s.t0 + s.len));
            if a >= b {
                continue;
            }
            let (ra, n) = ((a - s.t0) as u64, b - a);
            let run = n as u64 * size;
            let col = a - t.start;
            if s.t_stride == size {
                // Each channel's samples are contiguous: channels decode in parallel.
                let at = |xi: usize| s.base + xi as u64 * s.x_stride + ra * size;
                let rows_out = out.par_chunks_mut(nt).zip(x.clone().into_par_iter());
                if s.x_stride > 2 * run {
                    rows_out.try_for_each_init(
                        || vec![0u8; run as usize],
                        |buf, (row, xi)| {
                            self.read_at(buf, at(xi))?;
                            decode_into(self.scalar, buf, &mut row[col..col + n]);
                            Ok::<_, String>(())
                        },
                    )?;
                } else {
                    let span_at = at(x.start);
                    let last = at(x.end - 1) + run;
                    buf.resize((last - span_at) as usize, 0);
                    self.read_at(&mut buf, span_at)?;
                    let span = &buf;
                    rows_out.for_each(|(row, xi)| {
                        let off = (at(xi) - span_at) as usize;
                        decode_into(
                            self.scalar,
                            &span[off..off + run as usize],
                            &mut row[col..col + n],
                        );
                    });
                }
            } else {
                // Time-major (`x_stride` is one sample, as `new` checked): row r's channels
                // x.start.. are contiguous at base + r·t_stride.
                let first = s.base + ra * s.t_stride + x.start as u64 * s.x_stride;
                let last = first + (n as u64 - 1) * s.t_stride + nx as u64 * s.x_stride;
                buf.resize((last - first) as usize, 0);
                self.read_at(&mut buf, first)?;
                rows.resize(n * nx, 0.0);
                let row_bytes = nx * size as usize;
                for r in 0..n {
                    let at = r * s.t_stride as usize;
                    decode_into(
                        self.scalar,
                        &buf[at..at + row_bytes],
                        &mut rows[r * nx..(r + 1) * nx],
                    );
                }
                let view = ndarray::ArrayView2::from_shape((n, nx), &rows[..])
                    .map_err(|e| e.to_string())?;
                let block = super::transpose(view);
                for (i, row) in block.rows().into_iter().enumerate() {
                    let dst = &mut out[i * nt + col..i * nt + col + n];
                    dst.copy_from_slice(row.as_slice().expect("standard layout"));
                }
            }
        }
        Array2::from_shape_vec((nx, nt), out).map_err(|e| e.to_string())
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> Result<(), String> {
        self.file.read_exact_at(buf, at).map_err(|e| {
            format!(
                "read of bytes {at}..{} failed ({e}); the file has {} bytes",
                at + buf.len() as u64,
                self.file_len
            )
        })
    }
}

/// Contiguous samples of one type into f32, the type dispatched once per run so each arm
/// is a tight loop the compiler vectorises (byte swaps included).
pub(crate) fn decode_into(sc: Scalar, bytes: &[u8], out: &mut [f32]) {
    macro_rules! run {
        ($t:ty, $n:expr, $from:ident) => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact($n)) {
                *o = <$t>::$from(c.try_into().expect("sample bytes")) as f32;
            }
        };
    }
    match sc {
        Scalar::I8 => out
            .iter_mut()
            .zip(bytes)
            .for_each(|(o, b)| *o = *b as i8 as f32),
        Scalar::U8 => out.iter_mut().zip(bytes).for_each(|(o, b)| *o = *b as f32),
        Scalar::I16 { big: false } => run!(i16, 2, from_le_bytes),
        Scalar::I16 { big: true } => run!(i16, 2, from_be_bytes),
        Scalar::U16 { big: false } => run!(u16, 2, from_le_bytes),
        Scalar::U16 { big: true } => run!(u16, 2, from_be_bytes),
        Scalar::I32 { big: false } => run!(i32, 4, from_le_bytes),
        Scalar::I32 { big: true } => run!(i32, 4, from_be_bytes),
        Scalar::U32 { big: false } => run!(u32, 4, from_le_bytes),
        Scalar::U32 { big: true } => run!(u32, 4, from_be_bytes),
        Scalar::I64 { big: false } => run!(i64, 8, from_le_bytes),
        Scalar::I64 { big: true } => run!(i64, 8, from_be_bytes),
        Scalar::F32 { big: false } => run!(f32, 4, from_le_bytes),
        Scalar::F32 { big: true } => run!(f32, 4, from_be_bytes),
        Scalar::F64 { big: false } => run!(f64, 8, from_le_bytes),
        Scalar::F64 { big: true } => run!(f64, 8, from_be_bytes),
        Scalar::Ibm32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = ibm_to_f32(u32::from_be_bytes(c.try_into().expect("4 bytes")));
            }
        }
    }
}

/// Little helpers for fixed-layout headers: a field at a byte offset, or an error naming it.
pub struct Bytes<'a> {
    pub b: &'a [u8],
    pub big: bool,
}

impl Bytes<'_> {
    fn take<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.b.get(at..at + N)?.try_into().ok()
    }
    pub fn u16(&self, at: usize) -> Option<u16> {
        let a = self.take::<2>(at)?;
        Some(if self.big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    pub fn i16(&self, at: usize) -> Option<i16> {
        self.u16(at).map(|v| v as i16)
    }
    pub fn u32(&self, at: usize) -> Option<u32> {
        let a = self.take::<4>(at)?;
        Some(if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
    pub fn i32(&self, at: usize) -> Option<i32> {
        self.u32(at).map(|v| v as i32)
    }
    pub fn u64(&self, at: usize) -> Option<u64> {
        let a = self.take::<8>(at)?;
        Some(if self.big {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        })
    }
    pub fn f32(&self, at: usize) -> Option<f32> {
        self.u32(at).map(f32::from_bits)
    }
    pub fn f64(&self, at: usize) -> Option<f64> {
        self.u64(at).map(f64::from_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_floats() {
        // Examples from the IBM floating-point definition: 0x42640000 = 100, 0xC276A000 = -118.625.
        assert_eq!(ibm_to_f32(0x4264_0000), 100.0);
        assert_eq!(ibm_to_f32(0xC276_A000), -118.625);
        assert_eq!(ibm_to_f32(0x4110_0000), 1.0);
        assert_eq!(ibm_to_f32(0), 0.0);
    }

    #[test]
    fn time_and_channel_major_segments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        // 3 channels; rows 0..2 time-major (i16 LE) after a 4-byte header, rows 2..4
        // channel-major.
        let mut bytes = vec![0u8; 4];
        let v = |x: usize, t: usize| (10 * t + x) as i16;
        for t in 0..2 {
            for x in 0..3 {
                bytes.extend(v(x, t).to_le_bytes());
            }
        }
        for x in 0..3 {
            for t in 2..4 {
                bytes.extend(v(x, t).to_le_bytes());
            }
        }
        std::fs::write(&p, &bytes).unwrap();
        let segs = vec![
            Segment {
                t0: 0,
                len: 2,
                base: 4,
                x_stride: 2,
                t_stride: 6,
            },
            Segment {
                t0: 2,
                len: 2,
                base: 16,
                x_stride: 4,
                t_stride: 2,
            },
        ];
        let a = BinaryArray::new(
            File::open(&p).unwrap(),
            Scalar::I16 { big: false },
            3,
            segs.clone(),
        )
        .unwrap();
        assert_eq!(a.n_time(), 4);
        let all = a.read(0..4, 0..3).unwrap();
        for x in 0..3 {
            for t in 0..4 {
                assert_eq!(all[[x, t]], v(x, t) as f32);
            }
        }
        assert_eq!(
            a.read(1..3, 1..2).unwrap(),
            all.slice(ndarray::s![1..2, 1..3])
        );
        let mut short = segs;
        short[1].base = 18;
        assert!(BinaryArray::new(
            File::open(&p).unwrap(),
            Scalar::I16 { big: false },
            3,
            short
        )
        .err()
        .unwrap()
        .contains("truncated"));
    }
}
