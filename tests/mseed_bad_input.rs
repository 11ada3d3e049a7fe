//! Damaged input: one record in the middle of a real file is broken in each way the issue
//! lists. The error names the byte offset of the broken record, every other record is still
//! read, and nothing panics or loops.

mod common;

use seisreduce::formats::mseed::{read_buffer, ErrorKind, RecordReader};

const RECLEN: usize = 512;
const BAD: usize = 5; // index of the record we break

fn good_file() -> Vec<u8> {
    // 128 records of 512 bytes, 412 samples each, with gaps: a real Steim1 file.
    std::fs::read(common::test_data().join("mseed/gaps.mseed")).unwrap()
}

fn check(name: &str, bytes: &[u8], expect: impl Fn(&ErrorKind) -> bool) {
    let good = read_buffer(&good_file());
    let asm = read_buffer(bytes);
    let offset = (BAD * RECLEN) as u64;
    let err = asm
        .errors
        .iter()
        .find(|e| e.offset == offset)
        .unwrap_or_else(|| panic!("{name}: no error at byte {offset}: {:?}", asm.errors));
    assert!(expect(&err.kind), "{name}: unexpected error {err}");
    assert!(
        err.to_string().contains(&format!("byte {offset}")),
        "{name}: {err}"
    );
    assert_eq!(
        asm.records,
        good.records - 1,
        "{name}: the other records must still be read"
    );
    let samples: usize = asm.segments.iter().map(|s| s.npts()).sum();
    let good_samples: usize = good.segments.iter().map(|s| s.npts()).sum();
    assert_eq!(samples, good_samples - 412, "{name}");
}

fn patched(at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut f = good_file();
    let start = BAD * RECLEN + at;
    f[start..start + bytes.len()].copy_from_slice(bytes);
    f
}

#[test]
fn corrupt_blockette_chain() {
    // Blockette 1000's "next" pointing backwards, then far beyond the record.
    check("next backwards", &patched(50, &[0, 20]), |k| {
        matches!(k, ErrorKind::BadBlockette { .. })
    });
    check("next too far", &patched(50, &[0x38, 0]), |k| {
        matches!(k, ErrorKind::BadBlockette { .. })
    });
    // First blockette inside the fixed header.
    check("first blockette", &patched(46, &[0, 8]), |k| {
        matches!(k, ErrorKind::BadBlockette { .. })
    });
}

#[test]
fn absurd_sample_count_and_record_length() {
    check("sample count", &patched(30, &[0xff, 0xff]), |k| {
        matches!(k, ErrorKind::SampleCount { .. })
    });
    // Record length exponent 30 (1 GiB).
    check("record length", &patched(54, &[30]), |k| {
        matches!(k, ErrorKind::BadRecordLength(_))
    });
    // Data offset past the record end.
    check("data offset", &patched(44, &[0x40, 0]), |k| {
        matches!(k, ErrorKind::BadDataOffset { .. })
    });
}

#[test]
fn garbage_in_the_data_and_in_the_header() {
    // Steim1 frames whose first word claims undefined codes do not exist in Steim1, so use a
    // header full of noise instead: a stretch of non-miniSEED bytes.
    check("noise header", &patched(0, &[0xAB; 48]), |k| {
        matches!(k, ErrorKind::NotMiniseed { .. })
    });
    // An unsupported encoding code in blockette 1000.
    check("encoding", &patched(52, &[99]), |k| {
        matches!(k, ErrorKind::UnsupportedEncoding(99))
    });
}

#[test]
fn truncated_file_reports_the_last_record() {
    let f = good_file();
    let cut = &f[..f.len() - 100];
    let asm = read_buffer(cut);
    let last = (f.len() - RECLEN) as u64;
    assert!(
        asm.errors
            .iter()
            .any(|e| e.offset == last && matches!(e.kind, ErrorKind::Truncated { .. })),
        "{:?}",
        asm.errors
    );
    assert_eq!(asm.records, f.len() / RECLEN - 1);
}

#[test]
fn every_prefix_and_every_single_byte_flip_is_handled() {
    // Exhaustive small-scale robustness: no panic, no endless loop, offsets in range.
    let f = &good_file()[..4 * RECLEN];
    for len in 0..f.len() {
        for item in RecordReader::new(&f[..len]) {
            if let Err(e) = item {
                assert!(e.offset < len as u64);
            }
        }
    }
    for i in 0..RECLEN {
        let mut g = f.to_vec();
        g[RECLEN + i] ^= 0xff;
        let asm = read_buffer(&g);
        // The three untouched records always survive.
        assert!(asm.records >= 3, "flip at {i}: {:?}", asm.errors);
    }
}
