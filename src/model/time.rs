//! Time as integer nanoseconds since the Unix epoch.
//!
//! Every timestamp in seisreduce is an `i64` count of nanoseconds (`Nanos`), which covers the
//! years 1677–2262 with no rounding. Sample times are derived as `start + index / rate` in integer
//! arithmetic ([`sample_time`]) so that long streams never drift the way an accumulated float
//! step does. Calendar conversions use the proleptic Gregorian algorithm of Howard Hinnant's
//! `days_from_civil`, so no date library is needed on the hot path.

use std::fmt;

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub type Nanos = i64;

pub const NS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A broken-down UTC time, as miniSEED headers store it (year + day of year).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearDayTime {
    pub year: i32,
    /// Day of year, 1-based.
    pub doy: u16,
    pub hour: u8,
    pub minute: u8,
    /// 0..=60 (60 only inside a leap second).
    pub second: u8,
    pub nanosecond: u32,
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days from 1970-01-01 to the given civil date (month 1..=12, day 1..=31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

impl YearDayTime {
    /// Nanoseconds since the epoch. A leap second (`second == 60`) maps onto the first second
    /// of the next minute, as libmseed does.
    pub fn to_nanos(&self) -> Nanos {
        let days = days_from_civil(self.year as i64, 1, 1) + self.doy as i64 - 1;
        let secs = days * SECS_PER_DAY
            + self.hour as i64 * 3600
            + self.minute as i64 * 60
            + self.second as i64;
        secs * NS_PER_SEC + self.nanosecond as i64
    }

    pub fn from_nanos(t: Nanos) -> Self {
        let secs = t.div_euclid(NS_PER_SEC);
        let nanosecond = t.rem_euclid(NS_PER_SEC) as u32;
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY);
        let (year, _, _) = civil_from_days(days);
        let doy = (days - days_from_civil(year, 1, 1) + 1) as u16;
        YearDayTime {
            year: year as i32,
            doy,
            hour: (sod / 3600) as u8,
            minute: (sod % 3600 / 60) as u8,
            second: (sod % 60) as u8,
            nanosecond,
        }
    }

    /// Whether the fields are a possible time (used to tell header bytes from noise).
    pub fn is_plausible(&self) -> bool {
        let days_in_year = if is_leap(self.year as i64) { 366 } else { 365 };
        (1900..=2100).contains(&self.year)
            && (1..=days_in_year).contains(&self.doy)
            && self.hour <= 23
            && self.minute <= 59
            && self.second <= 60
            && self.nanosecond < NS_PER_SEC as u32
    }
}

/// The wall clock as [`Nanos`] (0 if the clock is before 1970).
pub fn now() -> Nanos {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as Nanos)
}

/// The current UTC time to a few milliseconds, for figures read per message (data lag): the
/// kernel's coarse clock, read without the time-stamp counter, costs a fraction of [`now`].
pub fn now_coarse() -> Nanos {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid pointer to a timespec the call fills.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
            return ts.tv_sec as Nanos * 1_000_000_000 + ts.tv_nsec as Nanos;
        }
    }
    now()
}

/// The time of sample `index` of a stream starting at `start` with `rate` samples per second:
/// `start + index * 1e9 / rate`, rounded to the nearest nanosecond.
///
/// Exact for every rate: a finite `f64` is `mantissa * 2^exponent`, so the quotient is computed
/// in 128-bit integers, with no float rounding however large `index` grows. A zero or invalid
/// rate (text channels) puts every sample at `start`.
pub fn sample_time(start: Nanos, index: i64, rate: f64) -> Nanos {
    if rate <= 0.0 || !rate.is_finite() {
        return start;
    }
    let bits = rate.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = (bits & ((1u64 << 52) - 1)) as i128;
    // rate = mant * 2^exp
    let (mant, exp) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, exp_bits - 1075)
    };
    let mut num = index as i128 * NS_PER_SEC as i128;
    let mut den = mant;
    if exp < 0 {
        // Divide by 2^exp: shift the numerator, or the denominator if that would overflow.
        let shift = (-exp) as u32;
        let room = num.unsigned_abs().leading_zeros().saturating_sub(2);
        if shift <= room {
            num <<= shift;
        } else {
            num <<= room;
            den >>= (shift - room).min(126);
            if den == 0 {
                return start;
            }
        }
    } else {
        den <<= exp.min(60) as u32;
    }
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    let rounded = if 2 * r >= den { q + 1 } else { q };
    start.saturating_add(rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// ISO 8601 UTC text: microseconds always, nanoseconds when the time has them.
pub struct Iso(pub Nanos);

impl fmt::Display for Iso {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(NS_PER_SEC);
        let ns = self.0.rem_euclid(NS_PER_SEC);
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )?;
        if ns % 1000 == 0 {
            write!(f, ".{:06}Z", ns / 1000)
        } else {
            write!(f, ".{ns:09}Z")
        }
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fffffffff][Z]` into nanoseconds.
pub fn parse_iso(s: &str) -> Option<Nanos> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once('T')?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut tp = hms.splitn(3, ':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let sec: i64 = tp.next()?.parse().ok()?;
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ns: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..9 {
        ns *= 10;
    }
    // Out-of-range fields are not a time (and would overflow the arithmetic below).
    if !(-9999..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || !(0..=24).contains(&h)
        || !(0..=59).contains(&mi)
        || !(0..=60).contains(&sec)
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    // Beyond 1677-2262 nanoseconds leave i64: not a time we can hold.
    (days * SECS_PER_DAY + h * 3600 + mi * 60 + sec)
        .checked_mul(NS_PER_SEC)?
        .checked_add(ns)
}

/// Index of the first of `n` samples from `start` at `rate` whose time is at or after `t`.
pub fn first_at_or_after(start: Nanos, rate: f64, t: Nanos, n: usize) -> usize {
    if t <= start || rate <= 0.0 {
        return 0;
    }
    let guess = (((t - start) as f64) * rate / 1e9).ceil().max(0.0) as i64;
    let mut i = guess.min(n as i64);
    while i > 0 && sample_time(start, i - 1, rate) >= t {
        i -= 1;
    }
    while i < n as i64 && sample_time(start, i, rate) < t {
        i += 1;
    }
    i as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 11_016, 20_000, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn absurd_fields_are_not_times() {
        assert_eq!(parse_iso("9999-9-99T9:999999999999:9"), None);
        assert_eq!(parse_iso("2024-13-01T00:00:00"), None);
        assert!(parse_iso("2024-02-29T23:59:60.5Z").is_some());
    }

    #[test]
    fn year_day_round_trip() {
        let t = parse_iso("2012-05-12T00:00:00.123456789Z").unwrap();
        assert_eq!(t, 1_336_780_800_123_456_789);
        let ydt = YearDayTime::from_nanos(t);
        assert_eq!((ydt.year, ydt.doy), (2012, 133));
        assert_eq!(ydt.to_nanos(), t);
        let old = parse_iso("1964-03-27T21:11:24.987654321Z").unwrap();
        assert_eq!(old, -181_882_115_012_345_679);
        assert_eq!(YearDayTime::from_nanos(old).to_nanos(), old);
    }

    #[test]
    fn iso_formatting() {
        assert_eq!(Iso(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            Iso(1_336_780_800_123_456_789).to_string(),
            "2012-05-12T00:00:00.123456789Z"
        );
        assert_eq!(
            Iso(-181_882_115_012_345_679).to_string(),
            "1964-03-27T21:11:24.987654321Z"
        );
    }

    #[test]
    fn sample_times_are_exact() {
        assert_eq!(sample_time(0, 3, 40.0), 75_000_000);
        assert_eq!(sample_time(0, 1, 0.1), 10 * NS_PER_SEC);
        // 1080 Hz: period is not a whole number of ns; index 113 rounds once, no drift.
        assert_eq!(sample_time(0, 113, 1080.0), 104_629_630);
        assert_eq!(sample_time(0, 1_080_000, 1080.0), 1000 * NS_PER_SEC);
        assert_eq!(sample_time(0, -3, 40.0), -75_000_000);
        // A float32 rate from blockette 100: exact to the nanosecond at any index.
        let r = 20.000221252441406f64;
        let want = (622.0 / r * 1e9_f64).round() as i64;
        assert_eq!(sample_time(0, 622, r), want);
        let big = 10_000_000_000i64; // 15 years at 20 Hz
        let exact = (big as f64 * 1e9 / r).round() as i64;
        assert!(
            (sample_time(0, big, r) - exact).abs() <= 64,
            "f64 reference is itself rounded"
        );
    }
}
