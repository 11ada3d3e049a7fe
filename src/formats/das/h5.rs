//! Reading HDF5 metadata the way vendors actually store it: the same field may be an
//! attribute or a dataset, a scalar or a one-element array, a number stored as text, a
//! fixed-length or variable-length string, ASCII or UTF-8. These helpers return `None` for
//! anything absent or unreadable, so a reader asks for what it needs and names what is missing.

use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Container, Group, Location};

/// First value of a numeric container (scalar or array), converted by the HDF5 library.
pub fn num(c: &Container) -> Option<f64> {
    match c.dtype().ok()?.to_descriptor().ok()? {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Float(_) => {
            c.read_raw::<f64>().ok()?.first().copied()
        }
        TypeDescriptor::Boolean => c.read_raw::<bool>().ok()?.first().map(|b| *b as u8 as f64),
        TypeDescriptor::Enum(_) => c.read_raw::<i64>().ok()?.first().map(|v| *v as f64),
        _ => text(c)?.trim().parse().ok(),
    }
}

/// Every value of a numeric container.
pub fn nums(c: &Container) -> Option<Vec<f64>> {
    c.read_raw::<f64>().ok()
}

/// Text of a string container (the first element of a string array).
pub fn text(c: &Container) -> Option<String> {
    texts(c)?.into_iter().next()
}

/// Every string of a string container, trailing NULs and padding removed.
pub fn texts(c: &Container) -> Option<Vec<String>> {
    let clean = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    let out: Vec<String> = match c.dtype().ok()?.to_descriptor().ok()? {
        TypeDescriptor::FixedAscii(n) if n <= 4096 => c
            .read_raw::<FixedAscii<4096>>()
            .ok()?
            .iter()
            .map(|s| clean(s.as_str()))
            .collect(),
        TypeDescriptor::FixedUnicode(n) if n <= 4096 => c
            .read_raw::<FixedUnicode<4096>>()
            .ok()?
            .iter()
            .map(|s| clean(s.as_str()))
            .collect(),
        TypeDescriptor::VarLenAscii => c
            .read_raw::<VarLenAscii>()
            .ok()?
            .iter()
            .map(|s| clean(s.as_str()))
            .collect(),
        TypeDescriptor::VarLenUnicode => c
            .read_raw::<VarLenUnicode>()
            .ok()?
            .iter()
            .map(|s| clean(s.as_str()))
            .collect(),
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Float(_) => c
            .read_raw::<f64>()
            .ok()?
            .iter()
            .map(|v| v.to_string())
            .collect(),
        _ => return None,
    };
    Some(out)
}

/// A numeric attribute of an object.
pub fn attr_num(loc: &Location, name: &str) -> Option<f64> {
    let a = loc.attr(name).ok()?;
    num(&a)
}

/// A text attribute of an object.
pub fn attr_text(loc: &Location, name: &str) -> Option<String> {
    let a = loc.attr(name).ok()?;
    text(&a)
}

/// A version attribute as Python's `str()` writes it (DASCore's convention): integers as
/// `5`, floats as `2.0`, text as it is.
pub fn attr_version(loc: &Location, name: &str) -> Option<String> {
    let a = loc.attr(name).ok()?;
    match a.dtype().ok()?.to_descriptor().ok()? {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            a.read_raw::<i64>().ok()?.first().map(|v| v.to_string())
        }
        TypeDescriptor::Float(_) => a.read_raw::<f64>().ok()?.first().map(|v| format!("{v:?}")),
        _ => text(&a),
    }
}

/// Whether an object has every attribute named.
pub fn has_attrs(loc: &Location, names: &[&str]) -> bool {
    match loc.attr_names() {
        Ok(have) => names.iter().all(|n| have.iter().any(|h| h == n)),
        Err(_) => false,
    }
}

/// A numeric dataset at `path` under `g`.
pub fn ds_num(g: &Group, path: &str) -> Option<f64> {
    let d = g.dataset(path).ok()?;
    num(&d)
}

/// A text dataset at `path` under `g`.
pub fn ds_text(g: &Group, path: &str) -> Option<String> {
    let d = g.dataset(path).ok()?;
    text(&d)
}

/// Whether `path` exists under `g` (without HDF5 printing an error stack when it does not).
pub fn exists(g: &Group, path: &str) -> bool {
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        if !g.link_exists(&at) {
            return false;
        }
    }
    true
}

/// Float seconds since the epoch as integer nanoseconds, read as the shortest decimal that
/// round-trips the float (what the writer most likely meant: `1698416617.02` is .020 s, not
/// the binary value's .019999981 s). Never multiplies in floating point, whose spacing at
/// 1.6e18 ns is 256 ns.
pub fn secs_to_ns(t: f64) -> Option<i64> {
    if !t.is_finite() {
        return None;
    }
    let s = format!("{t}");
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.as_str()),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i64 = int.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    let round_up = frac.chars().nth(9).is_some_and(|c| c >= '5');
    while digits.len() < 9 {
        digits.push('0');
    }
    let mut ns: i64 = digits.parse().ok()?;
    ns += round_up as i64;
    let v = whole.checked_mul(1_000_000_000)?.checked_add(ns)?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_to_nanoseconds() {
        assert_eq!(secs_to_ns(1698416617.02), Some(1_698_416_617_020_000_000));
        assert_eq!(
            secs_to_ns(1661296194.3738363),
            Some(1_661_296_194_373_836_300)
        );
        assert_eq!(secs_to_ns(0.5), Some(500_000_000));
        assert_eq!(secs_to_ns(-1.25), Some(-1_250_000_000));
        assert_eq!(secs_to_ns(1e-10), Some(0));
        assert_eq!(secs_to_ns(f64::NAN), None);
    }
}
