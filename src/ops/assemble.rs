//! Assembly of many one-channel streams into time-aligned (channel, time) blocks: a large-N
//! node array, or DAS channels archived as miniSEED (one station per fibre channel, as
//! GEOFON's `HSF` channels), made into the array blocks that array processing, DAS
//! operators and Zarr take.
//!
//! Blocks are `block` samples long on a grid `origin + k·block/rate`, where `origin` is the
//! first sample seen (snapped to the grid of the block length in whole seconds when it
//! divides one). A sample goes to the grid index nearest its time. A block is emitted once
//! the `channels` expected have all passed its end, or once any channel is `wait` past it
//! (a late or dead channel does not hold the array back); what is missing is NaN. Without
//! `channels`, only the wait applies: channels seen so far are no proof that none is missing. Samples
//! for a block already emitted are dropped and reported ([`Event::Late`]), as are streams
//! whose rate differs from the array's.
//!
//! Row order: by the channel index in the station code when `station_index` is set (GEOFON
//! DAS: station `00066` is fibre channel 66, placed at `66 × spacing`), otherwise by source
//! id. A channel first seen late gets its row from then on (the channel axis grows).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use ndarray::{s, Array2};

use super::{ConfigError, Event, Operator, Output};
use crate::model::{sample_time, ChannelMeta, Chunk, DasMeta, Nanos, SampleRate, SourceId};
use crate::pipeline::component::{OperatorStage, Role, StageType};
use crate::pipeline::memory::{Flow, Need};
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct AssembleParams {
    /// Name of the assembled stream.
    pub stream: String,
    /// Block length, seconds.
    pub block_s: f64,
    /// How far (seconds) the newest channel may run ahead before a block is emitted without
    /// the channels that have not reached its end.
    pub wait_s: f64,
    /// Channels expected: a block goes out as soon as that many have passed its end.
    pub channels: Option<usize>,
    /// Take the fibre channel index from the station code's digits.
    pub station_index: bool,
    /// Channel spacing along the fibre (m): positions `index × spacing + first_m`.
    pub spacing_m: Option<f64>,
    pub first_m: f64,
}

/// A block being filled.
struct Pending {
    index: i64,
    data: Array2<f32>,
}

pub struct Assemble {
    p: AssembleParams,
    rate: Option<f64>,
    origin: Nanos,
    block: usize,
    wait: i64,
    /// Rows in order of their key (channel index, source id).
    rows: BTreeMap<(i64, String), ChannelMeta>,
    /// Row of each source id (rebuilt when a channel is added, looked up per chunk).
    row_of: HashMap<String, usize>,
    /// Time after each row's last sample, by row.
    ends: Vec<Nanos>,
    pending: VecDeque<Pending>,
    /// First block index not yet emitted.
    next_block: i64,
    das: Option<Arc<DasMeta>>,
}

pub fn assemble(p: AssembleParams) -> Result<Assemble, ConfigError> {
    if !(p.block_s > 0.0 && p.block_s.is_finite()) {
        return Err(ConfigError::invalid(
            "block_s",
            "must be a positive number of seconds",
        ));
    }
    if !(p.wait_s >= 0.0 && p.wait_s.is_finite()) {
        return Err(ConfigError::invalid(
            "wait_s",
            "must be zero or more seconds",
        ));
    }
    if p.spacing_m.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
        return Err(ConfigError::invalid(
            "spacing_m",
            "must be a positive distance",
        ));
    }
    if p.spacing_m.is_some() && !p.station_index {
        return Err(ConfigError::invalid(
            "spacing_m",
            "needs station_index = true",
        ));
    }
    Ok(Assemble {
        p,
        rate: None,
        origin: 0,
        block: 0,
        wait: 0,
        rows: BTreeMap::new(),
        row_of: HashMap::new(),
        ends: Vec::new(),
        pending: VecDeque::new(),
        next_block: 0,
        das: None,
    })
}

/// The digits of a station code as a channel index (`00066` → 66).
fn station_number(sid: &SourceId) -> Option<i64> {
    let seed = sid.to_seed().ok()?;
    let digits: String = seed.station.chars().filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl Assemble {
    fn key(&self, sid: &SourceId) -> (i64, String) {
        let idx = if self.p.station_index {
            station_number(sid).unwrap_or(i64::MAX)
        } else {
            0
        };
        (idx, sid.as_str().to_string())
    }

    fn start(&mut self, c: &Chunk) {
        let rate = c.rate.hz();
        self.block = ((self.p.block_s * rate).round() as usize).max(1);
        self.wait = (self.p.wait_s * 1e9) as i64;
        // Blocks of whole seconds start on whole seconds (on the stream's sample grid).
        let period = (self.block as f64 * 1e9 / rate).round() as i64;
        self.origin = if period % 1_000_000_000 == 0 {
            let k = c.start.div_euclid(period);
            let snapped = k * period;
            // Keep the stream's sub-sample phase: shift by whole samples only.
            let back = ((c.start - snapped) as f64 * rate / 1e9).floor() as i64;
            sample_time(c.start, -back, rate)
        } else {
            c.start
        };
        self.rate = Some(rate);
        self.das = c.das.clone();
    }

    fn block_start(&self, k: i64) -> Nanos {
        sample_time(self.origin, k * self.block as i64, self.rate.unwrap_or(1.0))
    }

    /// The row of a channel, adding it (in key order) when it is new.
    fn row(&mut self, meta: &ChannelMeta) -> usize {
        if let Some(&r) = self.row_of.get(meta.source_id.as_str()) {
            return r;
        }
        let key = self.key(&meta.source_id);
        let mut meta = meta.clone();
        if let (Some(sp), true) = (self.p.spacing_m, key.0 != i64::MAX) {
            meta.distance_m = Some(self.p.first_m + key.0 as f64 * sp);
        }
        let at = self.rows.range(..key.clone()).count();
        self.rows.insert(key, meta);
        self.ends.insert(at, Nanos::MIN);
        self.row_of = self
            .rows
            .keys()
            .enumerate()
            .map(|(i, k)| (k.1.clone(), i))
            .collect();
        // Grow every pending block by a NaN row at the new position.
        for b in &mut self.pending {
            let (n, len) = b.data.dim();
            let mut grown = Array2::from_elem((n + 1, len), f32::NAN);
            for (i, r) in b.data.rows().into_iter().enumerate() {
                grown.row_mut(if i < at { i } else { i + 1 }).assign(&r);
            }
            b.data = grown;
        }
        at
    }

    fn pending_block(&mut self, k: i64) -> Option<&mut Pending> {
        if k < self.next_block {
            return None;
        }
        let n = self.rows.len();
        while self.pending.back().is_none_or(|b| b.index < k) {
            let index = self.pending.back().map_or(self.next_block, |b| b.index + 1);
            self.pending.push_back(Pending {
                index,
                data: Array2::from_elem((n, self.block), f32::NAN),
            });
        }
        let first = self.pending.front()?.index;
        self.pending.get_mut((k - first) as usize)
    }

    /// Emits the blocks every channel has passed, or that the newest channel is `wait` past.
    fn emit_ready(&mut self, out: &mut Output, all: bool) {
        let newest = self.ends.iter().copied().max().unwrap_or(Nanos::MIN);
        let slowest = self.ends.iter().copied().min().unwrap_or(Nanos::MIN);
        let complete = self.p.channels.is_some_and(|n| self.rows.len() >= n);
        while let Some(b) = self.pending.front() {
            let end = self.block_start(b.index + 1);
            if !(all || complete && slowest >= end || newest >= end.saturating_add(self.wait)) {
                break;
            }
            let b = self.pending.pop_front().expect("front exists");
            self.next_block = b.index + 1;
            out.chunks.push(Chunk {
                stream: self.p.stream.clone(),
                start: self.block_start(b.index),
                rate: SampleRate(self.rate.unwrap_or(1.0)),
                channels: self.rows.values().cloned().collect(),
                data: b.data,
                das: self.das.clone(),
                units: None,
            });
        }
    }
}

impl Operator for Assemble {
    fn process(&mut self, c: Chunk, out: &mut Output) {
        if c.n_samples() == 0 {
            return;
        }
        if self.rate.is_none() {
            self.start(&c);
        }
        let rate = self.rate.expect("set above");
        if !SampleRate(rate).tolerably_equal(c.rate) {
            out.events.push(Event::Restart {
                stream: c.stream.clone(),
                reason: format!(
                    "rate {} Hz differs from the array's {rate} Hz; block dropped",
                    c.rate.hz()
                ),
            });
            return;
        }
        let per = self.block as i64;
        // Grid index of the chunk's first sample (nearest), then whole samples on.
        let first = ((c.start - self.origin) as f64 * rate / 1e9).round() as i64;
        let n = c.n_samples() as i64;
        for (ch, meta) in c.channels.iter().enumerate() {
            let row = self.row(meta);
            let mut late = 0u64;
            let mut j = 0i64;
            while j < n {
                let g = first + j;
                let k = g.div_euclid(per);
                let off = g.rem_euclid(per);
                let take = (per - off).min(n - j);
                match self.pending_block(k) {
                    Some(b) => b
                        .data
                        .slice_mut(s![row, off as usize..(off + take) as usize])
                        .assign(&c.data.slice(s![ch, j as usize..(j + take) as usize])),
                    None => late += take as u64,
                }
                j += take;
            }
            if late > 0 {
                out.events.push(Event::Late {
                    stream: meta.source_id.as_str().to_string(),
                    dropped: late,
                });
            }
            self.ends[row] = self.ends[row].max(c.end_exclusive());
        }
        self.emit_ready(out, false);
    }

    fn flush(&mut self, out: &mut Output) {
        self.emit_ready(out, true);
    }
}

// The `assemble` stage: its keys and how it runs.

/// `assemble`: one-channel streams (a large-N array, DAS channels stored as miniSEED) into
/// time-aligned (channel, time) blocks, NaN where a channel has no data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssembleConfig {
    /// Name of the assembled stream (Kafka key, Zarr group); default: the stage name.
    #[serde(default)]
    pub stream: Option<String>,
    /// Block length, seconds.
    #[serde(default = "one_second")]
    pub block_s: f64,
    /// Seconds the newest channel may run ahead before a block goes out without the others.
    #[serde(default = "ten_seconds")]
    pub wait_s: f64,
    /// Channels expected: a block goes out as soon as that many have passed its end.
    #[serde(default)]
    pub channels: Option<usize>,
    /// Order rows by the channel index in the station code (DAS channels as miniSEED).
    #[serde(default)]
    pub station_index: bool,
    /// Fibre channel spacing, metres: positions `first_m + index × spacing_m`.
    #[serde(default)]
    pub spacing_m: Option<f64>,
    #[serde(default)]
    pub first_m: f64,
}

fn one_second() -> f64 {
    1.0
}

fn ten_seconds() -> f64 {
    10.0
}

impl OperatorStage for AssembleConfig {
    fn operator(&self, stage: &str) -> Result<Box<dyn Operator>, ConfigError> {
        Ok(Box::new(assemble(AssembleParams {
            stream: self.stream.clone().unwrap_or_else(|| stage.to_string()),
            block_s: self.block_s,
            wait_s: self.wait_s,
            channels: self.channels,
            station_index: self.station_index,
            spacing_m: self.spacing_m,
            first_m: self.first_m,
        })?))
    }

    /// Blocks wait until every channel has passed them, or until the newest channel is
    /// `wait_s` ahead: at most that many blocks (and the one being filled) are pending.
    fn state(&self, input: &Flow) -> Need {
        let channels = self.channels.map_or(input.all_channels(), |c| c as u64);
        let out = Flow {
            streams: 1,
            channels,
            ..*input
        }
        .with_blocks(input.rate_hz, self.block_s);
        let blocks = (self.wait_s / self.block_s).ceil() as u64 + 2;
        Need::new(
            blocks * out.message_bytes,
            format!(
                "{blocks} pending blocks of {channels} ch x {} s",
                self.block_s
            ),
            out,
        )
    }
}

impl StageType for AssembleConfig {
    const NAME: &'static str = "assemble";
    const ROLE: Role = Role::Operator;
    const ABOUT: &'static str =
        "one-channel streams (DAS channels as miniSEED, large-N arrays) into time-aligned (channel, time) blocks";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeedId;

    fn one(sta: &str, start: Nanos, rate: f64, v: Vec<f32>) -> Chunk {
        let n = v.len();
        Chunk {
            stream: sta.into(),
            start,
            rate: SampleRate(rate),
            channels: vec![ChannelMeta {
                source_id: SeedId::new("9N", sta, "", "HSF").to_source_id(),
                distance_m: None,
            }],
            data: Array2::from_shape_vec((1, n), v).unwrap(),
            das: None,
            units: None,
        }
    }

    fn params() -> AssembleParams {
        AssembleParams {
            stream: "9N.ARRAY".into(),
            block_s: 1.0,
            wait_s: 0.5,
            channels: Some(2),
            station_index: true,
            spacing_m: Some(2.0),
            first_m: 0.0,
        }
    }

    #[test]
    fn channels_in_station_order_with_nan_gaps() {
        let mut a = assemble(AssembleParams {
            wait_s: 5.0,
            ..params()
        })
        .unwrap();
        let mut out = Output::default();
        let s = 1_000_000_000i64;
        // Channel 67 arrives first, 66 second; 66 misses samples 3..5 of the first second.
        a.process(
            one("00067", 10 * s, 10.0, (0..20).map(|i| i as f32).collect()),
            &mut out,
        );
        a.process(
            one(
                "00066",
                10 * s,
                10.0,
                (0..3).map(|i| 100.0 + i as f32).collect(),
            ),
            &mut out,
        );
        a.process(
            one(
                "00066",
                10 * s + 500_000_000,
                10.0,
                (5..20).map(|i| 100.0 + i as f32).collect(),
            ),
            &mut out,
        );
        a.flush(&mut out);
        assert_eq!(out.chunks.len(), 2);
        let b = &out.chunks[0];
        assert_eq!(b.start, 10 * s);
        let ids: Vec<_> = b
            .channels
            .iter()
            .map(|c| c.source_id.as_str().to_string())
            .collect();
        assert_eq!(ids, ["FDSN:9N_00066__H_S_F", "FDSN:9N_00067__H_S_F"]);
        assert_eq!(b.channels[0].distance_m, Some(132.0));
        assert_eq!(b.data[[0, 2]], 102.0);
        assert!(b.data[[0, 3]].is_nan() && b.data[[0, 4]].is_nan());
        assert_eq!(b.data[[0, 5]], 105.0);
        assert_eq!(b.data[[1, 9]], 9.0);
        assert_eq!(out.chunks[1].start, 11 * s);
        assert_eq!(out.chunks[1].data[[0, 9]], 119.0);
    }

    #[test]
    fn a_dead_channel_does_not_hold_the_array_back_and_late_data_is_reported() {
        let mut a = assemble(params()).unwrap();
        let mut out = Output::default();
        let s = 1_000_000_000i64;
        a.process(one("00001", 0, 10.0, vec![1.0; 5]), &mut out);
        a.process(one("00002", 0, 10.0, vec![2.0; 30]), &mut out);
        // 00002 is 2 s ahead: the first block (and the second) go out without 00001's tail.
        assert_eq!(
            out.chunks.len(),
            2,
            "{:?}",
            out.chunks.iter().map(|c| c.start).collect::<Vec<_>>()
        );
        assert!(out.chunks[0].data[[0, 7]].is_nan());
        a.process(one("00001", s / 2, 10.0, vec![1.0; 5]), &mut out);
        assert!(
            out.events
                .iter()
                .any(|e| matches!(e, Event::Late { dropped: 5, .. })),
            "{:?}",
            out.events
        );
    }

    #[test]
    fn a_new_channel_adds_a_row_to_pending_blocks() {
        let mut a = assemble(params()).unwrap();
        let mut out = Output::default();
        a.process(one("00005", 0, 10.0, vec![5.0; 4]), &mut out);
        a.process(one("00003", 0, 10.0, vec![3.0; 10]), &mut out);
        a.process(one("00005", 400_000_000, 10.0, vec![5.0; 6]), &mut out);
        assert_eq!(out.chunks.len(), 1);
        let b = &out.chunks[0];
        assert_eq!(b.n_channels(), 2);
        assert_eq!(b.data.row(0).to_vec(), vec![3.0; 10]);
        assert_eq!(b.data.row(1).to_vec(), vec![5.0; 10]);
    }
}
