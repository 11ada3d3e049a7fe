//! Decoding a record's data section into samples, for every encoding: the primitive integer and
//! float types, text, Steim1/2, and the legacy gain-ranged encodings (GEOSCOPE, CDSN, SRO,
//! DWWSSN) that 1970s–1990s archives still hold.
//!
//! The legacy formulas follow the SEED manual (appendix on data formats) as libmseed implements
//! them, so that a sample reads the same here as in ObsPy.

use super::encoding::{ByteOrder, Encoding, Samples};
use super::error::ErrorKind;
use super::steim::{self, SteimError};

fn u16_at(b: &[u8], order: ByteOrder) -> u16 {
    match order {
        ByteOrder::Big => u16::from_be_bytes([b[0], b[1]]),
        ByteOrder::Little => u16::from_le_bytes([b[0], b[1]]),
    }
}

/// Needs `n` fixed-size samples of `size` bytes; errors when the data section is shorter.
fn fixed<'a>(
    encoding: Encoding,
    data: &'a [u8],
    n: usize,
    size: usize,
) -> Result<std::slice::ChunksExact<'a, u8>, ErrorKind> {
    let need = n.saturating_mul(size);
    if need > data.len() {
        return Err(ErrorKind::SampleCount {
            encoding,
            expected: n,
            decoded: data.len() / size,
        });
    }
    Ok(data[..need].chunks_exact(size))
}

/// Decodes `n` samples of `encoding` from `data`, appending to `out`, whose sample type must be
/// `encoding.sample_type()` (the caller creates it with [`Samples::empty`]).
///
/// Returns whether the data passed its own integrity check (Steim's Xn; always true otherwise).
/// On error `out` holds exactly the samples it held before, so a bad record never leaves half
/// its samples in a trace.
pub fn decode_into(
    encoding: Encoding,
    data: &[u8],
    n: usize,
    order: ByteOrder,
    out: &mut Samples,
) -> Result<bool, ErrorKind> {
    let before = out.len();
    let result = decode_append(encoding, data, n, order, out);
    if result.is_err() {
        out.truncate(before);
    }
    result
}

fn decode_append(
    encoding: Encoding,
    data: &[u8],
    n: usize,
    order: ByteOrder,
    out: &mut Samples,
) -> Result<bool, ErrorKind> {
    use ByteOrder::*;
    match (encoding, out) {
        (Encoding::Steim1 | Encoding::Steim2, Samples::Int(v)) => {
            steim::decode(encoding, data, n, order, v).map_err(|e| match e {
                SteimError::Invalid(why) => ErrorKind::CorruptData { encoding, why },
                SteimError::Short { decoded } => ErrorKind::SampleCount {
                    encoding,
                    expected: n,
                    decoded,
                },
            })
        }
        (Encoding::Int16, Samples::Int(v)) => {
            let it = fixed(encoding, data, n, 2)?;
            v.extend(it.map(|b| u16_at(b, order) as i16 as i32));
            Ok(true)
        }
        (Encoding::Int32, Samples::Int(v)) => {
            let it = fixed(encoding, data, n, 4)?;
            match order {
                Big => v.extend(it.map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
                Little => v.extend(it.map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            }
            Ok(true)
        }
        (Encoding::Float32, Samples::Float32(v)) => {
            let it = fixed(encoding, data, n, 4)?;
            match order {
                Big => v.extend(it.map(|b| f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
                Little => v.extend(it.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            }
            Ok(true)
        }
        (Encoding::Float64, Samples::Float64(v)) => {
            let it = fixed(encoding, data, n, 8)?;
            v.extend(it.map(|b| {
                let a: [u8; 8] = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                match order {
                    Big => f64::from_be_bytes(a),
                    Little => f64::from_le_bytes(a),
                }
            }));
            Ok(true)
        }
        (Encoding::Ascii, Samples::Text(v)) => {
            let it = fixed(encoding, data, n, 1)?;
            v.extend(it.map(|b| b[0]));
            Ok(true)
        }
        (Encoding::Geoscope24, Samples::Float32(v)) => {
            let it = fixed(encoding, data, n, 3)?;
            v.extend(it.map(|b| {
                let raw = match order {
                    Big => (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32,
                    Little => (b[2] as u32) << 16 | (b[1] as u32) << 8 | b[0] as u32,
                };
                // 24-bit two's complement.
                (((raw << 8) as i32) >> 8) as f32
            }));
            Ok(true)
        }
        (Encoding::Geoscope16_3 | Encoding::Geoscope16_4, Samples::Float32(v)) => {
            let gain_mask: u16 = if encoding == Encoding::Geoscope16_3 {
                0x7000
            } else {
                0xf000
            };
            let it = fixed(encoding, data, n, 2)?;
            v.extend(it.map(|b| {
                let w = u16_at(b, order);
                let mantissa = (w & 0x0fff) as i32 - 2048;
                let exponent = (w & gain_mask) >> 12;
                (mantissa as f64 / (1u64 << exponent) as f64) as f32
            }));
            Ok(true)
        }
        (Encoding::Cdsn, Samples::Int(v)) => {
            let it = fixed(encoding, data, n, 2)?;
            v.extend(it.map(|b| {
                let w = u16_at(b, order);
                let mantissa = (w & 0x3fff) as i32 - 0x1fff;
                let shift = [0u32, 2, 4, 7][(w >> 14) as usize];
                ((mantissa as u32) << shift) as i32
            }));
            Ok(true)
        }
        (Encoding::Sro, Samples::Int(v)) => {
            let it = fixed(encoding, data, n, 2)?;
            for b in it {
                let w = u16_at(b, order);
                let mut mantissa = (w & 0x0fff) as i32;
                if mantissa > 0x7ff {
                    mantissa -= 0x1000;
                }
                let gain = (w >> 12) as i32;
                let exponent = 10 - gain;
                if !(0..=10).contains(&exponent) {
                    return Err(ErrorKind::CorruptData {
                        encoding,
                        why: format!("SRO gain-range exponent {exponent} is outside 0..=10"),
                    });
                }
                v.push(mantissa << exponent);
            }
            Ok(true)
        }
        (Encoding::Dwwssn, Samples::Int(v)) => {
            let it = fixed(encoding, data, n, 2)?;
            v.extend(it.map(|b| u16_at(b, order) as i16 as i32));
            Ok(true)
        }
        (Encoding::Other(c), _) => Err(ErrorKind::UnsupportedEncoding(c)),
        (e, out) => Err(ErrorKind::CorruptData {
            encoding: e,
            why: format!(
                "output buffer of type {:?} does not match",
                out.sample_type()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(enc: Encoding, bytes: &[u8], n: usize) -> Vec<i32> {
        let mut out = Samples::empty(enc.sample_type().unwrap());
        decode_into(enc, bytes, n, ByteOrder::Big, &mut out).unwrap();
        match out {
            Samples::Int(v) => v,
            _ => unreachable!(),
        }
    }

    fn floats(enc: Encoding, bytes: &[u8], n: usize) -> Vec<f32> {
        let mut out = Samples::empty(enc.sample_type().unwrap());
        decode_into(enc, bytes, n, ByteOrder::Big, &mut out).unwrap();
        match out {
            Samples::Float32(v) => v,
            _ => unreachable!(),
        }
    }

    #[test]
    fn legacy_gain_ranged_formulas() {
        // CDSN: key 1 (x4), biased mantissa 8191+5 -> 20; key 0, mantissa 0 -> -8191.
        let w1: u16 = (1 << 14) | (8191 + 5);
        let w2: u16 = 0;
        let b: Vec<u8> = [w1, w2].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(ints(Encoding::Cdsn, &b, 2), vec![20, -8191]);
        // SRO: gain 10 -> exponent 0; gain 0 -> exponent 10; mantissa 0xfff = -1.
        let s: Vec<u8> = [(10u16 << 12) | 5, 0x0fff]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        assert_eq!(ints(Encoding::Sro, &s, 2), vec![5, -1024]);
        // DWWSSN: plain 16-bit two's complement.
        assert_eq!(
            ints(Encoding::Dwwssn, &[0xff, 0xfe, 0x00, 0x07], 2),
            vec![-2, 7]
        );
        // GEOSCOPE 16/3: exponent 2, mantissa 2048+100 -> 25.0.
        let g = (2u16 << 12) | 2148;
        assert_eq!(
            floats(Encoding::Geoscope16_3, &g.to_be_bytes(), 1),
            vec![25.0]
        );
        // GEOSCOPE 16/4 uses the top bit as part of the exponent.
        let g4 = (9u16 << 12) | 2560;
        assert_eq!(
            floats(Encoding::Geoscope16_4, &g4.to_be_bytes(), 1),
            vec![1.0]
        );
        // GEOSCOPE 24: 24-bit two's complement.
        assert_eq!(
            floats(Encoding::Geoscope24, &[0xff, 0xff, 0xfe, 0, 0, 3], 2),
            vec![-2.0, 3.0]
        );
    }

    #[test]
    fn bad_sro_exponent_is_an_error() {
        let w: u16 = 0xf000;
        let mut out = Samples::empty(Encoding::Sro.sample_type().unwrap());
        assert!(decode_into(Encoding::Sro, &w.to_be_bytes(), 1, ByteOrder::Big, &mut out).is_err());
    }

    #[test]
    fn short_data_is_an_error() {
        let mut out = Samples::empty(Encoding::Int32.sample_type().unwrap());
        let e = decode_into(Encoding::Int32, &[0; 7], 2, ByteOrder::Big, &mut out).unwrap_err();
        assert!(matches!(
            e,
            ErrorKind::SampleCount {
                expected: 2,
                decoded: 1,
                ..
            }
        ));
    }
}
