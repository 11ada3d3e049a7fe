//! Filling records across blocks: samples of a stream wait until they fill a whole record,
//! so that a block of a few samples does not become a short record of its own (what
//! SeedLink clients and archives expect: full 512-byte records, as dataloggers write them).
//!
//! Each push encodes what is waiting; every record but the last is full and is given out,
//! the last one's samples wait for more. A gap, a rate change or a change of sample type
//! ends the waiting record first (short, as it must be). [`Packer::flush`] gives out what
//! is waiting (end of the run), [`Packer::flush_stream`] what waits of one stream (a sink
//! serving each block at once); [`Packer::pending`] and [`Packer::restore`] carry it across
//! a restart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::Parsed;
use super::{encode, EncodeError, EncodeOptions, Samples};
use crate::model::{sample_time, Nanos, SampleRate, SourceId};

/// Samples of one stream not yet in a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub start: Nanos,
    pub rate: f64,
    pub ints: Option<Vec<i32>>,
    pub floats: Option<Vec<f32>>,
    /// v2 sequence number of the next record.
    pub next_sequence: u32,
}

impl Pending {
    fn len(&self) -> usize {
        self.ints.as_ref().map_or(0, Vec::len) + self.floats.as_ref().map_or(0, Vec::len)
    }

    fn samples(&self) -> Samples {
        match (&self.ints, &self.floats) {
            (Some(i), _) => Samples::Int(i.clone()),
            (_, Some(f)) => Samples::Float32(f.clone()),
            _ => Samples::Int(Vec::new()),
        }
    }

    fn end(&self) -> Nanos {
        sample_time(self.start, self.len() as i64, self.rate)
    }

    fn drop_front(&mut self, n: usize) {
        if let Some(v) = self.ints.as_mut() {
            v.drain(..n);
        }
        if let Some(v) = self.floats.as_mut() {
            v.drain(..n);
        }
        self.start = sample_time(self.start, n as i64, self.rate);
    }
}

pub struct Packer {
    opts: EncodeOptions,
    streams: BTreeMap<String, Pending>,
}

/// A record given out, with its stream.
pub type Packed = (SourceId, Vec<u8>);

impl Packer {
    /// `opts.encoding` is the integer encoding (Steim1/2, INT32); float samples are written
    /// as FLOAT32.
    pub fn new(opts: EncodeOptions) -> Packer {
        Packer {
            opts,
            streams: BTreeMap::new(),
        }
    }

    /// Adds samples of `sid` starting at `start`; returns the records now full.
    pub fn push(
        &mut self,
        sid: &SourceId,
        start: Nanos,
        rate: SampleRate,
        samples: Samples,
    ) -> Result<Vec<Packed>, EncodeError> {
        let mut out = Vec::new();
        let key = sid.as_str().to_string();
        let half = rate.period_ns().map_or(0.0, |p| p / 2.0) as Nanos;
        let fits = |p: &Pending| {
            p.rate == rate.hz()
                && (p.end() - start).abs() <= half
                && matches!(
                    (&samples, p.ints.is_some()),
                    (Samples::Int(_), true) | (Samples::Float32(_), false)
                )
        };
        if self.streams.get(&key).is_some_and(|p| !fits(p)) {
            let p = self.streams.remove(&key).expect("checked");
            out.extend(self.records(sid, &p, true)?.0);
            self.streams.insert(
                key.clone(),
                Pending {
                    next_sequence: p.next_sequence,
                    ..empty(start, rate)
                },
            );
        }
        let p = self
            .streams
            .entry(key.clone())
            .or_insert_with(|| empty(start, rate));
        if p.len() == 0 {
            p.start = start;
            p.rate = rate.hz();
        }
        match samples {
            Samples::Int(v) => {
                p.floats = None;
                p.ints.get_or_insert_with(Vec::new).extend(v);
            }
            Samples::Float32(v) => {
                p.ints = None;
                p.floats.get_or_insert_with(Vec::new).extend(v);
            }
            Samples::Float64(v) => {
                p.ints = None;
                p.floats
                    .get_or_insert_with(Vec::new)
                    .extend(v.iter().map(|&x| x as f32));
            }
            Samples::Text(_) => return Err(EncodeError::Unwritable(super::Encoding::Ascii)),
        }
        let p = self.streams.get(&key).expect("inserted").clone();
        let (records, used) = self.records(sid, &p, false)?;
        let st = self.streams.get_mut(&key).expect("inserted");
        st.drop_front(used);
        st.next_sequence = st.next_sequence.wrapping_add(records.len() as u32) % 1_000_000;
        out.extend(records);
        Ok(out)
    }

    /// Encodes `p`; all records (`all`) or all but the last. Returns them and the samples
    /// they hold.
    fn records(
        &self,
        sid: &SourceId,
        p: &Pending,
        all: bool,
    ) -> Result<(Vec<Packed>, usize), EncodeError> {
        if p.len() == 0 {
            return Ok((Vec::new(), 0));
        }
        let mut opts = self.opts.clone();
        opts.first_sequence = p.next_sequence.max(1);
        if p.floats.is_some() {
            opts.encoding = super::Encoding::Float32;
        }
        let mut recs = encode(sid, p.start, SampleRate(p.rate), &p.samples(), &opts)?;
        if !all {
            recs.pop();
        }
        let used = recs.iter().map(|r| sample_count(r)).sum();
        Ok((recs.into_iter().map(|r| (sid.clone(), r)).collect(), used))
    }

    /// Everything waiting, as (short) records.
    pub fn flush(&mut self) -> Result<Vec<Packed>, EncodeError> {
        let mut out = Vec::new();
        for (k, p) in std::mem::take(&mut self.streams) {
            let sid = SourceId::from_raw(k);
            out.extend(self.records(&sid, &p, true)?.0);
        }
        Ok(out)
    }

    /// What waits of one stream, as (short) records; its record numbering goes on.
    pub fn flush_stream(&mut self, sid: &SourceId) -> Result<Vec<Packed>, EncodeError> {
        let Some(p) = self
            .streams
            .get(sid.as_str())
            .filter(|p| p.len() > 0)
            .cloned()
        else {
            return Ok(Vec::new());
        };
        let (records, _) = self.records(sid, &p, true)?;
        let st = self.streams.get_mut(sid.as_str()).expect("seen above");
        st.drop_front(p.len());
        st.next_sequence = st.next_sequence.wrapping_add(records.len() as u32) % 1_000_000;
        Ok(records)
    }

    /// What waits, to be saved with the sink's state.
    pub fn pending(&self) -> &BTreeMap<String, Pending> {
        &self.streams
    }

    pub fn restore(&mut self, pending: BTreeMap<String, Pending>) {
        self.streams = pending;
    }
}

fn empty(start: Nanos, rate: SampleRate) -> Pending {
    Pending {
        start,
        rate: rate.hz(),
        ints: None,
        floats: None,
        next_sequence: 1,
    }
}

fn sample_count(r: &[u8]) -> usize {
    match super::parse_record(r, true) {
        Ok(Parsed::Record(h)) => h.sample_count,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::mseed::{read_buffer, Encoding};

    #[test]
    fn a_stream_flushed_at_once_gives_each_sample_its_record_numbered_on() {
        // RSAM-like: one float sample every 10 minutes.
        let sid = SourceId::from_codes("FR", "CIEL", "00", "HHZ");
        let mut p = Packer::new(EncodeOptions {
            record_length: 512,
            ..Default::default()
        });
        let t0 = 1_735_689_600_000_000_000;
        let rate = SampleRate(1.0 / 600.0);
        let mut recs = Vec::new();
        for k in 0..3 {
            let start = t0 + k * 600_000_000_000;
            let got = p
                .push(&sid, start, rate, Samples::Float32(vec![k as f32 + 0.5]))
                .unwrap();
            assert!(got.is_empty(), "one sample does not fill a record");
            recs.extend(p.flush_stream(&sid).unwrap());
        }
        assert_eq!(recs.len(), 3);
        assert!(p.flush_stream(&sid).unwrap().is_empty());
        let bytes: Vec<u8> = recs.iter().flat_map(|(_, r)| r.clone()).collect();
        let a = read_buffer(&bytes);
        assert_eq!(a.segments.len(), 1, "three records, one contiguous trace");
        assert_eq!(a.segments[0].samples, Samples::Float32(vec![0.5, 1.5, 2.5]));
        let seq: Vec<&[u8]> = recs.iter().map(|(_, r)| &r[0..6]).collect();
        assert_eq!(seq, [b"000001", b"000002", b"000003"]);
    }

    #[test]
    fn blocks_of_any_size_fill_whole_records_and_lose_nothing() {
        let sid = SourceId::from_codes("XX", "STA", "00", "HHZ");
        let opts = EncodeOptions {
            encoding: Encoding::Steim2,
            record_length: 512,
            ..Default::default()
        };
        let mut p = Packer::new(opts);
        let all: Vec<i32> = (0..20_000)
            .map(|i| ((i as f64 * 0.01).sin() * 3000.0) as i32 + i % 7)
            .collect();
        let t0 = 1_700_000_000_000_000_000;
        let mut recs = Vec::new();
        let mut at = 0;
        for n in [3usize, 17, 100, 1, 999, 5000].iter().cycle() {
            if at >= all.len() {
                break;
            }
            let n = (*n).min(all.len() - at);
            let start = sample_time(t0, at as i64, 100.0);
            recs.extend(
                p.push(
                    &sid,
                    start,
                    SampleRate(100.0),
                    Samples::Int(all[at..at + n].to_vec()),
                )
                .unwrap(),
            );
            at += n;
        }
        let full = recs.len();
        recs.extend(p.flush().unwrap());
        assert!(recs.len() == full + 1 && recs.iter().all(|r| r.1.len() == 512));
        let bytes: Vec<u8> = recs.iter().flat_map(|r| r.1.clone()).collect();
        let a = read_buffer(&bytes);
        assert_eq!(a.segments.len(), 1, "one contiguous segment");
        assert_eq!(a.segments[0].samples, Samples::Int(all));
        // Full records hold far more than the small blocks did.
        assert!(full < 20_000 / 300);
    }
}
