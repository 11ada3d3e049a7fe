//! PPSD (McNamara & Buland 2004) as ObsPy's `PPSD` computes it, streaming: each channel's
//! data cut into segments (`ppsd_length` 3600 s, 50 % overlap), each segment's Welch density
//! (13 sub-windows of a quarter segment rounded down to a power of two, 75 % overlap, linear
//! detrend, 20 % cosine taper), the response removed when one is configured (to ground
//! acceleration, as ObsPy), dB, then averaged over one-octave bins every 1/8 octave. Each
//! segment's smoothed PSD is a row as soon as its last sample arrives, with the shares of bins
//! above Peterson's high and below his low noise model; [`histogram`] stacks the rows of a UTC
//! day into ObsPy's probability density (period × dB bin).
//!
//! Where streaming differs from ObsPy's batch, it says so:
//! - segments start on multiples of the step since the epoch (:00 and :30 for hour segments),
//!   at the first sample at or after that time, not at whatever time a trace happens to start;
//!   for day files (data from midnight) the segments and their samples are ObsPy's;
//! - a segment is computed only when its first and last samples were recorded (ObsPy cuts
//!   segments only inside a trace); gaps inside are zeros as ObsPy's merge fills them, or the
//!   segment is skipped with `skip_on_gaps`; data resuming more than a segment after they
//!   stopped start the grid again rather than filling the silence with zeros.
//!
//! Multi-channel blocks (DAS, node arrays) are treated channel by channel.

pub mod histogram;
pub mod peterson;
pub mod plan;
pub mod stage;
pub mod table;

use std::collections::HashMap;
use std::sync::Arc;

use std::sync::mpsc::{Receiver, Sender};

use self::plan::{Paz, Plan, Shape};
use crate::metadata::evaluate::is_motion;
use crate::model::{Chunk, Nanos, SourceId};
use crate::ops::xcorr::window::{ChannelBuf, Window};

/// One segment's smoothed PSD.
#[derive(Debug, Clone)]
pub struct Row {
    /// The channel (FDSN source id, as `NET.STA.LOC.CHA` where it is a SEED one).
    pub channel: String,
    pub source_id: SourceId,
    /// The segment's grid time (its first sample lies less than one sample after it).
    pub start: Nanos,
    pub end: Nanos,
    pub rate: f64,
    /// Samples of the segment not recorded (zeros in the estimate).
    pub missing: u64,
    pub plan: Arc<Plan>,
    /// dB per bin of `plan.bins`: rel. 1 (m/s²)²/Hz with a response (ObsPy's convention),
    /// rel. 1 count²/Hz without.
    pub psd_db: Vec<f32>,
    pub response_removed: bool,
    /// Percent of bins above the NHNM and below the NLNM (with a response only).
    pub above_nhnm: Option<f64>,
    pub below_nlnm: Option<f64>,
}

/// A response and the channels it belongs to (SEED-id glob, `*` and `?`).
#[derive(Debug, Clone)]
pub struct Response {
    pub channels: String,
    pub paz: Paz,
    /// Multiply by ω² (velocity sensors to acceleration, as ObsPy); false for pressure.
    pub acceleration: bool,
}

/// What the segments left out, since the last look.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Notes {
    /// Segments not computed: data starting or ending inside them, or gaps with `skip_on_gaps`.
    pub incomplete_segments: u64,
    pub gap_samples: u64,
    pub overlap_samples: u64,
}

/// One channel's buffer and where its next segment starts.
struct Channel {
    buf: ChannelBuf,
    plan: Arc<Plan>,
    correction: Option<Arc<Vec<f64>>>,
    next: Nanos,
}

/// A segment cut and waiting for its spectrum.
struct Job {
    channel: String,
    source_id: SourceId,
    start: Nanos,
    missing: u64,
    plan: Arc<Plan>,
    correction: Option<Arc<Vec<f64>>>,
    /// The channel's buffer itself where it held the segment whole.
    samples: Window,
}

/// A segment's row with its number in the order cut.
type Numbered = (u64, Row);

impl Job {
    fn compute(self, length: Nanos) -> Row {
        let psd_db = self
            .plan
            .smoothed(&self.samples, self.correction.as_deref().map(|v| &v[..]));
        let outside = self
            .correction
            .as_ref()
            .and_then(|_| self.plan.outside_models(&psd_db));
        Row {
            channel: self.channel,
            source_id: self.source_id,
            start: self.start,
            end: self.start + length,
            rate: self.plan.rate,
            missing: self.missing,
            response_removed: self.correction.is_some(),
            above_nhnm: outside.map(|o| o.0),
            below_nlnm: outside.map(|o| o.1),
            plan: self.plan,
            psd_db,
        }
    }
}

/// Sends a segment to the pool, numbered `seq` (then counted on).
fn dispatch(done: &Sender<Numbered>, seq: &mut u64, length: Nanos, job: Job) {
    let (n, tx) = (*seq, done.clone());
    *seq += 1;
    rayon::spawn(move || {
        // The receiver is gone only when the Ppsd was dropped: nobody wants the row.
        let _ = tx.send((n, job.compute(length)));
    });
}

/// The PPSD of every channel.
pub struct Ppsd {
    shape: Shape,
    step: Nanos,
    length: Nanos,
    skip_on_gaps: bool,
    responses: Vec<Response>,
    plans: HashMap<u64, Arc<Plan>>,
    corrections: HashMap<(u64, usize), Arc<Vec<f64>>>,
    /// Station metadata: the response of a channel's epoch where no `response` glob matches.
    metadata: Option<crate::ops::epochs::Epochs>,
    /// Per channel, epoch start and rate: the metadata response's correction (`None`: the
    /// epoch's response cannot be evaluated).
    evaluated: HashMap<(String, (Nanos, u64), u64), Option<Correction>>,
    channels: HashMap<String, Channel>,
    /// Segments cut go to the rayon pool at once, so their spectra are computed while the
    /// next blocks are buffered and cut; each comes back numbered, to be returned in order.
    done: (Sender<Numbered>, Receiver<Numbered>),
    dispatched: u64,
    /// Segments returned so far: the number of the next one to return.
    collected: u64,
    /// Segments done but not returned yet (an earlier one is still being computed).
    finished: std::collections::BTreeMap<u64, Row>,
    pub notes: Notes,
}

impl Ppsd {
    pub fn new(shape: Shape, skip_on_gaps: bool, responses: Vec<Response>) -> Result<Ppsd, String> {
        if !(shape.ppsd_length_s >= 1.0 && shape.ppsd_length_s <= 86_400.0) {
            return Err(format!(
                "ppsd_length_s {}: from 1 s to a day",
                shape.ppsd_length_s
            ));
        }
        if !(0.0..1.0).contains(&shape.overlap) {
            return Err(format!("overlap {}: from 0 to below 1", shape.overlap));
        }
        if !(shape.smoothing_width_octaves > 0.0 && shape.step_octaves > 0.0) {
            return Err("smoothing and step octaves must be positive".into());
        }
        let length = (shape.ppsd_length_s * 1e9).round() as Nanos;
        let step = (shape.ppsd_length_s * (1.0 - shape.overlap) * 1e9).round() as Nanos;
        Ok(Ppsd {
            shape,
            step,
            length,
            skip_on_gaps,
            responses,
            plans: HashMap::new(),
            corrections: HashMap::new(),
            metadata: None,
            evaluated: HashMap::new(),
            channels: HashMap::new(),
            done: std::sync::mpsc::channel(),
            dispatched: 0,
            collected: 0,
            finished: std::collections::BTreeMap::new(),
            notes: Notes::default(),
        })
    }

    /// Checks the shape at a rate (what `check` can say before data flow).
    pub fn plan(&mut self, rate: f64) -> Result<Arc<Plan>, String> {
        if let Some(p) = self.plans.get(&rate.to_bits()) {
            return Ok(p.clone());
        }
        let p = Arc::new(Plan::new(rate, &self.shape)?);
        self.plans.insert(rate.to_bits(), p.clone());
        Ok(p)
    }

    /// Takes instrument responses from station metadata for the channels no `response`
    /// glob names (ObsPy's `PPSD(stats, metadata=inventory)`).
    pub fn with_metadata(mut self, epochs: crate::ops::epochs::Epochs) -> Self {
        self.metadata = Some(epochs);
        self
    }

    fn correction(
        &mut self,
        id: &str,
        source_id: &SourceId,
        start: Nanos,
        plan: &Arc<Plan>,
    ) -> Option<Arc<Vec<f64>>> {
        let Some(k) = self
            .responses
            .iter()
            .position(|r| crate::sources::files::glob(&r.channels, id))
        else {
            return self.metadata_correction(source_id, start, plan);
        };
        let key = (plan.rate.to_bits(), k);
        let r = &self.responses[k];
        Some(
            self.corrections
                .entry(key)
                .or_insert_with(|| Arc::new(plan.correction(&r.paz, r.acceleration)))
                .clone(),
        )
    }

    /// The correction from the response of the metadata epoch covering `start`.
    fn metadata_correction(
        &mut self,
        source_id: &SourceId,
        start: Nanos,
        plan: &Arc<Plan>,
    ) -> Option<Arc<Vec<f64>>> {
        let epochs = self.metadata.as_mut()?;
        let cat = epochs.current();
        let epoch = epochs.at(&cat, source_id, start)?;
        let key = (
            source_id.as_str().to_string(),
            (epoch.start, epochs.generation()),
            plan.rate.to_bits(),
        );
        if let Some(c) = self.evaluated.get(&key) {
            return c.clone();
        }
        let made = epochs
            .evaluator(source_id, epoch, "PSD in counts")
            .map(|ev| {
                let motion = epoch
                    .response
                    .as_ref()
                    .is_some_and(|r| is_motion(r.input_units()));
                Arc::new(plan.correction_from(&ev, motion))
            });
        self.evaluated.insert(key, made.clone());
        made
    }

    /// Takes a block; segments it completes are cut and wait for [`Ppsd::rows`].
    /// A rate too low for the segment length is an error naming the stream.
    pub fn process(&mut self, chunk: &Chunk) -> Result<(), String> {
        let rate = chunk.rate.hz();
        if chunk.n_samples() == 0 || !(rate > 0.0 && rate.is_finite()) {
            return Ok(());
        }
        let plan = self
            .plan(rate)
            .map_err(|e| format!("{}: {e}", chunk.stream))?;
        for (c, meta) in chunk.channels.iter().enumerate() {
            let id = meta
                .source_id
                .to_seed()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| meta.source_id.to_string());
            let row = chunk.data.row(c);
            let row = match row.as_slice() {
                Some(r) => std::borrow::Cow::Borrowed(r),
                None => std::borrow::Cow::Owned(row.to_vec()),
            };
            self.push(&id, meta, &plan, chunk.start, &row);
        }
        Ok(())
    }

    fn push(
        &mut self,
        id: &str,
        meta: &crate::model::ChannelMeta,
        plan: &Arc<Plan>,
        start: Nanos,
        row: &[f32],
    ) {
        let restart = match self.channels.get(id) {
            None => true,
            Some(ch) => {
                // a new rate, or a silence longer than a segment: the grid starts again
                ch.plan.rate != plan.rate || start > ch.buf.end() + self.length
            }
        };
        if restart {
            if let Some(old) = self.channels.remove(id) {
                self.notes.gap_samples += old.buf.gap_samples;
                self.notes.overlap_samples += old.buf.overlap_samples;
            }
            let correction = self.correction(id, &meta.source_id, start, plan);
            self.channels.insert(
                id.to_string(),
                Channel {
                    buf: ChannelBuf::new(meta.clone(), plan.rate, start),
                    plan: plan.clone(),
                    correction,
                    next: start.div_euclid(self.step) * self.step,
                },
            );
        }
        let ch = self.channels.get_mut(id).expect("inserted above");
        ch.buf.push(start, row);
        let len = ch.plan.len;
        while ch.buf.covers(ch.next, len) {
            let (samples, cut) = ch.buf.window(ch.next, len);
            let whole = cut.ends_recorded && (cut.missing == 0 || !self.skip_on_gaps);
            if whole {
                dispatch(
                    &self.done.0,
                    &mut self.dispatched,
                    self.length,
                    Job {
                        channel: id.to_string(),
                        source_id: meta.source_id.clone(),
                        start: ch.next,
                        missing: cut.missing as u64,
                        plan: ch.plan.clone(),
                        correction: ch.correction.clone(),
                        samples,
                    },
                );
            } else {
                self.notes.incomplete_segments += 1;
            }
            ch.next += self.step;
            ch.buf.drop_before(ch.next);
        }
    }

    /// Segments waiting for their spectra (or for an earlier segment's, to keep the order).
    pub fn pending(&self) -> usize {
        (self.dispatched - self.collected) as usize
    }

    /// The rows of the segments cut so far, in the order cut, once their spectra (computed on
    /// all cores as they were cut) are done.
    pub fn rows(&mut self) -> Vec<Row> {
        while self.collected + (self.finished.len() as u64) < self.dispatched {
            let next = if rayon::current_thread_index().is_some() {
                // On a pool thread, waiting would hold a thread the segments may need: run
                // other work meanwhile.
                match self.done.1.try_recv() {
                    Ok(d) => d,
                    Err(_) => {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::thread::yield_now();
                        }
                        continue;
                    }
                }
            } else {
                self.done.1.recv().expect("the Ppsd holds a sender")
            };
            self.finished.insert(next.0, next.1);
        }
        self.in_order()
    }

    /// The rows whose spectra are done, without waiting: every segment up to the first one
    /// still being computed, in the order cut. This is how each segment's PSD is emitted as
    /// it completes.
    pub fn finished_rows(&mut self) -> Vec<Row> {
        while let Ok((seq, done)) = self.done.1.try_recv() {
            self.finished.insert(seq, done);
        }
        self.in_order()
    }

    /// Takes the finished segments that follow the last one returned, in order.
    fn in_order(&mut self) -> Vec<Row> {
        let mut rows = Vec::new();
        while let Some(row) = self.finished.remove(&self.collected) {
            rows.push(row);
            self.collected += 1;
        }
        rows
    }

    /// Gap and overlap samples seen, since the last call.
    pub fn take_notes(&mut self) -> Notes {
        for ch in self.channels.values_mut() {
            self.notes.gap_samples += std::mem::take(&mut ch.buf.gap_samples);
            self.notes.overlap_samples += std::mem::take(&mut ch.buf.overlap_samples);
        }
        std::mem::take(&mut self.notes)
    }

    /// Samples held (for the memory check's tests).
    pub fn held(&self) -> usize {
        self.channels.values().map(|c| c.buf.held()).sum()
    }
}

/// A segment's multiplier per FFT bin (counts²/Hz to physical units²/Hz).
type Correction = Arc<Vec<f64>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelMeta, SampleRate, SeedId};
    use ndarray::Array2;

    const S: Nanos = 1_000_000_000;
    const T0: Nanos = 1_735_689_600 * S;

    fn shape(len: f64) -> Shape {
        Shape {
            ppsd_length_s: len,
            overlap: 0.5,
            smoothing_width_octaves: 1.0,
            step_octaves: 0.125,
            period_limits: None,
        }
    }

    fn chunk(start: Nanos, x: &[f32]) -> Chunk {
        Chunk {
            stream: "XX.A..HHZ".into(),
            start,
            rate: SampleRate(20.0),
            channels: vec![ChannelMeta {
                source_id: SeedId::new("XX", "A", "", "HHZ").to_source_id(),
                distance_m: None,
            }],
            data: Array2::from_shape_vec((1, x.len()), x.to_vec()).unwrap(),
            das: None,
            units: None,
        }
    }

    fn noise(n: usize) -> Vec<f32> {
        let mut r = crate::synthetic::signal::Rng::new(2);
        (0..n)
            .map(|i| (r.normal() * 50.0 + (i as f64 * 0.3).sin() * 80.0) as f32)
            .collect()
    }

    fn run(pieces: &[usize], x: &[f32], skip: bool) -> (Vec<Row>, Notes) {
        let mut p = Ppsd::new(shape(600.0), skip, vec![]).unwrap();
        let mut at = 0;
        for &n in pieces {
            p.process(&chunk(T0 + at as Nanos * S / 20, &x[at..at + n]))
                .unwrap();
            at += n;
        }
        (p.rows(), p.take_notes())
    }

    #[test]
    fn segments_on_the_grid_and_the_same_whatever_the_pieces() {
        // 40 min at 20 Hz from a whole hour: 10-minute segments every 5 minutes: 7 of them.
        let x = noise(48_000);
        let (whole, _) = run(&[48_000], &x, false);
        let (split, _) = run(&[1, 4_999, 17_000, 26_000], &x, false);
        assert_eq!(whole.len(), 7);
        let starts: Vec<Nanos> = whole.iter().map(|r| (r.start - T0) / S).collect();
        assert_eq!(starts, vec![0, 300, 600, 900, 1200, 1500, 1800]);
        for (a, b) in whole.iter().zip(&split) {
            assert_eq!(a.start, b.start);
            assert_eq!(a.psd_db, b.psd_db);
        }
        // the second segment is the plan's estimate of samples 6000..18000
        let want = whole[1].plan.smoothed(&x[6000..18000], None);
        assert_eq!(whole[1].psd_db, want);
        assert!(whole[0].above_nhnm.is_none());
    }

    /// Rows taken as they finish, piece by piece, come out once each, in the order cut, and
    /// equal the rows taken all at the end.
    #[test]
    fn finished_rows_come_out_in_order_as_they_are_done() {
        let x = noise(48_000);
        let (whole, _) = run(&[48_000], &x, false);
        let mut p = Ppsd::new(shape(600.0), false, vec![]).unwrap();
        let mut got = Vec::new();
        let mut at = 0;
        for n in [7_000, 7_000, 7_000, 7_000, 7_000, 13_000] {
            p.process(&chunk(T0 + at as Nanos * S / 20, &x[at..at + n]))
                .unwrap();
            at += n;
            got.extend(p.finished_rows());
        }
        while p.pending() > 0 {
            got.extend(p.finished_rows());
            std::thread::yield_now();
        }
        assert!(p.finished_rows().is_empty() && p.rows().is_empty());
        assert_eq!(got.len(), whole.len());
        for (a, b) in whole.iter().zip(&got) {
            assert_eq!((a.start, &a.psd_db), (b.start, &b.psd_db));
        }
    }

    #[test]
    fn gaps_zero_filled_or_skipped_and_partial_segments_left_out() {
        let x = noise(48_000);
        // a 100 s hole in the first 10 minutes
        let (a, b) = (2_000, 4_000);
        let mut y = x.clone();
        y[a..b].iter_mut().for_each(|v| *v = 0.0);
        for skip in [false, true] {
            let mut p = Ppsd::new(shape(600.0), skip, vec![]).unwrap();
            p.process(&chunk(T0, &x[..a])).unwrap();
            p.process(&chunk(T0 + b as Nanos * S / 20, &x[b..]))
                .unwrap();
            let rows = p.rows();
            let notes = p.take_notes();
            assert_eq!(notes.gap_samples, 2_000);
            if skip {
                assert_eq!((rows[0].start - T0) / S, 300);
                assert_eq!(notes.incomplete_segments, 1);
            } else {
                // zeros where nothing was recorded, as ObsPy's merge fills them
                assert_eq!(rows[0].start, T0);
                assert_eq!(rows[0].missing, 2_000);
                assert_eq!(rows[0].psd_db, rows[0].plan.smoothed(&y[..12_000], None));
                assert_eq!(notes.incomplete_segments, 0);
            }
        }
        // data starting a second into a segment: that segment is not whole
        let mut p = Ppsd::new(shape(600.0), false, vec![]).unwrap();
        p.process(&chunk(T0 + S, &x[20..])).unwrap();
        assert_eq!((p.rows()[0].start - T0) / S, 300);
        assert_eq!(p.take_notes().incomplete_segments, 1);
    }
}
