//! Prometheus metrics: what every stage reads, writes and drops, and how far behind it runs.
//!
//! All series carry the `pipeline` and `stage` labels, so one dashboard serves every pipeline.
//! Stages hold a [`StageMetrics`] with their label values bound once; counting is then an
//! atomic add.

use prometheus::{
    Encoder, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::model::Nanos;

pub struct Metrics {
    registry: Registry,
    pipeline: String,
    records_in: IntCounterVec,
    records_out: IntCounterVec,
    samples_in: IntCounterVec,
    samples_out: IntCounterVec,
    bytes_in: IntCounterVec,
    bytes_out: IntCounterVec,
    dropped: IntCounterVec,
    events: IntCounterVec,
    errors: IntCounterVec,
    queue_depth: IntGaugeVec,
    consumer_lag: IntGaugeVec,
    assigned: IntGaugeVec,
    data_lag: GaugeVec,
    stored_bytes: IntGaugeVec,
    compression_ratio: GaugeVec,
    last_durable: IntGaugeVec,
    process_rss: IntGauge,
    process_cpu: prometheus::Gauge,
    stations: StationFamilies,
    quality: QualityFamilies,
    rsam: GaugeVec,
}

/// Per-stream series of the `quality` stage: a gauge per channel of a network (bounded by
/// the station list, never per DAS channel: DAS health goes to Zarr).
#[derive(Clone)]
struct QualityFamilies {
    availability: GaugeVec,
    gaps: GaugeVec,
    latency: GaugeVec,
    delay: GaugeVec,
}

impl QualityFamilies {
    fn new(r: &Registry) -> Self {
        let l = &["pipeline", "stage", "stream"];
        let g = |name: &str, help: &str| registered(r, GaugeVec::new(Opts::new(name, help), l));
        QualityFamilies {
            availability: g(
                "seisreduce_quality_availability_percent",
                "Percent of the last closed window covered by data (MUSTANG percent_availability), per stream",
            ),
            gaps: g(
                "seisreduce_quality_gaps",
                "Gaps in the last closed window (MUSTANG num_gaps), per stream",
            ),
            latency: g(
                "seisreduce_quality_latency_seconds",
                "Wall clock minus the arrival of the stream's last record (scqc latency), per stream",
            ),
            delay: g(
                "seisreduce_quality_delay_seconds",
                "Wall clock minus the end of the stream's last record (scqc delay), per stream",
            ),
        }
    }
}

/// One stream's quality gauges, label values bound.
#[derive(Clone)]
pub struct QualityMetrics {
    pub availability: prometheus::Gauge,
    pub gaps: prometheus::Gauge,
    pub latency: prometheus::Gauge,
    pub delay: prometheus::Gauge,
}

/// Per-station series of live sources (SeedLink): stations, not channels, so that a
/// network of 700 stations is 700 series per family.
#[derive(Clone)]
struct StationFamilies {
    packets: IntCounterVec,
    bytes: IntCounterVec,
    sequence_gaps: IntCounterVec,
    unordered: IntCounterVec,
    data_latency: GaugeVec,
    feed_latency: GaugeVec,
    reconnects: IntCounterVec,
}

impl StationFamilies {
    fn new(r: &Registry) -> Self {
        let st = &["pipeline", "stage", "station"];
        let g = |name: &str, help: &str| registered(r, GaugeVec::new(Opts::new(name, help), st));
        StationFamilies {
            packets: counter(r, "seisreduce_seedlink_packets_total", "SeedLink packets received, per station", st),
            bytes: counter(r, "seisreduce_seedlink_bytes_total", "SeedLink payload bytes received, per station", st),
            sequence_gaps: counter(
                r,
                "seisreduce_seedlink_sequence_gap_packets_total",
                "Packets missing between consecutive sequence numbers, per station",
                st,
            ),
            unordered: counter(
                r,
                "seisreduce_seedlink_unordered_packets_total",
                "Packets from the future (start after now) or not newer than one already seen (kind=future|old)",
                &["pipeline", "stage", "station", "kind"],
            ),
            data_latency: g(
                "seisreduce_seedlink_data_latency_seconds",
                "Wall clock minus the end of the last sample received, per station",
            ),
            feed_latency: g(
                "seisreduce_seedlink_feed_latency_seconds",
                "Wall clock minus the arrival of the last packet, per station",
            ),
            reconnects: counter(r, "seisreduce_seedlink_reconnects_total", "Connections reopened to the server", STAGE),
        }
    }
}

/// One station's series, label values bound.
#[derive(Clone)]
pub struct StationMetrics {
    pub packets: IntCounter,
    pub bytes: IntCounter,
    pub sequence_gaps: IntCounter,
    pub future: IntCounter,
    pub old: IntCounter,
    pub data_latency: prometheus::Gauge,
    pub feed_latency: prometheus::Gauge,
}

/// Registers `metric` (just made from valid, constant definitions) and returns it.
fn registered<M: prometheus::core::Collector + Clone + 'static>(
    r: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    let m = metric.expect("valid metric definition");
    r.register(Box::new(m.clone()))
        .expect("metric registered once");
    m
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    registered(r, IntCounterVec::new(Opts::new(name, help), labels))
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGaugeVec {
    registered(r, IntGaugeVec::new(Opts::new(name, help), STAGE))
}

const STAGE: &[&str] = &["pipeline", "stage"];

impl Metrics {
    pub fn new(pipeline: &str) -> Metrics {
        let r = Registry::new();
        let data_lag = registered(
            &r,
            GaugeVec::new(
                Opts::new(
                    "seisreduce_data_lag_seconds",
                    "Wall clock minus the time of the last sample the stage emitted",
                ),
                STAGE,
            ),
        );
        let compression_ratio = registered(
            &r,
            GaugeVec::new(
                Opts::new(
                    "seisreduce_sink_compression_ratio",
                    "Uncompressed over stored size of what the sink has written",
                ),
                STAGE,
            ),
        );
        let process_rss = registered(
            &r,
            IntGauge::new(
                "process_resident_memory_bytes",
                "Resident memory of the process, bytes",
            ),
        );
        let process_cpu = registered(
            &r,
            prometheus::Gauge::new(
                "process_cpu_seconds_total",
                "User and system CPU time of the process, seconds",
            ),
        );
        let stations = StationFamilies::new(&r);
        let quality = QualityFamilies::new(&r);
        let rsam = registered(
            &r,
            GaugeVec::new(
                Opts::new(
                    "seisreduce_rsam",
                    "RSAM of the last closed window (mean absolute demeaned amplitude, in the stream's units; NaN: too little data), per station channel",
                ),
                &["pipeline", "stage", "stream"],
            ),
        );
        Metrics {
            stations,
            quality,
            rsam,
            last_durable: gauge(
                &r,
                "seisreduce_last_durable_timestamp_seconds",
                "When the stage last made its output durable (sink sync, producer flush), Unix time",
            ),
            process_rss,
            process_cpu,
            stored_bytes: gauge(
                &r,
                "seisreduce_sink_stored_bytes",
                "Bytes the sink's output occupies in storage",
            ),
            compression_ratio,
            records_in: counter(&r, "seisreduce_records_in_total", "Messages taken", STAGE),
            records_out: counter(
                &r,
                "seisreduce_records_out_total",
                "Messages emitted",
                STAGE,
            ),
            samples_in: counter(&r, "seisreduce_samples_in_total", "Samples taken", STAGE),
            samples_out: counter(&r, "seisreduce_samples_out_total", "Samples emitted", STAGE),
            bytes_in: counter(&r, "seisreduce_bytes_in_total", "Bytes taken", STAGE),
            bytes_out: counter(&r, "seisreduce_bytes_out_total", "Bytes emitted", STAGE),
            dropped: counter(
                &r,
                "seisreduce_dropped_total",
                "Messages or records not passed on, by reason",
                &["pipeline", "stage", "reason"],
            ),
            events: counter(
                &r,
                "seisreduce_stream_events_total",
                "Gaps, overlaps and restarts seen by operators",
                &["pipeline", "stage", "kind"],
            ),
            errors: counter(
                &r,
                "seisreduce_errors_total",
                "Errors, by kind",
                &["pipeline", "stage", "kind"],
            ),
            queue_depth: gauge(
                &r,
                "seisreduce_queue_depth",
                "Messages waiting for the stage",
            ),
            consumer_lag: gauge(
                &r,
                "seisreduce_kafka_consumer_lag",
                "Messages in the stage's input partitions not yet consumed",
            ),
            assigned: gauge(
                &r,
                "seisreduce_kafka_assigned_partitions",
                "Input partitions this process owns",
            ),
            data_lag,
            registry: r,
            pipeline: pipeline.to_string(),
        }
    }

    /// The counters of one stage. Errors and stream events of the known kinds start at zero,
    /// so that the series exist (dashboards, alerts) and `increase()` sees the first one.
    pub fn stage(&self, stage: &str) -> StageMetrics {
        let l = [self.pipeline.as_str(), stage];
        for kind in ["fatal", "bad_message"] {
            self.errors.with_label_values(&[l[0], l[1], kind]);
        }
        for kind in ["gap", "overlap"] {
            self.events.with_label_values(&[l[0], l[1], kind]);
        }
        StageMetrics {
            pipeline: self.pipeline.clone(),
            stage: stage.to_string(),
            records_in: self.records_in.with_label_values(&l),
            records_out: self.records_out.with_label_values(&l),
            samples_in: self.samples_in.with_label_values(&l),
            samples_out: self.samples_out.with_label_values(&l),
            bytes_in: self.bytes_in.with_label_values(&l),
            bytes_out: self.bytes_out.with_label_values(&l),
            queue_depth: self.queue_depth.with_label_values(&l),
            consumer_lag: self.consumer_lag.with_label_values(&l),
            assigned: self.assigned.with_label_values(&l),
            data_lag: self.data_lag.with_label_values(&l),
            stored_bytes: self.stored_bytes.with_label_values(&l),
            compression_ratio: self.compression_ratio.with_label_values(&l),
            last_durable: self.last_durable.with_label_values(&l),
            dropped: self.dropped.clone(),
            events: self.events.clone(),
            errors: self.errors.clone(),
            stations: self.stations.clone(),
            quality: self.quality.clone(),
            rsam: self.rsam.clone(),
        }
    }

    /// The text exposition format, for `/metrics`.
    pub fn render(&self) -> String {
        if let Some((rss, cpu)) = process_usage() {
            self.process_rss.set(rss as i64);
            self.process_cpu.set(cpu);
        }
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// A stage's counters as they stand, for the run's closing summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageCounts {
    pub records_in: u64,
    pub records_out: u64,
    pub samples_in: u64,
    pub samples_out: u64,
    /// (reason, count), reasons in name order.
    pub dropped: Vec<(String, u64)>,
    /// (kind, count): gaps, overlaps, restarts, ...
    pub events: Vec<(String, u64)>,
    pub errors: Vec<(String, u64)>,
}

/// The `label`-valued counts of `vec` for one stage.
fn by_label(vec: &IntCounterVec, pipeline: &str, stage: &str, label: &str) -> Vec<(String, u64)> {
    use prometheus::core::Collector;
    let mut out = Vec::new();
    for family in vec.collect() {
        for m in family.get_metric() {
            let value = |name: &str| {
                m.get_label()
                    .iter()
                    .find(|l| l.name() == name)
                    .map(|l| l.value().to_string())
            };
            if value("pipeline").as_deref() == Some(pipeline)
                && value("stage").as_deref() == Some(stage)
            {
                let n = m.get_counter().get_value() as u64;
                if let (Some(k), true) = (value(label), n > 0) {
                    out.push((k, n));
                }
            }
        }
    }
    out.sort();
    out
}

impl StageMetrics {
    /// The counters of this stage now.
    pub fn counts(&self) -> StageCounts {
        let (p, s) = (self.pipeline.as_str(), self.stage.as_str());
        StageCounts {
            records_in: self.records_in.get(),
            records_out: self.records_out.get(),
            samples_in: self.samples_in.get(),
            samples_out: self.samples_out.get(),
            dropped: by_label(&self.dropped, p, s, "reason"),
            events: by_label(&self.events, p, s, "kind"),
            errors: by_label(&self.errors, p, s, "kind"),
        }
    }
}

#[derive(Clone)]
pub struct StageMetrics {
    pipeline: String,
    stage: String,
    pub records_in: IntCounter,
    pub records_out: IntCounter,
    pub samples_in: IntCounter,
    pub samples_out: IntCounter,
    pub bytes_in: IntCounter,
    pub bytes_out: IntCounter,
    pub queue_depth: IntGauge,
    pub consumer_lag: IntGauge,
    pub assigned: IntGauge,
    data_lag: prometheus::Gauge,
    stored_bytes: IntGauge,
    compression_ratio: prometheus::Gauge,
    last_durable: IntGauge,
    dropped: IntCounterVec,
    events: IntCounterVec,
    errors: IntCounterVec,
    stations: StationFamilies,
    quality: QualityFamilies,
    rsam: GaugeVec,
}

impl StageMetrics {
    /// The RSAM gauge of one station channel (never of a DAS channel: those go to Zarr).
    pub fn rsam(&self, stream: &str) -> prometheus::Gauge {
        self.rsam
            .with_label_values(&[self.pipeline.as_str(), self.stage.as_str(), stream])
    }

    /// The quality gauges of one stream.
    pub fn quality(&self, stream: &str) -> QualityMetrics {
        let f = &self.quality;
        let l = [self.pipeline.as_str(), self.stage.as_str(), stream];
        QualityMetrics {
            availability: f.availability.with_label_values(&l),
            gaps: f.gaps.with_label_values(&l),
            latency: f.latency.with_label_values(&l),
            delay: f.delay.with_label_values(&l),
        }
    }

    /// The series of one station of a live source.
    pub fn station(&self, station: &str) -> StationMetrics {
        let f = &self.stations;
        let l = [self.pipeline.as_str(), self.stage.as_str(), station];
        StationMetrics {
            packets: f.packets.with_label_values(&l),
            bytes: f.bytes.with_label_values(&l),
            sequence_gaps: f.sequence_gaps.with_label_values(&l),
            future: f.unordered.with_label_values(&[l[0], l[1], l[2], "future"]),
            old: f.unordered.with_label_values(&[l[0], l[1], l[2], "old"]),
            data_latency: f.data_latency.with_label_values(&l),
            feed_latency: f.feed_latency.with_label_values(&l),
        }
    }

    pub fn reconnected(&self) {
        self.stations
            .reconnects
            .with_label_values(&[&self.pipeline, &self.stage])
            .inc();
    }

    pub fn dropped(&self, reason: &str, n: u64) {
        self.dropped
            .with_label_values(&[&self.pipeline, &self.stage, reason])
            .inc_by(n);
    }

    pub fn event(&self, kind: &str) {
        self.events
            .with_label_values(&[&self.pipeline, &self.stage, kind])
            .inc();
    }

    /// `n` events of one kind at once.
    pub fn events(&self, kind: &str, n: u64) {
        self.events
            .with_label_values(&[&self.pipeline, &self.stage, kind])
            .inc_by(n);
    }

    pub fn error(&self, kind: &str) {
        self.errors
            .with_label_values(&[&self.pipeline, &self.stage, kind])
            .inc();
    }

    /// A sink's output now takes `stored` bytes for `raw` bytes of samples.
    pub fn stored_bytes(&self, stored: u64, raw: u64) {
        self.stored_bytes.set(stored as i64);
        if stored > 0 {
            self.compression_ratio.set(raw as f64 / stored as f64);
        }
    }

    /// The stage's output is durable now.
    pub fn durable_now(&self) {
        self.last_durable.set(crate::model::now() / 1_000_000_000);
    }

    /// Records that the stage has emitted data up to `data_time`.
    pub fn data_time(&self, data_time: Nanos) {
        self.data_lag
            .set((crate::model::now_coarse() as i128 - data_time as i128) as f64 / 1e9);
    }
}

/// Resident bytes and CPU seconds of this process, from `/proc/self` (Linux; elsewhere none).
/// The names and meanings are those of Prometheus' standard process collector.
pub fn process_usage() -> Option<(u64, f64)> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, so split after its ')').
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let (page, hz) = unsafe {
        (
            libc::sysconf(libc::_SC_PAGESIZE),
            libc::sysconf(libc::_SC_CLK_TCK),
        )
    };
    (page > 0 && hz > 0).then(|| (pages * page as u64, ticks / hz as f64))
}
