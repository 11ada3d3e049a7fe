//! Header rules that the reference files exercise little or not at all: libmseed's time
//! correction rule, blockettes kept for round trips, CRC checking and out-of-order assembly.

mod common;

use seisreduce::formats::mseed::{
    encode, read_buffer, Blockette, ByteOrder, EncodeOptions, Encoding, ErrorKind, RecordReader,
    Samples,
};
use seisreduce::model::{SampleRate, SeedId};

fn one_record(opts: &EncodeOptions) -> Vec<u8> {
    let sid = SeedId::new("XX", "RULE", "", "BHZ").to_source_id();
    let data = Samples::Int((0..100).collect());
    let mut r = encode(
        &sid,
        1_000_000_000_000_000_000,
        SampleRate(20.0),
        &data,
        opts,
    )
    .unwrap();
    r.remove(0)
}

#[test]
fn time_correction_applies_only_when_not_yet_applied() {
    let base = one_record(&EncodeOptions::default());
    let start = |rec: &[u8]| RecordReader::new(rec).next().unwrap().unwrap().header.start;
    let t0 = start(&base);
    // +1.5 s correction (units of 0.0001 s), activity bit 1 clear: libmseed adds it.
    let mut r = base.clone();
    r[40..44].copy_from_slice(&15_000i32.to_be_bytes());
    assert_eq!(start(&r), t0 + 1_500_000_000);
    // Same correction flagged as already applied: the header time stands.
    r[36] |= 0x02;
    assert_eq!(start(&r), t0);
    // Negative corrections too.
    let mut r = base.clone();
    r[40..44].copy_from_slice(&(-25i32).to_be_bytes());
    assert_eq!(start(&r), t0 - 2_500_000);
}

#[test]
fn unknown_blockettes_are_kept_and_written_back() {
    let event = Blockette {
        kind: 201,
        body: (0..56).collect(),
        order: ByteOrder::Big,
    };
    let opts = EncodeOptions {
        blockettes: vec![event.clone()],
        ..Default::default()
    };
    let rec = one_record(&opts);
    let parsed = RecordReader::new(&rec).next().unwrap().unwrap();
    let v2 = parsed.header.v2.clone().unwrap();
    assert_eq!(v2.other_blockettes, vec![event]);
    // And they survive a second round trip through the writer.
    let opts2 = EncodeOptions {
        blockettes: v2.other_blockettes.clone(),
        ..Default::default()
    };
    let again = one_record(&opts2);
    assert_eq!(again, rec);
    assert_eq!(parsed.decode().unwrap(), Samples::Int((0..100).collect()));
}

#[test]
fn v3_crc_mismatch_is_an_error_for_that_record_only() {
    let opts = EncodeOptions {
        format_version: 3,
        encoding: Encoding::Int32,
        record_length: 256,
        ..Default::default()
    };
    let sid = SeedId::new("XX", "RULE", "", "BHZ").to_source_id();
    let data = Samples::Int((0..500).collect());
    let records = encode(&sid, 0, SampleRate(20.0), &data, &opts).unwrap();
    assert!(records.len() >= 3);
    let mut bytes = records.concat();
    let second = records[0].len();
    bytes[second + 100] ^= 0x01; // a data byte of the second record
    let asm = read_buffer(&bytes);
    assert_eq!(asm.records, records.len() - 1);
    let e = &asm.errors[0];
    assert_eq!(e.offset, second as u64);
    assert!(matches!(e.kind, ErrorKind::Crc { .. }), "{e}");
}

#[test]
fn out_of_order_records_are_sorted_and_joined() {
    let f = std::fs::read(common::test_data().join("mseed/gaps.mseed")).unwrap();
    let in_order = read_buffer(&f);
    // Reverse the 512-byte records.
    let shuffled: Vec<u8> = f.chunks(512).rev().flatten().copied().collect();
    let asm = read_buffer(&shuffled);
    assert_eq!(asm.segments, in_order.segments);
    assert_eq!(asm.gaps, in_order.gaps);
    assert_eq!(asm.gaps.len(), 3);
}

#[test]
fn blockettes_in_the_wrong_byte_order_are_refused() {
    let b = Blockette {
        kind: 500,
        body: vec![0; 196],
        order: ByteOrder::Little,
    };
    let opts = EncodeOptions {
        blockettes: vec![b],
        ..Default::default()
    };
    let sid = SeedId::new("XX", "RULE", "", "BHZ").to_source_id();
    let err = encode(
        &sid,
        0,
        SampleRate(1.0),
        &Samples::Int(vec![1, 2, 3]),
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("blockette 500"), "{err}");
}

/// A start-time fraction of 10000 ten-thousandths (or more), as some dataloggers write a whole
/// second: read as that much more time with a warning, exactly where ObsPy puts it, rather than
/// refused (which lost the record).
#[test]
fn fraction_of_a_whole_second_is_one_more_second_as_obspy_reads_it() {
    let base = one_record(&EncodeOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for fract in [10_000u16, 10_001, 12_345] {
        let mut rec = base.clone();
        // The v2 writer stores the header big-endian; the fraction is bytes 28..30.
        let before = u16::from_be_bytes([rec[28], rec[29]]) as i64;
        rec[28..30].copy_from_slice(&fract.to_be_bytes());
        let h = RecordReader::new(&rec).next().unwrap().unwrap().header;
        let t0 = RecordReader::new(&base)
            .next()
            .unwrap()
            .unwrap()
            .header
            .start;
        assert_eq!(h.start, t0 + (fract as i64 - before) * 100_000);
        assert!(
            h.warnings[0].contains(&format!("fraction {fract}")),
            "{:?}",
            h.warnings
        );
        let asm = read_buffer(&rec);
        assert!(asm.errors.is_empty() && asm.segments.len() == 1);
        assert_eq!(asm.header_warnings.len(), 1);
        let path = dir.path().join(format!("fract{fract}.mseed"));
        std::fs::write(&path, &rec).unwrap();
        files.push((path, h.start));
    }
    let args: Vec<&std::ffi::OsStr> = files.iter().map(|(p, _)| p.as_os_str()).collect();
    let out = common::run_python("check_start_times.py", &args);
    let obspy: Vec<i64> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
    let ours: Vec<i64> = files.iter().map(|(_, t)| *t).collect();
    assert_eq!(obspy, ours, "ObsPy's start times (ns) differ from ours");
}
