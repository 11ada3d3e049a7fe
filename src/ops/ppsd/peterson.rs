//! Peterson's (1993) New Low and New High Noise Models: the vertical ground-acceleration
//! power spectral density, in dB rel. 1 (m/s²)²/Hz, bounding what quiet and noisy stations
//! of the global network record. Each model is straight lines in (log10 period, dB) between
//! the periods of his tables: `A + B·log10(P)` from 0.1 s to 100 000 s. ObsPy's
//! `get_nlnm`/`get_nhnm` tabulate the same lines (checked in `tests/ppsd.rs`).

/// (start period s, A, B): the line used from this period to the next row's.
const NLNM: &[(f64, f64, f64)] = &[
    (0.10, -162.36, 5.64),
    (0.17, -166.70, 0.00),
    (0.40, -170.00, -8.30),
    (0.80, -166.40, 28.90),
    (1.24, -168.60, 52.48),
    (2.40, -159.98, 29.81),
    (4.30, -141.10, 0.00),
    (5.00, -71.36, -99.77),
    (6.00, -97.26, -66.49),
    (10.00, -132.18, -31.57),
    (12.00, -205.27, 36.16),
    (15.60, -37.65, -104.33),
    (21.90, -114.37, -47.10),
    (31.60, -160.58, -16.28),
    (45.00, -187.50, 0.00),
    (70.00, -216.47, 15.70),
    (101.00, -185.00, 0.00),
    (154.00, -168.34, -7.61),
    (328.00, -217.43, 11.90),
    (600.00, -258.28, 26.60),
    (10_000.00, -346.88, 48.75),
];

const NHNM: &[(f64, f64, f64)] = &[
    (0.10, -108.73, -17.23),
    (0.22, -150.34, -80.50),
    (0.32, -122.31, -23.87),
    (0.80, -116.85, 32.51),
    (3.80, -108.48, 18.08),
    (4.60, -74.66, -32.95),
    (6.30, 0.66, -127.18),
    (7.90, -93.37, -22.42),
    (15.40, 73.54, -162.98),
    (20.00, -151.52, 10.01),
    (354.80, -206.66, 31.63),
];

/// The models' longest period, s.
const LAST: f64 = 100_000.0;

fn eval(table: &[(f64, f64, f64)], period: f64) -> Option<f64> {
    if !(table[0].0..=LAST).contains(&period) {
        return None;
    }
    let i = table.partition_point(|row| row.0 <= period) - 1;
    let (_, a, b) = table[i];
    Some(a + b * period.log10())
}

/// The New Low Noise Model at `period` s, dB; None outside 0.1–100 000 s.
pub fn nlnm(period: f64) -> Option<f64> {
    eval(NLNM, period)
}

/// The New High Noise Model at `period` s, dB; None outside 0.1–100 000 s.
pub fn nhnm(period: f64) -> Option<f64> {
    eval(NHNM, period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_a_microseism_value() {
        assert!((nlnm(100_000.0).unwrap() - -103.13).abs() < 1e-9);
        assert!((nhnm(100_000.0).unwrap() - -48.51).abs() < 1e-9);
        assert!((nlnm(0.1).unwrap() - (-162.36 - 5.64)).abs() < 1e-9);
        assert_eq!(nlnm(0.05), None);
        // the low model's quietest band lies between the high model's values
        let p = 30.0;
        assert!(nlnm(p).unwrap() < nhnm(p).unwrap());
    }
}
