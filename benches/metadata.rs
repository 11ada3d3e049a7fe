//! Station metadata at network scale, and response removal.
//!
//! - StationXML: a response-level document the size of a national network's
//!   (`SEISREDUCE_STATIONS` stations, default 600, each IU.ANMO's nine BH channel epochs with
//!   their full responses from `test-data/stationxml/IU_ANMO_BH.xml`, renamed: ~33 MB for
//!   600), parsed into the channel catalogue, and every response prepared for evaluation. The
//!   document is written to `target/bench-data/stationxml_network.xml` so that
//!   `benches/metadata_obspy.py` times ObsPy's `read_inventory` on the same bytes.
//! - remove_response: one hour of IU.ANMO.00.BHZ at 40 Hz (144,000 samples) to velocity with
//!   ObsPy's defaults, the response evaluated for the window each time (as ObsPy does) and
//!   with the prepared deconvolver reused (as a stream of equal windows runs).
//!
//! `benches/compare_metadata.sh` runs both sides.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use seisreduce::metadata::deconvolve::{Deconvolver, RemoveOptions};
use seisreduce::metadata::evaluate::Evaluator;
use seisreduce::metadata::stationxml;
use seisreduce::model::ids::SeedId;

/// The IU.ANMO document with its one station repeated `n` times under new codes.
fn network(n: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/stationxml/IU_ANMO_BH.xml");
    let text = std::fs::read_to_string(&path).expect("IU_ANMO_BH.xml");
    let a = text.find("<Station ").expect("a station");
    let b = text.find("</Station>").expect("its end") + "</Station>".len();
    let station = &text[a..b];
    let mut out = String::with_capacity(text.len() * n);
    out.push_str(&text[..a]);
    for i in 0..n {
        out.push_str(&station.replacen("code=\"ANMO\"", &format!("code=\"S{i:04}\""), 1));
        out.push_str("\n  ");
    }
    out.push_str(&text[b..]);
    out
}

fn bench_stationxml(c: &mut Criterion) {
    let n: usize = std::env::var("SEISREDUCE_STATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let doc = network(n);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("stationxml_network.xml"), &doc);
    let parsed = stationxml::parse(&doc, "bench").expect("parses");
    assert_eq!(parsed.epochs.len(), 9 * n);
    eprintln!(
        "stationxml: {n} stations, {} channel epochs, {:.1} MB",
        parsed.epochs.len(),
        doc.len() as f64 / 1e6
    );
    let mut g = c.benchmark_group("stationxml");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("parse_response_level", |b| {
        b.iter(|| {
            let p = stationxml::parse(black_box(&doc), "bench").unwrap();
            black_box(p.epochs.len())
        })
    });
    g.bench_function("parse_and_prepare_responses", |b| {
        b.iter(|| {
            let p = stationxml::parse(black_box(&doc), "bench").unwrap();
            let ready = p
                .epochs
                .iter()
                .filter_map(|e| e.response.as_ref())
                .filter(|r| Evaluator::new(r).is_ok())
                .count();
            black_box(ready)
        })
    });
    g.finish();

    // remove_response on an hour at 40 Hz.
    // The first renamed copy of IU.ANMO.00.BHZ.
    let id = SeedId::new("IU", "S0000", "00", "BHZ");
    let epoch = parsed
        .epochs
        .iter()
        .find(|e| e.id == id)
        .expect("IU.S0000.00.BHZ");
    let response = Evaluator::new(epoch.response.as_ref().unwrap()).unwrap();
    let npts = 144_000;
    let mut state = 12345u64;
    let data: Vec<f64> = (0..npts)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 1e4
        })
        .collect();
    let mut g = c.benchmark_group("remove_response");
    g.sample_size(10);
    g.throughput(Throughput::Elements(npts as u64));
    let mut out = Vec::new();
    g.bench_function("hour_40hz_each_window_new", |b| {
        b.iter(|| {
            let mut d = Deconvolver::new(&response, 40.0, npts, RemoveOptions::default());
            d.apply(black_box(&data), &mut out);
            black_box(out[0])
        })
    });
    let mut d = Deconvolver::new(&response, 40.0, npts, RemoveOptions::default());
    g.bench_function("hour_40hz_reused", |b| {
        b.iter(|| {
            d.apply(black_box(&data), &mut out);
            black_box(out[0])
        })
    });
    g.finish();
}

criterion_group!(benches, bench_stationxml);
criterion_main!(benches);
