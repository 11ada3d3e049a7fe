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
//! - The `remove_sensitivity` and `remove_response` stages (operators, as the pipeline runs
//!   them): an hour at 40 Hz in one block, and three hours at 40 Hz in one-minute blocks
//!   through hour windows padded by 15 minutes.
//!
//! `benches/compare_metadata.sh` runs both sides.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use seisreduce::metadata::deconvolve::{Deconvolver, RemoveOptions};
use seisreduce::metadata::evaluate::Evaluator;
use seisreduce::metadata::stationxml;
use seisreduce::metadata::Catalogue;
use seisreduce::model::ids::SeedId;
use seisreduce::model::{ChannelMeta, Chunk, SampleRate};
use seisreduce::ops::epochs::Epochs;
use seisreduce::ops::response::{OutputName, RemoveResponse, RemoveResponseConfig};
use seisreduce::ops::sensitivity::RemoveSensitivity;
use seisreduce::ops::{Operator, Output};

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

    // The stages, with the catalogue of the whole network document.
    let catalogue =
        seisreduce::metadata::live::Live::fixed(Catalogue::new(parsed.epochs.clone(), Vec::new()));
    let t0 = epoch.start + 86_400_000_000_000;
    let block = |start: i64, x: &[f64]| Chunk {
        stream: "IU.S0000.00.BHZ".into(),
        start,
        rate: SampleRate(40.0),
        channels: vec![ChannelMeta {
            source_id: id.to_source_id(),
            distance_m: None,
        }],
        data: ndarray::Array2::from_shape_vec((1, x.len()), x.iter().map(|v| *v as f32).collect())
            .unwrap(),
        das: None,
        units: None,
    };
    let mut g = c.benchmark_group("metadata_stages");
    g.sample_size(10);
    g.throughput(Throughput::Elements(npts as u64));
    let mut op = RemoveSensitivity::new(Epochs::new(catalogue.clone(), None));
    let hour = block(t0, &data);
    g.bench_function("remove_sensitivity_hour_40hz", |b| {
        b.iter(|| {
            let mut out = Output::default();
            op.process(hour.clone(), &mut out);
            black_box(out.chunks.len())
        })
    });
    let cfg = RemoveResponseConfig {
        output: OutputName::Vel,
        water_level: Some(60.0),
        pre_filt: None,
        zero_mean: true,
        taper: true,
        taper_fraction: 0.05,
        window_s: 3600.0,
        pad_s: 900.0,
    };
    let minutes: Vec<Chunk> = (0..180)
        .map(|m| {
            let a = (m % 60) * 2400;
            block(t0 + m as i64 * 60_000_000_000, &data[a..a + 2400])
        })
        .collect();
    g.throughput(Throughput::Elements(3 * npts as u64));
    g.bench_function("remove_response_3h_40hz_minute_blocks", |b| {
        b.iter(|| {
            let mut op = RemoveResponse::new(&cfg, Epochs::new(catalogue.clone(), None));
            let mut out = Output::default();
            for m in &minutes {
                op.process(m.clone(), &mut out);
            }
            op.flush(&mut out);
            black_box(out.chunks.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_stationxml);
criterion_main!(benches);
