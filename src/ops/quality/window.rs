//! One row per stream per window: records of each stream cut on UTC-aligned windows, each
//! window's coverage, samples and header flags gathered, and the row made when the window
//! closes.
//!
//! A window `[t0, t1)` takes the samples whose times fall in it, the header flags of records
//! that overlap it, and, for its coverage, every record that ends after `t0` and starts no
//! later than `t1` (ObsPy's rule: a trace starting exactly at the window's end still ends a gap
//! in it). A record longer than a window feeds every window it spans.
//!
//! A stream's windows close when a record starting at or after their end arrives (the stream
//! has moved on: a record straddling the boundary feeds both windows, and records repeated or
//! overlapping across it still count in the earlier one), when the input ends, or when the
//! stream has sent nothing for a while (`grace`, or twice its last record's span if longer: a
//! 1 Hz record spans minutes) and time has gone past the window's end by as much: a station
//! that went silent still gets its row, saying how much of the window came. Windows of a
//! silent stream pass the same way, as rows at 0 % availability, and those of a silence seen
//! only when data resume are reported then. "Time" is the data's: the latest sample any
//! stream has delivered, or the wall clock for a stream that was live (its records came less
//! than a window after they were recorded), so a replay of old recordings reports a station
//! that stops before the others, not every window from then until today. The part of a record falling in a window
//! already closed is late: it is counted and left out (the row was already sent).

use std::collections::{BTreeMap, HashMap};

use super::coverage::{Coverage, Traces};
use super::flags::{FlagCounts, RecordFlags};
use super::spikes::Spikes;
use super::timing::{Timing, TimingSummary};
use super::values::{Summary, ValueCounts};
use crate::formats::mseed::{Record, SampleType, Samples};
use crate::model::{first_at_or_after, sample_time, Nanos, SourceId};

/// Empty windows reported for one silence at most; a longer one is summarised in one event.
pub const MAX_EMPTY_WINDOWS: u64 = 10_080;

/// One finished window of one stream.
#[derive(Debug, Clone)]
pub struct Row {
    pub stream: String,
    pub sid: SourceId,
    pub start: Nanos,
    pub end: Nanos,
    /// The rate of the window's records (the last one's, if they differ).
    pub rate: Option<f64>,
    pub records: u64,
    pub samples: u64,
    pub coverage: Coverage,
    pub summary: Option<Summary>,
    /// MUSTANG's `num_spikes` (null where it has no value).
    pub num_spikes: Option<u64>,
    pub flags: FlagCounts,
    pub timing: TimingSummary,
    /// Wall-clock seconds from the last record's arrival to the row (scqc's latency).
    pub latency_s: Option<f64>,
    /// Wall-clock seconds from the end of the last sample to the row (scqc's delay).
    pub delay_s: Option<f64>,
    /// The longest wait between arrivals during the window, its end included.
    pub max_latency_s: Option<f64>,
    /// The largest delay of a record of the window when it arrived.
    pub max_delay_s: Option<f64>,
    /// Wall-clock time the row was made.
    pub produced: Nanos,
}

/// What a record or a close produced besides rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Notes {
    /// Records with a part in windows already closed (and the samples of those parts).
    pub late_records: u64,
    pub late_samples: u64,
    /// Text records (logs): no samples, not counted.
    pub text_records: u64,
    /// Windows of silence not reported as rows (beyond [`MAX_EMPTY_WINDOWS`]).
    pub empty_windows_skipped: u64,
}

struct Window {
    t0: Nanos,
    t1: Nanos,
    traces: Traces,
    values: ValueCounts,
    spikes: Spikes,
    flags: FlagCounts,
    timing: Timing,
    records: u64,
    samples: u64,
    rate: Option<f64>,
    max_latency: Option<Nanos>,
    max_delay: Option<Nanos>,
}

impl Window {
    fn new(t0: Nanos, t1: Nanos, values: ValueCounts) -> Window {
        Window {
            t0,
            t1,
            traces: Traces::default(),
            values,
            spikes: Spikes::default(),
            flags: FlagCounts::default(),
            timing: Timing::default(),
            records: 0,
            samples: 0,
            rate: None,
            max_latency: None,
            max_delay: None,
        }
    }
}

struct StreamState {
    key: String,
    sid: SourceId,
    /// Windows taking records, by start: the latest one and those a record reached back to.
    open: BTreeMap<Nanos, Window>,
    /// End of the last window closed: record parts before it are late.
    closed_until: Option<Nanos>,
    last_arrival: Option<Nanos>,
    last_end: Option<Nanos>,
    /// Span of the last record: how long the stream may stay silent between records.
    last_span: Nanos,
    /// The last record came less than a window after its end: the wall clock is its time.
    live: bool,
    /// A value table kept from the last closed window, for the next one.
    spare: Option<ValueCounts>,
}

/// The quality of every stream, window by window.
pub struct Quality {
    window: Nanos,
    grace: Nanos,
    streams: HashMap<String, StreamState>,
    samples: Samples,
    /// The end of the latest sample of any stream.
    data_clock: Option<Nanos>,
    /// Count spikes (MUSTANG's `num_spikes`): the costliest metric, so it can be left out.
    spikes: bool,
}

impl Quality {
    /// `window` must divide a day (checked by the stage's configuration).
    pub fn new(window: Nanos, grace: Nanos) -> Quality {
        Quality {
            window,
            grace,
            streams: HashMap::new(),
            samples: Samples::Int(Vec::new()),
            data_clock: None,
            spikes: true,
        }
    }

    /// Leaves `num_spikes` out (null) when `on` is false.
    pub fn with_spikes(mut self, on: bool) -> Quality {
        self.spikes = on;
        self
    }

    /// Takes one record of `stream` that arrived at `now`; appends rows of windows it closed.
    pub fn record(
        &mut self,
        stream: &str,
        rec: &Record<'_>,
        now: Nanos,
        rows: &mut Vec<Row>,
        notes: &mut Notes,
    ) -> Result<(), String> {
        let h = &rec.header;
        let t = h
            .encoding
            .sample_type()
            .ok_or_else(|| format!("encoding {} cannot be decoded", h.encoding.code()))?;
        if t == SampleType::Text {
            notes.text_records += 1;
            return Ok(());
        }
        if self.samples.sample_type() != t {
            self.samples = Samples::empty(t);
        }
        self.samples.truncate(0);
        rec.decode_into(&mut self.samples)
            .map_err(|e| e.to_string())?;
        let n = self.samples.len();
        let rate = h.rate.hz();
        let s = h.start;
        let e = if rate > 0.0 && rate.is_finite() {
            sample_time(s, n as i64, rate)
        } else {
            s
        };
        let flags = RecordFlags::of(h);
        let window = self.window;
        let st = self
            .streams
            .entry(stream.to_string())
            .or_insert_with(|| StreamState {
                key: stream.to_string(),
                sid: h.sid.clone(),
                open: BTreeMap::new(),
                closed_until: None,
                last_arrival: None,
                last_end: None,
                last_span: 0,
                live: false,
                spare: None,
            });
        // The stream moved on to `s`: the windows ending by then are done (a record starting
        // right at a window's end still ends that window's last gap), and so are the silent
        // windows before it.
        while let Some(mut w) = take_first(st, |w| w.t1 <= s) {
            if s == w.t1 && rate > 0.0 {
                w.traces.add(s, e, rate);
            }
            close_after_silence(st, w, now, rows, notes);
        }
        let t0 = s.div_euclid(window) * window;
        if st.open.is_empty() {
            if let Some(c) = st.closed_until.filter(|&c| c < t0) {
                empty_windows(st, c, t0, window, now, rows, notes);
            }
        }
        let interval = st.last_arrival.map(|a| now - a);
        st.last_arrival = Some(now);
        st.last_end = Some(st.last_end.map_or(e, |l| l.max(e)));
        st.last_span = e - s;
        st.live = now - e < window;
        self.data_clock = Some(self.data_clock.map_or(e, |c| c.max(e)));
        // Every window the record reaches: from its first sample's to its last's.
        let last = if e > s { e - 1 } else { s };
        let (mut late, mut late_part) = (0, false);
        let mut t = t0;
        while t <= last {
            let (w0, w1) = (t, t + window);
            t = w1;
            let i0 = first_at_or_after(s, rate, w0, n);
            let i1 = first_at_or_after(s, rate, w1, n);
            if st.closed_until.is_some_and(|c| w0 < c) {
                late += i1 - i0;
                late_part = true;
                continue;
            }
            let w = match st.open.entry(w0) {
                std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    let values = st.spare.take().unwrap_or_default();
                    v.insert(Window::new(w0, w1, values))
                }
            };
            if rate > 0.0 {
                w.traces.add(s, e, rate);
            }
            w.flags.add(&flags);
            w.timing.add(s.max(w0), e.min(w1), &flags);
            w.records += 1;
            w.rate = Some(rate);
            if i1 > i0 {
                w.samples += (i1 - i0) as u64;
                let spikes = self.spikes;
                match &self.samples {
                    Samples::Int(v) => {
                        w.values.push_i32(&v[i0..i1]);
                        if spikes {
                            w.spikes.push_i32(&v[i0..i1]);
                        }
                    }
                    Samples::Float32(v) => {
                        w.values.push_f32(&v[i0..i1]);
                        if spikes {
                            w.spikes.push_f32(&v[i0..i1]);
                        }
                    }
                    Samples::Float64(v) => {
                        w.values.push_f64(&v[i0..i1]);
                        if spikes {
                            w.spikes.push_f64(&v[i0..i1]);
                        }
                    }
                    Samples::Text(_) => {}
                }
            }
            if let Some(i) = interval {
                w.max_latency = Some(w.max_latency.map_or(i, |m| m.max(i)));
            }
            let d = now - e;
            w.max_delay = Some(w.max_delay.map_or(d, |m| m.max(d)));
        }
        notes.late_records += late_part as u64;
        notes.late_samples += late as u64;
        Ok(())
    }

    /// Closes the windows of streams that went silent: nothing came for the grace time and
    /// time (the data's, or the wall clock for a live stream) is past the window's end by as
    /// much. A stream that stays silent gets a row at 0 %
    /// for each window that passes.
    pub fn expire(&mut self, now: Nanos, rows: &mut Vec<Row>, notes: &mut Notes) {
        let (grace, window) = (self.grace, self.window);
        let Some(data) = self.data_clock else {
            return;
        };
        for st in self.streams.values_mut() {
            let wait = grace.max(2 * st.last_span);
            let silent = st.last_arrival.is_some_and(|a| now - a > wait);
            if !silent {
                continue;
            }
            let time = if st.live { data.max(now) } else { data };
            while let Some(w) = take_first(st, |w| time - w.t1 > wait) {
                close_after_silence(st, w, now, rows, notes);
            }
            while st.open.is_empty() {
                match st.closed_until {
                    Some(c) if time - (c + window) > wait => {
                        let w = Window::new(c, c + window, ValueCounts::with_capacity(0));
                        rows.push(close(st, w, now));
                    }
                    _ => break,
                }
            }
        }
    }

    /// The input ended: every open window closes.
    pub fn flush(&mut self, now: Nanos, rows: &mut Vec<Row>, notes: &mut Notes) {
        for st in self.streams.values_mut() {
            while let Some(w) = take_first(st, |_| true) {
                close_after_silence(st, w, now, rows, notes);
            }
        }
    }

    /// Each stream's last arrival and the end of its last sample, for live gauges.
    pub fn latest(&self) -> impl Iterator<Item = (&str, Nanos, Nanos)> {
        self.streams
            .values()
            .filter_map(|s| Some((s.key.as_str(), s.last_arrival?, s.last_end?)))
    }

    /// Bytes held in value tables.
    pub fn bytes(&self) -> usize {
        self.streams
            .values()
            .map(|s| {
                s.open.values().map(|w| w.values.bytes()).sum::<usize>()
                    + s.spare.as_ref().map_or(0, |v| v.bytes())
            })
            .sum()
    }
}

/// The stream's earliest open window, removed, if `done` says it is.
fn take_first(st: &mut StreamState, done: impl Fn(&Window) -> bool) -> Option<Window> {
    st.open
        .first_entry()
        .filter(|w| done(w.get()))
        .map(|w| w.remove())
}

/// Closes `w`, after the rows of the silent windows between the last one closed and it.
fn close_after_silence(
    st: &mut StreamState,
    w: Window,
    now: Nanos,
    rows: &mut Vec<Row>,
    notes: &mut Notes,
) {
    if let Some(c) = st.closed_until.filter(|&c| c < w.t0) {
        empty_windows(st, c, w.t0, w.t1 - w.t0, now, rows, notes);
    }
    rows.push(close(st, w, now));
}

/// Rows for the windows from `from` that end before `s` (no data came for them); returns the
/// start of the window `s` falls in.
fn empty_windows(
    st: &mut StreamState,
    from: Nanos,
    s: Nanos,
    window: Nanos,
    now: Nanos,
    rows: &mut Vec<Row>,
    notes: &mut Notes,
) -> Nanos {
    let mut t = from;
    let mut reported = 0;
    while t + window <= s && reported < MAX_EMPTY_WINDOWS {
        let w = Window::new(t, t + window, ValueCounts::with_capacity(0));
        rows.push(close(st, w, now));
        reported += 1;
        t += window;
    }
    if t + window <= s {
        // The rest of a long silence (or a corrupt far-future time), counted in one step and
        // marked as passed, so that it is not reported later either.
        let skipped = (s - t) / window;
        notes.empty_windows_skipped += skipped as u64;
        t += skipped * window;
        st.closed_until = Some(t);
    }
    t
}

/// The row of a finished window; its value table is kept for the stream's next window.
fn close(st: &mut StreamState, mut w: Window, now: Nanos) -> Row {
    let secs = |ns: Nanos| ns as f64 / 1e9;
    let summary = w.values.summary();
    let row = Row {
        stream: st.key.clone(),
        sid: st.sid.clone(),
        start: w.t0,
        end: w.t1,
        rate: w.rate,
        records: w.records,
        samples: w.samples,
        coverage: w.traces.coverage(w.t0, w.t1),
        summary,
        num_spikes: w.spikes.count(),
        flags: w.flags,
        timing: w.timing.summary(),
        latency_s: st.last_arrival.map(|a| secs(now - a)),
        delay_s: st.last_end.map(|e| secs(now - e)),
        max_latency_s: st
            .last_arrival
            .map(|a| secs(w.max_latency.unwrap_or(0).max(now - a))),
        max_delay_s: w.max_delay.map(secs),
        produced: now,
    };
    st.closed_until = Some(w.t1);
    if st
        .spare
        .as_ref()
        .is_none_or(|v| v.bytes() < w.values.bytes())
    {
        w.values.clear();
        st.spare = Some(w.values);
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::mseed::{encode, EncodeOptions, RecordReader};
    use crate::model::SampleRate;

    const S: Nanos = 1_000_000_000;
    /// 2026-12-01T00:00:00Z.
    const DAY: Nanos = 1_796_083_200 * S;

    /// `count` 100 Hz records of 1000 samples (10 s each) from `start`, one encode each.
    fn records(start: Nanos, count: usize) -> Vec<Vec<u8>> {
        let sid = SourceId::from_codes("FR", "TEST", "00", "HHZ");
        let opts = EncodeOptions {
            record_length: 4096,
            ..Default::default()
        };
        let mut out = Vec::new();
        for i in 0..count {
            let part: Vec<i32> = (0..1000).map(|j| (i as i32 * 1000 + j) % 7 - 3).collect();
            let r = encode(
                &sid,
                start + i as Nanos * 10 * S,
                SampleRate(100.0),
                &Samples::Int(part),
                &opts,
            )
            .unwrap();
            assert_eq!(r.len(), 1);
            out.push(r.into_iter().next().unwrap());
        }
        out
    }

    fn feed(q: &mut Quality, recs: &[Vec<u8>], now: Nanos) -> (Vec<Row>, Notes) {
        feed_as(q, "FR.TEST.00.HHZ", recs, now)
    }

    fn feed_as(q: &mut Quality, stream: &str, recs: &[Vec<u8>], now: Nanos) -> (Vec<Row>, Notes) {
        let (mut rows, mut notes) = (Vec::new(), Notes::default());
        for b in recs {
            let rec = RecordReader::new(b).next().unwrap().unwrap();
            q.record(stream, &rec, now, &mut rows, &mut notes).unwrap();
        }
        (rows, notes)
    }

    #[test]
    fn continuous_data_gives_full_windows_closed_by_the_next_record() {
        let mut q = Quality::new(60 * S, 300 * S);
        // 3 minutes of data: minutes 0 and 1 close as minute 1's and 2's records come.
        let (mut rows, notes) = feed(&mut q, &records(DAY, 18), DAY + 200 * S);
        assert_eq!(notes, Notes::default());
        assert_eq!(rows.len(), 2);
        q.flush(DAY + 200 * S, &mut rows, &mut Notes::default());
        assert_eq!(rows.len(), 3);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.start, DAY + i as Nanos * 60 * S);
            assert_eq!(r.end, r.start + 60 * S);
            assert_eq!(r.samples, 6000, "window {i}");
            assert_eq!(r.records, 6);
            assert_eq!(r.coverage.num_gaps, 0);
            assert!((r.coverage.percent_availability - 100.0).abs() < 1e-9);
            let s = r.summary.as_ref().unwrap();
            assert_eq!(s.count, 6000);
            assert_eq!((s.min, s.max), (-3.0, 3.0));
        }
        assert_eq!(rows[0].rate, Some(100.0));
    }

    #[test]
    fn a_missing_record_is_one_gap_of_its_span() {
        let mut q = Quality::new(60 * S, 300 * S);
        let mut recs = records(DAY, 6);
        recs.remove(2);
        let (mut rows, _) = feed(&mut q, &recs, DAY);
        q.flush(DAY, &mut rows, &mut Notes::default());
        assert_eq!(rows.len(), 1);
        let c = &rows[0].coverage;
        assert_eq!(c.num_gaps, 1);
        // The gap runs from the last sample before it (+1/fs) to the first after: 10 s.
        assert!((c.sum_gaps - 10.0).abs() < 1e-6, "{}", c.sum_gaps);
        assert!((c.percent_availability - 100.0 * 50.0 / 60.0).abs() < 1e-6);
        assert_eq!(rows[0].samples, 5000);
    }

    #[test]
    fn a_window_takes_records_until_one_starts_after_it_then_they_are_late() {
        let mut q = Quality::new(60 * S, 300 * S);
        let recs = records(DAY, 13);
        // Minute 1, then a record of minute 0: both windows are open.
        let (rows, _) = feed(&mut q, &recs[6..12], DAY);
        assert!(rows.is_empty());
        let (rows, _) = feed(&mut q, &recs[..1], DAY);
        assert!(rows.is_empty());
        // A record of minute 2 closes both.
        let (rows, notes) = feed(&mut q, &recs[12..], DAY);
        assert_eq!(notes, Notes::default());
        let got: Vec<(Nanos, u64)> = rows.iter().map(|r| (r.start - DAY, r.samples)).collect();
        assert_eq!(got, vec![(0, 1000), (60 * S, 6000)]);
        // Another record of minute 0 is late: counted, not added.
        let (rows, notes) = feed(&mut q, &recs[1..2], DAY);
        assert!(rows.is_empty());
        assert_eq!((notes.late_records, notes.late_samples), (1, 1000));
    }

    #[test]
    fn a_record_across_a_window_edge_feeds_both_and_a_repeat_is_an_overlap() {
        let mut q = Quality::new(60 * S, 300 * S);
        let rec = records(DAY + 55 * S, 1);
        let twice = [rec[0].clone(), rec[0].clone()];
        let (mut rows, notes) = feed(&mut q, &twice, DAY);
        q.flush(DAY, &mut rows, &mut Notes::default());
        assert_eq!(notes, Notes::default());
        assert_eq!(rows.len(), 2);
        for r in &rows {
            // Each window has 500 samples of each copy, one overlap of 5 s, and the repeat
            // adds nothing to the timing count.
            assert_eq!((r.records, r.samples), (2, 1000));
            assert_eq!(r.coverage.num_overlaps, 1);
            assert_eq!(r.timing.records_used, 1);
            assert!((r.coverage.percent_availability - 100.0 * 5.0 / 60.0).abs() < 1e-6);
        }
    }

    #[test]
    fn a_silent_stream_is_closed_by_the_clock_then_reported_empty() {
        let mut q = Quality::new(60 * S, 30 * S);
        let (mut rows, _) = feed(&mut q, &records(DAY, 3), DAY + 30 * S);
        // Within the grace: nothing closes.
        q.expire(DAY + 61 * S, &mut rows, &mut Notes::default());
        assert!(rows.is_empty());
        // Silent for long, the window long over: it closes at half availability.
        q.expire(DAY + 100 * S, &mut rows, &mut Notes::default());
        assert_eq!(rows.len(), 1);
        assert!((rows[0].coverage.percent_availability - 50.0).abs() < 1e-6);
        assert_eq!(rows[0].latency_s, Some(70.0));
        // Two more minutes of silence: two empty rows, at 0 %, no samples.
        q.expire(DAY + 215 * S, &mut rows, &mut Notes::default());
        assert_eq!(rows.len(), 3);
        for r in &rows[1..] {
            assert_eq!(r.samples, 0);
            assert_eq!(r.coverage.percent_availability, 0.0);
            assert!(r.summary.is_none());
        }
        assert_eq!(rows[2].start, DAY + 120 * S);
    }

    #[test]
    fn in_a_replay_a_stream_that_stops_is_closed_by_the_others_data_not_the_clock() {
        let mut q = Quality::new(60 * S, 5 * S);
        let year = 365 * 86_400 * S;
        let now = DAY + year;
        let recs = records(DAY, 30);
        feed_as(&mut q, "B", &recs[..3], now);
        feed_as(&mut q, "A", &recs[..3], now);
        // Wall clock a year on, B silent: its window waits, as A's data have not passed it.
        let mut rows = Vec::new();
        q.expire(now + 60 * S, &mut rows, &mut Notes::default());
        assert!(rows.is_empty());
        // A's data run on to 3 min: B's first window closes, and the one after it (empty),
        // not a year of windows.
        let (mut rows, _) = feed_as(&mut q, "A", &recs[3..18], now + 120 * S);
        assert_eq!(rows.len(), 2, "A's own rows");
        q.expire(now + 200 * S, &mut rows, &mut Notes::default());
        let b: Vec<(Nanos, u64)> = rows
            .iter()
            .filter(|r| r.stream == "B")
            .map(|r| ((r.start - DAY) / S, r.samples))
            .collect();
        assert_eq!(b, vec![(0, 3000), (60, 0)]);
    }

    #[test]
    fn a_silence_longer_than_the_cap_is_counted_once_not_reported() {
        let mut q = Quality::new(60 * S, 300 * S);
        let recs = records(DAY, 1);
        let later = records(DAY + 20_000 * 60 * S, 1);
        let (mut rows, mut notes) = feed(&mut q, &recs, DAY);
        let (more, n) = feed(&mut q, &later, DAY);
        rows.extend(more);
        notes.empty_windows_skipped += n.empty_windows_skipped;
        q.flush(DAY, &mut rows, &mut notes);
        // The first minute, the cap's worth of empty ones, the last minute; the rest counted.
        assert_eq!(rows.len() as u64, 1 + MAX_EMPTY_WINDOWS + 1);
        assert_eq!(notes.empty_windows_skipped, 20_000 - 1 - MAX_EMPTY_WINDOWS);
        assert_eq!(rows.last().unwrap().start, DAY + 20_000 * 60 * S);
        assert_eq!(rows.last().unwrap().samples, 1000);
    }

    #[test]
    fn data_after_a_silence_reports_the_windows_missed() {
        let mut q = Quality::new(60 * S, 300 * S);
        let all = records(DAY, 36);
        let mut recs = all[..6].to_vec();
        recs.extend_from_slice(&all[30..]);
        let (mut rows, notes) = feed(&mut q, &recs, DAY);
        q.flush(DAY, &mut rows, &mut Notes::default());
        assert_eq!(notes, Notes::default());
        let got: Vec<u64> = rows.iter().map(|r| r.samples).collect();
        assert_eq!(got, vec![6000, 0, 0, 0, 0, 6000]);
    }

    #[test]
    fn sample_indices_fall_on_window_edges() {
        let start = DAY + 5 * S;
        assert_eq!(first_at_or_after(start, 100.0, DAY, 1000), 0);
        assert_eq!(first_at_or_after(start, 100.0, start + S, 1000), 100);
        assert_eq!(first_at_or_after(start, 100.0, start + S + 1, 1000), 101);
        assert_eq!(first_at_or_after(start, 100.0, start + 100 * S, 1000), 1000);
    }
}
