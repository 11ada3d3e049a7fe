//! The vendor layouts we have no shared recording of, written here as their interrogators
//! lay them out (from the vendors' and DASCore's descriptions), and read back: Terra15 v4/v6
//! with frames not yet written, OptoDAS 10 distance-major int16 with a storage scale, PRODML
//! locus-major without a time array or a rate, AP Sensing, Silixa's native H5, Febus A1 v2
//! with overlapping blocks. Each checks the axes, the values and the metadata.

use std::path::Path;

use hdf5::types::{FixedAscii, VarLenUnicode};
use hdf5::{File, Location};
use ndarray::{Array1, Array2, Array3};
use seisreduce::formats::das::{DasFile, Quantity};
use seisreduce::model::parse_iso;

fn vstr(s: &str) -> VarLenUnicode {
    s.parse().unwrap()
}

fn a_num(loc: &Location, name: &str, v: f64) {
    loc.new_attr::<f64>()
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

fn a_int(loc: &Location, name: &str, v: i64) {
    loc.new_attr::<i64>()
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

fn a_str(loc: &Location, name: &str, v: &str) {
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .unwrap()
        .write_scalar(&vstr(v))
        .unwrap();
}

fn a_vec(loc: &Location, name: &str, v: &[f64]) {
    loc.new_attr::<f64>()
        .shape(v.len())
        .create(name)
        .unwrap()
        .write(&Array1::from(v.to_vec()))
        .unwrap();
}

fn d_num(g: &hdf5::Group, name: &str, v: f64) {
    g.new_dataset::<f64>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

fn d_int(g: &hdf5::Group, name: &str, v: i64) {
    g.new_dataset::<i64>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&v)
        .unwrap();
}

fn d_fixed(g: &hdf5::Group, name: &str, v: &str) {
    let s = FixedAscii::<32>::from_ascii(v.as_bytes()).unwrap();
    g.new_dataset::<FixedAscii<32>>()
        .shape(())
        .create(name)
        .unwrap()
        .write_scalar(&s)
        .unwrap();
}

fn d_fixed_vec(g: &hdf5::Group, name: &str, v: &[&str]) {
    let a: Array1<FixedAscii<32>> = v
        .iter()
        .map(|s| FixedAscii::from_ascii(s.as_bytes()).unwrap())
        .collect();
    g.new_dataset::<FixedAscii<32>>()
        .shape(v.len())
        .create(name)
        .unwrap()
        .write(&a)
        .unwrap();
}

fn terra15(path: &Path, version: i64, allocated: usize, written: usize) {
    let f = File::create(path).unwrap();
    for (k, v) in [
        ("acoustic_bandwidth_end", 500.0),
        ("amplifier_incoming_current", 1.0),
        ("file_start_computer_time", 1.7e9),
    ] {
        a_num(&f, k, v);
    }
    a_int(&f, "file_version", version);
    a_num(&f, "dx", 2.5);
    a_num(&f, "sensing_range_start", 100.0);
    a_int(&f, "nx", 8);
    a_num(&f, "gauge_length", 5.0);
    a_num(&f, "pulse_rate", 20_000.0);
    a_str(&f, "data_product", "velocity");
    a_str(&f, "data_product_units", "m/s");
    a_str(&f, "serial_number", "Treble42");
    let g = f
        .create_group(if version == 4 {
            "velocity"
        } else {
            "data_product"
        })
        .unwrap();
    let data = Array2::from_shape_fn((allocated, 8), |(t, x)| {
        if t < written {
            (t * 10 + x) as f32
        } else {
            0.0
        }
    });
    let ds = g
        .new_dataset_builder()
        .with_data(&data)
        .create("data")
        .unwrap();
    a_num(&ds, "dT", 0.001);
    // 1 kHz GPS times with a little jitter; unwritten rows hold 0.
    let t0 = 1_700_000_000.25f64;
    let gps = Array1::from_shape_fn(allocated, |i| {
        if i < written {
            t0 + i as f64 * 0.001 + if i % 3 == 1 { 2e-6 } else { 0.0 }
        } else {
            0.0
        }
    });
    g.new_dataset_builder()
        .with_data(&gps)
        .create("gps_time")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&gps)
        .create("posix_time")
        .unwrap();
}

#[test]
fn terra15_v4_and_v6_stop_at_the_last_written_frame() {
    let dir = tempfile::tempdir().unwrap();
    for version in [4, 6] {
        let p = dir.path().join(format!("t{version}.h5"));
        terra15(&p, version, 600, 450);
        let f = DasFile::open(&p).unwrap();
        let i = &f.info;
        assert_eq!(
            (i.format, i.version.as_str()),
            ("TERRA15", version.to_string().as_str())
        );
        assert_eq!((i.n_time, i.n_distance), (450, 8));
        assert_eq!(i.start, 1_700_000_000_250_000_000);
        assert_eq!(i.step_ns(), 1_000_000);
        assert_eq!(i.distance[0], 100.0);
        assert_eq!(i.distance[7], 117.5);
        assert_eq!(i.units.quantity, Quantity::Velocity);
        assert!(
            i.warnings
                .iter()
                .any(|w| w.contains("150 of 600 rows not written")),
            "{:?}",
            i.warnings
        );
        let b = f.read(440..450, 0..8).unwrap();
        assert_eq!(b[[3, 9]], (449 * 10 + 3) as f32);
        assert!(f.read(440..451, 0..8).is_err());
    }
}

#[test]
fn optodas_distance_major_int16_with_a_storage_scale() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("opto.hdf5");
    {
        let f = File::create(&p).unwrap();
        for g in ["acqSpec", "cableSpec"] {
            let g = f.create_group(g).unwrap();
            d_num(&g, "placeholder", 0.0);
        }
        d_int(&f, "fileVersion", 10);
        let h = f.create_group("header").unwrap();
        d_fixed_vec(&h, "dimensionNames", &["distance", "time"]);
        d_fixed_vec(&h, "dimensionUnits", &["m", "s"]);
        let r = h.create_group("dimensionRanges").unwrap();
        let d0 = r.create_group("dimension0").unwrap();
        d_num(&d0, "unitScale", 2.0);
        let d1 = r.create_group("dimension1").unwrap();
        d_num(&d1, "unitScale", 0.004);
        d_int(&d1, "min", 0);
        d_int(&d1, "max", 99);
        d_num(&h, "time", 1_650_000_000.5);
        d_num(&h, "dataScale", 0.5);
        d_num(&h, "gaugeLength", 8.0);
        d_fixed(&h, "unit", "rad/m");
        d_fixed(&h, "instrument", "asn-007");
        h.new_dataset_builder()
            .with_data(&Array2::from_elem((1, 1), 4.0f32))
            .create("sensitivities")
            .unwrap();
        h.new_dataset_builder()
            .with_data(&Array1::from_iter(100..110i32))
            .create("channels")
            .unwrap();
        let data = Array2::from_shape_fn((10, 100), |(x, t)| (x as i16) * 100 + t as i16);
        f.new_dataset_builder()
            .with_data(&data)
            .create("data")
            .unwrap();
    }
    let f = DasFile::open(&p).unwrap();
    let i = &f.info;
    assert_eq!(
        (i.format, i.version.as_str(), i.dtype.as_str()),
        ("OptoDAS", "10", "float32")
    );
    assert_eq!((i.n_time, i.n_distance), (100, 10));
    assert_eq!(i.start, 1_650_000_000_500_000_000);
    assert_eq!(i.rate_hz, 250.0);
    assert_eq!(
        i.distance,
        (100..110).map(|c| c as f64 * 2.0).collect::<Vec<_>>()
    );
    assert_eq!(i.units.quantity, Quantity::Phase);
    assert_eq!(
        i.units.factor,
        Some(0.25),
        "phase to strain: 1 / sensitivity"
    );
    assert_eq!(i.gauge_length_m, Some(8.0));
    let b = f.read(10..20, 3..5).unwrap();
    assert_eq!(b.dim(), (2, 10));
    assert_eq!(b[[1, 2]], ((4 * 100 + 12) as f32) * 0.5);
}

#[test]
fn prodml_locus_major_without_time_array_or_rate() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sintela.h5");
    {
        let f = File::create(&p).unwrap();
        let a = f.create_group("Acquisition").unwrap();
        a_num(&a, "PulseRate", 10_000.0);
        a_num(&a, "PulseWidth", 20.0);
        a_int(&a, "NumberOfLoci", 6);
        a_num(&a, "schemaVersion", 2.0);
        a_str(&a, "uuid", "x");
        a_num(&a, "SpatialSamplingInterval", 1.5);
        a_int(&a, "StartLocusIndex", 4);
        a_num(&a, "GaugeLength", 3.0);
        let raw = a.create_group("Raw[0]").unwrap();
        a_str(&raw, "RawDataUnit", "rad");
        a_str(&raw, "RawDescription", "Phase");
        let data = Array2::from_shape_fn((6, 51), |(x, t)| (x * 1000 + t) as f32);
        let ds = raw
            .new_dataset_builder()
            .with_data(&data)
            .create("RawData")
            .unwrap();
        a_str(&ds, "Dimensions", "locus, time");
        a_str(&ds, "PartStartTime", "2023-01-02T03:04:05.000000+01:00");
        a_str(&ds, "PartEndTime", "2023-01-02T03:04:05.500000+01:00");
    }
    let f = DasFile::open(&p).unwrap();
    let i = &f.info;
    assert_eq!((i.format, i.version.as_str()), ("PRODML", "2.0"));
    assert_eq!((i.n_time, i.n_distance), (51, 6));
    assert_eq!(i.start, parse_iso("2023-01-02T02:04:05").unwrap());
    assert_eq!(i.rate_hz, 100.0, "50 intervals over 0.5 s");
    assert_eq!(i.distance[0], 6.0);
    assert_eq!(i.units.quantity, Quantity::Phase);
    let b = f.read(7..9, 2..4).unwrap();
    assert_eq!(
        b,
        Array2::from_shape_fn((2, 2), |(x, t)| ((x + 2) * 1000 + t + 7) as f32)
    );
}

#[test]
fn ap_sensing_and_silixa_native() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("aps.h5");
    {
        let f = File::create(&p).unwrap();
        a_str(&f, "AppVersion", "2.1");
        a_int(&f, "FileVersion", 10);
        a_int(&f, "OpticalChannelNumber", 1);
        let daq = f.create_group("DAQ").unwrap();
        d_num(&daq, "PositionStart", 100.0);
        d_num(&daq, "PositionEnd", 200.0);
        d_fixed(&daq, "SerialNumber", "APS-1");
        let ps = f.create_group("ProcessingServer").unwrap();
        d_num(&ps, "DataRate", 2000.0);
        d_num(&ps, "GaugeLength", 5.0);
        d_num(&ps, "RadiansToNanoStrain", 115.5);
        let m = f.create_group("Metadata").unwrap();
        d_fixed(&m, "Timestamp", "2023-05-01T10:00:00.5");
        d_fixed(&m, "Timezone", "UTC");
        d_int(&m, "TraceCount", 40);
        f.create_group("Interrogator").unwrap();
        f.new_dataset_builder()
            .with_data(&Array2::from_elem((40, 50), 1.5f32))
            .create("DAS")
            .unwrap();
    }
    let f = DasFile::open(&p).unwrap();
    let i = &f.info;
    assert_eq!((i.format, i.version.as_str()), ("APSensing", "10"));
    assert_eq!(i.start, parse_iso("2023-05-01T10:00:00.5").unwrap());
    assert_eq!(
        (i.rate_hz, i.distance_step(), i.distance[0]),
        (2000.0, 2.0, 100.0)
    );
    assert_eq!(i.units.factor, Some(115.5));
    assert_eq!(i.units.physical, "nanostrain");

    let p = dir.path().join("silixa.h5");
    {
        let f = File::create(&p).unwrap();
        let ds = f
            .new_dataset_builder()
            .with_data(&Array2::from_elem((30, 12), 7i16))
            .create("Acoustic")
            .unwrap();
        a_num(&ds, "SamplingFrequency[Hz]", 1000.0);
        a_str(&ds, "GPSTimeStamp", "01/05/2023 10:00:00.250000 (UTC)");
        a_str(&ds, "CPUTimeStamp", "01/05/2023 10:00:01.000000 (UTC)");
        a_num(&ds, "SpatialResolution[m]", 0.5);
        a_num(&ds, "Fibre Length Multiplier", 1.0);
        a_num(&ds, "StartPosition[m]", -20.0);
        a_num(&ds, "MeasureLength[m]", 0.0);
        a_num(&ds, "GaugeLength", 10.0);
    }
    let f = DasFile::open(&p).unwrap();
    let i = &f.info;
    assert_eq!((i.format, i.dtype.as_str()), ("Silixa_H5", "int16"));
    assert_eq!(i.start, parse_iso("2023-05-01T10:00:00.25").unwrap());
    assert_eq!((i.distance[0], i.distance_step()), (-20.0, 0.5));
    assert_eq!(f.read(29..30, 11..12).unwrap()[[0, 0]], 7.0);
}

#[test]
fn febus_v2_overlapping_blocks_make_one_continuous_record() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("febus.h5");
    {
        let f = File::create(&p).unwrap();
        let dev = f.create_group("fa1-22000001").unwrap();
        let src = dev.create_group("Source1").unwrap();
        for (k, v) in [("AmpliPower", 27.0), ("SamplingRate", 1000.0)] {
            a_vec(&src, k, &[v]);
        }
        a_str(&src, "Hostname", "fa1-22000001");
        a_vec(&src, "WholeExtent", &[0.0, 9.0, 0.0, 199.0, 0.0, 0.0]);
        a_str(&src, "Version", "2.3.1");
        let zone = src.create_group("Zone1").unwrap();
        a_vec(&zone, "Spacing", &[2.0, 1.0, 1.0]);
        a_vec(&zone, "Extent", &[5.0, 14.0, 0.0, 199.0, 0.0, 0.0]);
        a_vec(&zone, "Origin", &[10.0, 0.0, 0.0]);
        a_vec(&zone, "BlockOverlap", &[100.0]);
        a_vec(&zone, "GaugeLength", &[20.0]);
        a_str(&zone, "Version", "2.3.1");
        // 5 blocks of 200 rows, 100 ms apart: each repeats 50 rows of its neighbours on each side.
        let cube = Array3::from_shape_fn((5, 200, 10), |(b, r, x)| {
            ((b * 100 + r) as f32 - 50.0) * 10.0 + x as f32
        });
        zone.new_dataset_builder()
            .with_data(&cube)
            .create("StrainRate")
            .unwrap();
        let t0 = 1_600_000_000.0f64;
        let times = Array2::from_shape_fn((1, 5), |(_, b)| t0 + b as f64 * 0.1);
        src.new_dataset_builder()
            .with_data(&times)
            .create("time")
            .unwrap();
    }
    let f = DasFile::open(&p).unwrap();
    let i = &f.info;
    assert_eq!((i.format, i.version.as_str()), ("febus", "2"));
    assert_eq!((i.n_time, i.n_distance), (500, 10));
    assert_eq!(i.rate_hz, 1000.0);
    assert_eq!(i.start, 1_600_000_000_050_000_000);
    assert_eq!((i.distance[0], i.distance_step()), (20.0, 2.0));
    let all = f.read(0..500, 0..10).unwrap();
    for t in 0..500 {
        assert_eq!(
            all[[3, t]],
            t as f32 * 10.0 + 3.0,
            "row {t}: one continuous record"
        );
    }
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
}
