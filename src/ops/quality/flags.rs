//! miniSEED header flags, counted per window: the activity, I/O and clock, and data quality
//! bits of a miniSEED 2 fixed header, in the order and with the names ObsPy's `get_flags` (and
//! MUSTANG's flag metrics) use; for miniSEED 3, the same facts from the record's flags byte and
//! its FDSN extra headers, mapped as libmseed maps miniSEED 2 headers onto miniSEED 3.

use crate::formats::mseed::RecordHeader;

/// Column names, in column order: 7 activity, 6 I/O and clock, 8 data quality flags.
pub const NAMES: [&str; 21] = [
    "calibration_signal",
    "time_correction_applied",
    "event_begin",
    "event_end",
    "positive_leap",
    "negative_leap",
    "event_in_progress",
    "station_volume",
    "long_record_read",
    "short_record_read",
    "start_time_series",
    "end_time_series",
    "clock_locked",
    "amplifier_saturation",
    "digitizer_clipping",
    "spikes",
    "glitches",
    "missing_padded_data",
    "telemetry_sync_error",
    "digital_filter_charging",
    "suspect_time_tag",
];

/// What one record's header says about its quality.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RecordFlags {
    /// Bit `i` set when flag `NAMES[i]` is.
    pub bits: u32,
    /// A time correction is stated (miniSEED 2 field 16 non-zero, `FDSN.Time.Correction`).
    pub time_correction: bool,
    /// Blockette 1001's timing quality, or `FDSN.Time.Quality`, percent.
    pub timing_quality: Option<f64>,
}

impl RecordFlags {
    pub fn of(h: &RecordHeader) -> RecordFlags {
        match &h.v2 {
            Some(v2) => RecordFlags {
                bits: (v2.activity_flags as u32 & 0x7f)
                    | (v2.io_flags as u32 & 0x3f) << 7
                    | (v2.data_quality_flags as u32) << 13,
                time_correction: v2.time_correction != 0,
                timing_quality: v2.timing_quality.map(f64::from),
            },
            None => v3(h),
        }
    }
}

fn bit(name: &str) -> u32 {
    1 << NAMES.iter().position(|n| *n == name).unwrap_or(0)
}

/// miniSEED 3: flags bit 0 calibration, bit 1 time tag questionable, bit 2 clock locked; the
/// rest in `FDSN.Event`, `FDSN.Flags` and `FDSN.Time`.
fn v3(h: &RecordHeader) -> RecordFlags {
    let mut f = RecordFlags::default();
    for (b, name) in [
        (0, "calibration_signal"),
        (1, "suspect_time_tag"),
        (2, "clock_locked"),
    ] {
        if h.flags & (1 << b) != 0 {
            f.bits |= bit(name);
        }
    }
    let Some(extra) = h.extra.as_deref().filter(|e| e.contains("FDSN")) else {
        return f;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(extra) else {
        return f;
    };
    let fdsn = &v["FDSN"];
    let set = |j: &serde_json::Value| j.as_bool() == Some(true);
    for (k, name) in [
        ("Begin", "event_begin"),
        ("End", "event_end"),
        ("InProgress", "event_in_progress"),
    ] {
        if set(&fdsn["Event"][k]) {
            f.bits |= bit(name);
        }
    }
    for (k, name) in [
        ("StationVolumeParityError", "station_volume"),
        ("LongRecordRead", "long_record_read"),
        ("ShortRecordRead", "short_record_read"),
        ("StartOfTimeSeries", "start_time_series"),
        ("EndOfTimeSeries", "end_time_series"),
        ("AmplifierSaturation", "amplifier_saturation"),
        ("DigitizerClipping", "digitizer_clipping"),
        ("Spikes", "spikes"),
        ("Glitches", "glitches"),
        ("MissingData", "missing_padded_data"),
        ("TelemetrySyncError", "telemetry_sync_error"),
        ("FilterCharging", "digital_filter_charging"),
    ] {
        if set(&fdsn["Flags"][k]) {
            f.bits |= bit(name);
        }
    }
    let time = &fdsn["Time"];
    match time["LeapSecond"].as_i64() {
        Some(1) => f.bits |= bit("positive_leap"),
        Some(-1) => f.bits |= bit("negative_leap"),
        _ => {}
    }
    f.time_correction = time["Correction"].as_f64().is_some_and(|c| c != 0.0);
    f.timing_quality = time["Quality"].as_f64();
    f
}

/// How many of a window's records have each flag set (all records, repeats included: the
/// count is of records, as ObsPy and MUSTANG count them).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlagCounts {
    pub counts: [u64; 21],
}

impl FlagCounts {
    pub fn add(&mut self, f: &RecordFlags) {
        let mut b = f.bits;
        while b != 0 {
            self.counts[b.trailing_zeros() as usize] += 1;
            b &= b - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miniseed3_extra_headers_map_to_the_v2_names() {
        use crate::formats::mseed::{encode, EncodeOptions, RecordReader, Samples};
        use crate::model::{SampleRate, SeedId};
        let opts = EncodeOptions {
            format_version: 3,
            extra: Some(
                r#"{"FDSN":{"Time":{"Quality":80,"LeapSecond":-1,"Correction":0.5},"Event":{"Begin":true},"Flags":{"Glitches":true,"MissingData":true}}}"#
                    .into(),
            ),
            ..Default::default()
        };
        let sid = SeedId::new("XX", "STA", "00", "HHZ").to_source_id();
        let bytes = encode(
            &sid,
            0,
            SampleRate(100.0),
            &Samples::Int(vec![1, 2, 3]),
            &opts,
        )
        .unwrap()
        .concat();
        let rec = RecordReader::new(&bytes).next().unwrap().unwrap();
        let mut hd = rec.header.clone();
        hd.flags = 0b101;
        let f = RecordFlags::of(&hd);
        let names: Vec<&str> = (0..21)
            .filter(|i| f.bits & (1 << i) != 0)
            .map(|i| NAMES[i])
            .collect();
        assert_eq!(
            names,
            [
                "calibration_signal",
                "event_begin",
                "negative_leap",
                "clock_locked",
                "glitches",
                "missing_padded_data"
            ]
        );
        assert_eq!(f.timing_quality, Some(80.0));
        assert!(f.time_correction);
    }
}
