//! Steim1 and Steim2 compression: 64-byte frames of sixteen 32-bit words, word 0 holding
//! sixteen 2-bit codes that say how each word packs first differences.
//!
//! Decoding is the hot path of the whole ingest, so it writes differences straight into the
//! caller's output vector (one bounds check per word, not per sample) and integrates them in a
//! second, cache-resident pass. Encoding is greedy: each word takes the densest packing that the
//! next differences fit, which is what libmseed and every datalogger do, so our records are the
//! same size as theirs.

use super::encoding::{ByteOrder, Encoding};

/// Result of decoding one record's frames.
#[derive(Debug)]
pub enum SteimError {
    /// A code combination the format does not define.
    Invalid(String),
    /// The frames ran out before `expected` samples.
    Short { decoded: usize },
}

#[inline(always)]
fn word(bytes: &[u8], order: ByteOrder) -> u32 {
    let b = [bytes[0], bytes[1], bytes[2], bytes[3]];
    match order {
        ByteOrder::Big => u32::from_be_bytes(b),
        ByteOrder::Little => u32::from_le_bytes(b),
    }
}

#[inline(always)]
fn sext(v: u32, bits: u32) -> i32 {
    let shift = 32 - bits;
    ((v << shift) as i32) >> shift
}

/// (count, bits) of the differences a word holds, by `code << 2 | dnib`; count 0 with bits 1
/// marks a combination the format leaves undefined.
#[rustfmt::skip]
const STEIM2_LAYOUT: [(u32, u32); 16] = [
    (0, 0), (0, 0), (0, 0), (0, 0),    // 00: no data
    (4, 8), (4, 8), (4, 8), (4, 8),    // 01: four bytes
    (0, 1), (1, 30), (2, 15), (3, 10), // 10: dnib 00 undefined
    (5, 6), (6, 5), (7, 4), (0, 1),    // 11: dnib 11 undefined
];

/// Steim1 has no dnib: (count, bits) by code, repeated over the dnib slots.
#[rustfmt::skip]
const STEIM1_LAYOUT: [(u32, u32); 16] = [
    (0, 0), (0, 0), (0, 0), (0, 0),
    (4, 8), (4, 8), (4, 8), (4, 8),
    (2, 16), (2, 16), (2, 16), (2, 16),
    (1, 32), (1, 32), (1, 32), (1, 32),
];

/// The word's bits with the first difference highest. Four 8-bit differences are stored in
/// memory order whatever the byte order; Steim1's two 16-bit differences are each in the data
/// byte order, also in memory order.
#[inline(always)]
fn normalized<const LITTLE: bool, const STEIM2: bool>(wb: &[u8], code: u32) -> u32 {
    let be = u32::from_be_bytes([wb[0], wb[1], wb[2], wb[3]]);
    if !LITTLE || code == 1 {
        return be;
    }
    if !STEIM2 && code == 2 {
        let hi = u16::from_le_bytes([wb[0], wb[1]]) as u32;
        let lo = u16::from_le_bytes([wb[2], wb[3]]) as u32;
        return hi << 16 | lo;
    }
    u32::from_le_bytes([wb[0], wb[1], wb[2], wb[3]])
}

/// Decodes `expected` samples of Steim1 or Steim2 `data` and appends them to `out`.
///
/// Returns the Xn (last sample) integrity check: `Ok(true)` when the last decoded sample equals
/// the frame's reverse integration constant.
pub fn decode(
    encoding: Encoding,
    data: &[u8],
    expected: usize,
    order: ByteOrder,
    out: &mut Vec<i32>,
) -> Result<bool, SteimError> {
    match (encoding == Encoding::Steim2, order) {
        (true, ByteOrder::Big) => decode_impl::<false, true>(data, expected, out),
        (true, ByteOrder::Little) => decode_impl::<true, true>(data, expected, out),
        (false, ByteOrder::Big) => decode_impl::<false, false>(data, expected, out),
        (false, ByteOrder::Little) => decode_impl::<true, false>(data, expected, out),
    }
}

/// Left-shift per slot that brings difference `k` of a word with `count` differences of `bits`
/// bits to the top of the word (0 for unused slots), by layout index.
const fn shift_table(layout: &[(u32, u32); 16]) -> [[u32; 8]; 16] {
    let mut t = [[0u32; 8]; 16];
    let mut i = 0;
    while i < 16 {
        let (count, bits) = layout[i];
        let mut k = 0;
        while k < count as usize {
            t[i][k] = 32 - bits * (count - k as u32);
            k += 1;
        }
        i += 1;
    }
    t
}

const STEIM1_SHIFTS: [[u32; 8]; 16] = shift_table(&STEIM1_LAYOUT);
const STEIM2_SHIFTS: [[u32; 8]; 16] = shift_table(&STEIM2_LAYOUT);

fn decode_impl<const LITTLE: bool, const STEIM2: bool>(
    data: &[u8],
    expected: usize,
    out: &mut Vec<i32>,
) -> Result<bool, SteimError> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { decode_avx2::<LITTLE, STEIM2>(data, expected, out) };
        }
    }
    decode_generic::<LITTLE, STEIM2>(data, expected, out)
}

/// The same code compiled with AVX2 enabled, so the eight per-slot shifts of a word become
/// single variable-shift instructions (`vpsllvd`/`vpsravd`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn decode_avx2<const LITTLE: bool, const STEIM2: bool>(
    data: &[u8],
    expected: usize,
    out: &mut Vec<i32>,
) -> Result<bool, SteimError> {
    decode_generic::<LITTLE, STEIM2>(data, expected, out)
}

#[inline(always)]
fn decode_generic<const LITTLE: bool, const STEIM2: bool>(
    data: &[u8],
    expected: usize,
    out: &mut Vec<i32>,
) -> Result<bool, SteimError> {
    if expected == 0 {
        return Ok(true);
    }
    let frames = data.len() / 64;
    if frames == 0 {
        return Err(SteimError::Short { decoded: 0 });
    }
    let layout = if STEIM2 {
        &STEIM2_LAYOUT
    } else {
        &STEIM1_LAYOUT
    };
    let shifts = if STEIM2 {
        &STEIM2_SHIFTS
    } else {
        &STEIM1_SHIFTS
    };
    let order = if LITTLE {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };
    let base = out.len();
    // At most 7 differences per word (8 lanes written): room for the declared count plus one
    // word of slack, but never more than the frames could hold, so an absurd count cannot
    // allocate wildly. The room is written before it is read, so it is not zero-filled.
    let capacity = expected.min(frames * 15 * 7) + 8;
    out.reserve(capacity);
    let spare = &mut out.spare_capacity_mut()[..capacity];
    let mut n = 0usize; // differences written
    let x0 = sext(word(&data[4..8], order), 32);
    let xn = sext(word(&data[8..12], order), 32);
    'frames: for (f, frame) in data.chunks_exact(64).enumerate() {
        let codes = word(&frame[0..4], order);
        let first = if f == 0 { 3 } else { 1 };
        for w in first..16 {
            if n >= expected {
                break 'frames;
            }
            let code = (codes >> (30 - 2 * w)) & 3;
            let v = normalized::<LITTLE, STEIM2>(&frame[w * 4..w * 4 + 4], code);
            let idx = (code << 2 | v >> 30) as usize;
            let (count, bits) = layout[idx];
            if count == 0 && bits == 1 {
                return Err(SteimError::Invalid(format!(
                    "Steim2 code {code:02b} with dnib {:02b} is undefined",
                    v >> 30
                )));
            }
            // Extract all eight lanes at once; those past `count` are overwritten by the next
            // word or left beyond the length.
            let Some(dst) = spare.get_mut(n..n + 8) else {
                return Err(SteimError::Short { decoded: n });
            };
            let rsh = (32 - bits) & 31;
            let lsh = &shifts[idx];
            for k in 0..8 {
                dst[k].write(((v << lsh[k]) as i32) >> rsh);
            }
            n += count as usize;
        }
    }
    if n < expected {
        return Err(SteimError::Short { decoded: n });
    }
    // SAFETY: lanes 0..n (n >= expected) of the spare capacity were all written above, so the
    // first `expected` new elements are initialised.
    unsafe { out.set_len(base + expected) };
    // Integrate: the first difference is ignored in favour of X0.
    let s = &mut out[base..];
    s[0] = x0;
    let mut acc = x0;
    for v in s[1..].iter_mut() {
        acc = acc.wrapping_add(*v);
        *v = acc;
    }
    Ok(acc == xn)
}

/// One packing choice: how many differences of how many bits, and the word's codes.
struct Pack {
    count: usize,
    bits: u32,
    code: u32,
    dnib: Option<u32>,
}

const fn pack(count: usize, bits: u32, code: u32, dnib: Option<u32>) -> Pack {
    Pack {
        count,
        bits,
        code,
        dnib,
    }
}

/// Packings from densest to widest: the encoder takes the first the next differences fit.
const STEIM1_PACKS: [Pack; 3] = [
    pack(4, 8, 1, None),
    pack(2, 16, 2, None),
    pack(1, 32, 3, None),
];

const STEIM2_PACKS: [Pack; 7] = [
    pack(7, 4, 3, Some(2)),
    pack(6, 5, 3, Some(1)),
    pack(5, 6, 3, Some(0)),
    pack(4, 8, 1, None),
    pack(3, 10, 2, Some(3)),
    pack(2, 15, 2, Some(2)),
    pack(1, 30, 2, Some(1)),
];

fn fits(d: i64, bits: u32) -> bool {
    let lim = 1i64 << (bits - 1);
    (-lim..lim).contains(&d)
}

/// Steim-encodes as many of `samples` as fit in `frames` 64-byte frames (big-endian, as the
/// standard requires). `prev` is the sample before `samples[0]` in the stream, if any, used for
/// the first difference. Returns the frame bytes (unused frames zeroed) and the sample count.
///
/// Errors when a Steim2 difference needs more than 30 bits: the sample index is returned.
pub fn encode(
    encoding: Encoding,
    samples: &[i32],
    prev: Option<i32>,
    frames: usize,
) -> Result<(Vec<u8>, usize), (usize, i64)> {
    let packs: &[Pack] = if encoding == Encoding::Steim2 {
        &STEIM2_PACKS
    } else {
        &STEIM1_PACKS
    };
    let steim1 = encoding == Encoding::Steim1;
    let mut out = vec![0u8; frames * 64];
    if samples.is_empty() || frames == 0 {
        return Ok((out, 0));
    }
    let diff_at = |i: usize| -> i64 {
        if i == 0 {
            match prev {
                Some(p) => {
                    let d = samples[0] as i64 - p as i64;
                    // The first difference is ignored by readers; keep it encodable.
                    if steim1 {
                        samples[0].wrapping_sub(p) as i64
                    } else if fits(d, 30) {
                        d
                    } else {
                        0
                    }
                }
                None => 0,
            }
        } else if steim1 {
            // Steim1 differences are 32-bit and wrap, as in every decoder.
            samples[i].wrapping_sub(samples[i - 1]) as i64
        } else {
            samples[i] as i64 - samples[i - 1] as i64
        }
    };
    let mut i = 0usize;
    let mut last_packed = 0usize;
    'frames: for f in 0..frames {
        let frame = &mut out[f * 64..f * 64 + 64];
        let mut codes: u32 = 0;
        let first = if f == 0 { 3 } else { 1 };
        for w in first..16 {
            if i >= samples.len() {
                break;
            }
            let remaining = samples.len() - i;
            let mut chosen = None;
            for p in packs {
                if p.count > remaining {
                    continue;
                }
                if (0..p.count).all(|k| fits(diff_at(i + k), p.bits)) {
                    chosen = Some(p);
                    break;
                }
            }
            let p = match chosen {
                Some(p) => p,
                None => return Err((i, diff_at(i))),
            };
            let mut v: u32 = 0;
            if let Some(d) = p.dnib {
                v |= d << 30;
            }
            let mask = if p.bits == 32 {
                u32::MAX
            } else {
                (1u32 << p.bits) - 1
            };
            for k in 0..p.count {
                let d = diff_at(i + k) as u32 & mask;
                let shift = p.bits * (p.count - 1 - k) as u32;
                v |= d << shift;
            }
            frame[w * 4..w * 4 + 4].copy_from_slice(&v.to_be_bytes());
            codes |= p.code << (30 - 2 * w);
            i += p.count;
            last_packed = i;
        }
        frame[0..4].copy_from_slice(&codes.to_be_bytes());
        if i >= samples.len() {
            break 'frames;
        }
    }
    let x0 = samples[0];
    let xn = samples[last_packed - 1];
    out[4..8].copy_from_slice(&x0.to_be_bytes());
    out[8..12].copy_from_slice(&xn.to_be_bytes());
    Ok((out, last_packed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(enc: Encoding, data: &[i32]) {
        let frames = data.len().div_ceil(2) + 1;
        let (bytes, n) = encode(enc, data, None, frames).unwrap();
        assert_eq!(n, data.len());
        let mut out = Vec::new();
        let ok = decode(enc, &bytes, n, ByteOrder::Big, &mut out).unwrap();
        assert!(ok, "Xn check");
        assert_eq!(out, data);
    }

    #[test]
    fn round_trips_all_difference_widths() {
        // Every difference width: jump by a step and back, so values stay bounded.
        let steps = [
            1i32,
            -3,
            7,
            15,
            -16,
            31,
            100,
            -128,
            511,
            16383,
            -16384,
            536_870_911,
        ];
        let mut data = vec![0i32];
        for s in steps.iter().cycle().take(500) {
            data.push(s / 2);
            data.push(s / 2 - s);
        }
        round_trip(Encoding::Steim1, &data);
        round_trip(Encoding::Steim2, &data);
        round_trip(Encoding::Steim1, &[i32::MIN, i32::MAX, 0, -1]);
    }

    #[test]
    fn steim2_rejects_huge_differences() {
        let err = encode(Encoding::Steim2, &[0, 1 << 30], None, 2).unwrap_err();
        assert_eq!(err.0, 1);
    }

    #[test]
    fn short_frames_are_an_error_not_a_panic() {
        let (bytes, _) = encode(Encoding::Steim2, &[1, 2, 3], None, 1).unwrap();
        let mut out = Vec::new();
        assert!(matches!(
            decode(Encoding::Steim2, &bytes, 1000, ByteOrder::Big, &mut out),
            Err(SteimError::Short { decoded: 3 })
        ));
        assert!(out.is_empty());
    }
}
