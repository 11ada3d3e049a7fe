//! The Kafka bus: each producing stage writes topic `PIPELINE.STAGE`, keyed by stream id, so
//! a stream stays ordered within its partition; each consuming stage reads its inputs' topics
//! in consumer group `PIPELINE.STAGE`, so processes running the same stages share the
//! partitions.
//!
//! On the wire, records travel as the miniSEED bytes themselves and blocks as Arrow IPC
//! messages (`formats::arrow`); a `content-type` header says which. The producer is
//! idempotent and never gives up on a message (`message.timeout.ms = 0`): while the broker is
//! away, sends queue up to the local buffer limit and then block, which stalls the pipeline
//! instead of dropping data. Offsets are committed by the stage, explicitly, once what it made
//! of them is durable (never auto-committed).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};

use super::{Bus, BusError, Message, Payload, Position, Publisher, Recv, Subscriber};
use crate::formats::{arrow, ccf_arrow, spectra_arrow, table_arrow};
use crate::settings::KafkaSettings;

pub const MSEED_CONTENT_TYPE: &str = "application/vnd.fdsn.mseed";

/// The topic carrying `stage`'s output.
pub fn topic_name(pipeline: &str, stage: &str) -> String {
    format!("{pipeline}.{stage}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn kerr(e: KafkaError) -> BusError {
    BusError::Kafka(e.to_string())
}

pub struct KafkaBus {
    settings: KafkaSettings,
    pipeline: String,
    producer: Arc<ThreadedProducer<DeliveryCounter>>,
    delivered: Arc<DeliveryStats>,
}

impl KafkaBus {
    /// Connects and creates `topics` (those of the stages this process runs) when missing.
    /// Waits up to `wait` for the broker to answer.
    pub fn connect(
        settings: &KafkaSettings,
        pipeline: &str,
        topics: &[String],
        wait: Duration,
    ) -> Result<KafkaBus, BusError> {
        let delivered = Arc::new(DeliveryStats::default());
        let mut cfg = client_config(settings, &[]);
        cfg.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "0")
            .set("linger.ms", "5")
            .set("queue.buffering.max.kbytes", PRODUCER_BUFFER_KB.to_string());
        let producer: ThreadedProducer<DeliveryCounter> = cfg
            .create_with_context(DeliveryCounter(delivered.clone()))
            .map_err(kerr)?;
        create_topics(settings, topics, wait)?;
        Ok(KafkaBus {
            settings: settings.clone(),
            pipeline: pipeline.to_string(),
            producer: Arc::new(producer),
            delivered,
        })
    }
}

/// A client's configuration: our `defaults`, then the settings (which may override them).
/// librdkafka's producer buffer (`queue.buffering.max.kbytes`), KiB: what a producing stage
/// may hold unacknowledged (counted in its memory bound).
pub const PRODUCER_BUFFER_KB: u64 = 65536;
/// A consumer's prefetch queue (`queued.max.messages.kbytes`), KiB.
pub const CONSUMER_PREFETCH_KB: u64 = 65536;
/// The largest fetch response a consumer takes at once (`fetch.max.bytes`).
pub const FETCH_MAX_BYTES: u64 = 52_428_800;

fn client_config(settings: &KafkaSettings, defaults: &[(&str, &str)]) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    for (k, v) in defaults {
        cfg.set(*k, *v);
    }
    for (k, v) in settings.client_properties() {
        cfg.set(k, v);
    }
    cfg.set("client.id", "seisreduce");
    cfg
}

/// Creates the topics that do not exist yet, retrying while the broker is unreachable.
fn create_topics(
    settings: &KafkaSettings,
    topics: &[String],
    wait: Duration,
) -> Result<(), BusError> {
    if topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> =
        client_config(settings, &[]).create().map_err(kerr)?;
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                settings.partitions,
                TopicReplication::Fixed(settings.replication),
            )
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let deadline = Instant::now() + wait;
    loop {
        let res = futures::executor::block_on(admin.create_topics(new.iter(), &opts));
        let retry = match res {
            Ok(results) => {
                let mut retry = None;
                for r in results {
                    match r {
                        Ok(t) => tracing::info!(topic = %t, "created topic"),
                        Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((t, code)) => retry = Some(format!("creating topic {t}: {code}")),
                    }
                }
                retry
            }
            Err(e) => Some(e.to_string()),
        };
        match retry {
            None => return Ok(()),
            Some(msg) if Instant::now() >= deadline => {
                return Err(BusError::Kafka(format!(
                    "{msg} (brokers {}; gave up after {:?})",
                    settings.brokers, wait
                )))
            }
            Some(msg) => {
                tracing::warn!(brokers = %settings.brokers, "{msg}; retrying");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

#[derive(Default)]
struct DeliveryStats {
    failed: AtomicU64,
}

/// Counts deliveries the producer gave up on. With an idempotent producer and no message
/// timeout this should stay zero; if it does not, the stage fails rather than lose data.
struct DeliveryCounter(Arc<DeliveryStats>);

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = result {
            self.0.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                topic = m.topic(),
                partition = m.partition(),
                "delivery failed: {e}"
            );
        }
    }
}

impl Bus for KafkaBus {
    fn publisher(&self, stage: &str) -> Result<Option<Box<dyn Publisher>>, BusError> {
        Ok(Some(Box::new(KafkaPublisher {
            topic: topic_name(&self.pipeline, stage),
            producer: self.producer.clone(),
            delivered: self.delivered.clone(),
        })))
    }

    fn subscriber(&self, stage: &str, inputs: &[String]) -> Result<Box<dyn Subscriber>, BusError> {
        let assigned = Arc::new(AtomicUsize::new(0));
        let group = topic_name(&self.pipeline, stage);
        // A member that died is noticed after the session timeout, and its partitions wait
        // that long: 10 s rather than librdkafka's 45 s (settings `kafka.properties` may
        // override it).
        // The prefetch bounds are set (to librdkafka's defaults) so that the memory bound the
        // stage states holds; `kafka.properties` may still change them.
        let prefetch = CONSUMER_PREFETCH_KB.to_string();
        let fetch = FETCH_MAX_BYTES.to_string();
        let mut cfg = client_config(
            &self.settings,
            &[
                ("session.timeout.ms", "10000"),
                ("queued.max.messages.kbytes", &prefetch),
                ("fetch.max.bytes", &fetch),
            ],
        );
        if let Some(id) = &self.settings.group_instance_id {
            cfg.set("group.instance.id", id);
        }
        cfg.set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("statistics.interval.ms", "1000");
        let lag = Arc::new(AtomicI64::new(0));
        let revoked = Arc::new(AtomicBool::new(false));
        let consumer: BaseConsumer<GroupContext> = cfg
            .create_with_context(GroupContext {
                group: group.clone(),
                assigned: assigned.clone(),
                revoked: revoked.clone(),
                lag: lag.clone(),
            })
            .map_err(kerr)?;
        let topics: Vec<String> = inputs
            .iter()
            .map(|i| topic_name(&self.pipeline, i))
            .collect();
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&refs).map_err(kerr)?;
        Ok(Box::new(KafkaSubscriber {
            consumer,
            assigned,
            revoked,
            lag,
            topics: topics.into_iter().map(Arc::from).collect(),
        }))
    }
}

/// A payload's bytes on the wire and their content type.
fn encode_payload(payload: &Payload) -> Result<(Bytes, &'static str), String> {
    let text = |e: crate::formats::arrow::ArrowError| e.to_string();
    Ok(match payload {
        Payload::Record(b) => (b.clone(), MSEED_CONTENT_TYPE),
        Payload::Block(c) => (
            arrow::encode_chunk(c, c.units.as_deref().unwrap_or(""))
                .map_err(text)?
                .into(),
            arrow::CONTENT_TYPE,
        ),
        Payload::Correlations(c) => (
            ccf_arrow::encode(c).map_err(text)?.into(),
            ccf_arrow::CONTENT_TYPE,
        ),
        Payload::Spectra(b) => (
            spectra_arrow::encode(b).map_err(text)?.into(),
            spectra_arrow::CONTENT_TYPE,
        ),
        Payload::Table(t) => (
            table_arrow::encode(t).map_err(text)?.into(),
            table_arrow::CONTENT_TYPE,
        ),
    })
}

struct KafkaPublisher {
    topic: String,
    producer: Arc<ThreadedProducer<DeliveryCounter>>,
    delivered: Arc<DeliveryStats>,
}

impl Publisher for KafkaPublisher {
    fn send(&mut self, key: &str, payload: &Payload) -> Result<(), BusError> {
        let (bytes, ctype) = encode_payload(payload).map_err(|message| BusError::Payload {
            at: format!("{} key {key}", self.topic),
            message,
        })?;
        let headers = OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some(ctype),
        });
        let mut record = BaseRecord::to(&self.topic)
            .key(key)
            .payload(&bytes[..])
            .headers(headers);
        let mut waited = Instant::now();
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                // The local queue is full (the broker is slow or away): wait, which is the
                // backpressure that keeps memory flat.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    if waited.elapsed() > Duration::from_secs(10) {
                        tracing::warn!(topic = %self.topic, "producer queue full; waiting for the broker");
                        waited = Instant::now();
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((e, _)) => return Err(kerr(e)),
            }
        }
    }

    fn flush(&mut self) -> Result<(), BusError> {
        loop {
            match self.producer.flush(Duration::from_secs(10)) {
                Ok(()) => break,
                Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => {
                    tracing::warn!(
                        topic = %self.topic,
                        in_flight = self.producer.in_flight_count(),
                        "waiting for the broker to acknowledge"
                    );
                }
                Err(e) => return Err(kerr(e)),
            }
        }
        match self.delivered.failed.load(Ordering::Relaxed) {
            0 => Ok(()),
            n => Err(BusError::Kafka(format!(
                "{n} messages to {} could not be delivered",
                self.topic
            ))),
        }
    }
}

struct GroupContext {
    group: String,
    assigned: Arc<AtomicUsize>,
    /// Set when partitions are revoked; cleared by the stage.
    revoked: Arc<AtomicBool>,
    /// Sum of the consumer lag of the owned partitions, from librdkafka's statistics (which
    /// it computes from the fetch responses it already has: no extra requests).
    lag: Arc<AtomicI64>,
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        let lag: i64 = statistics
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
            .map(|p| p.consumer_lag)
            .sum();
        self.lag.store(lag, Ordering::Relaxed);
    }
}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, c: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let n = c.assignment().map(|a| a.count()).unwrap_or(tpl.count());
                self.assigned.store(n, Ordering::Relaxed);
                let parts: Vec<String> = tpl
                    .elements()
                    .iter()
                    .map(|e| format!("{}/{}", e.topic(), e.partition()))
                    .collect();
                tracing::info!(group = %self.group, partitions = %parts.join(","), "partitions assigned");
            }
            Rebalance::Revoke(_) => {
                self.assigned.store(0, Ordering::Relaxed);
                self.revoked.store(true, Ordering::Relaxed);
                tracing::info!(group = %self.group, "partitions revoked");
            }
            Rebalance::Error(e) => tracing::warn!(group = %self.group, "rebalance error: {e}"),
        }
    }
}

struct KafkaSubscriber {
    consumer: BaseConsumer<GroupContext>,
    assigned: Arc<AtomicUsize>,
    revoked: Arc<AtomicBool>,
    lag: Arc<AtomicI64>,
    topics: Vec<Arc<str>>,
}

impl KafkaSubscriber {
    fn topic(&self, name: &str) -> Arc<str> {
        self.topics
            .iter()
            .find(|t| &***t == name)
            .cloned()
            .unwrap_or_else(|| name.into())
    }

    fn convert(&self, m: &BorrowedMessage<'_>) -> Result<Message, (BusError, Position)> {
        let position = Position {
            topic: self.topic(m.topic()),
            partition: m.partition(),
            offset: m.offset(),
        };
        let at = || format!("{}/{}@{}", m.topic(), m.partition(), m.offset());
        let bad = |message: String| (BusError::Payload { at: at(), message }, position.clone());
        let key = match m.key().map(std::str::from_utf8) {
            Some(Ok(k)) => Arc::<str>::from(k),
            _ => return Err(bad("message key missing or not UTF-8".into())),
        };
        let ctype = m.headers().and_then(|h| {
            h.iter()
                .find(|h| h.key == "content-type")
                .and_then(|h| h.value)
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_string)
        });
        let bytes = m.payload().unwrap_or_default();
        let payload = match ctype.as_deref() {
            Some(arrow::CONTENT_TYPE) => {
                let (mut chunk, units) =
                    arrow::decode_chunk(bytes).map_err(|e| bad(e.to_string()))?;
                chunk.units = (!units.is_empty()).then_some(units);
                Payload::Block(Arc::new(chunk))
            }
            Some(ccf_arrow::CONTENT_TYPE) => Payload::Correlations(Arc::new(
                ccf_arrow::decode(bytes).map_err(|e| bad(e.to_string()))?,
            )),
            Some(spectra_arrow::CONTENT_TYPE) => Payload::Spectra(Arc::new(
                spectra_arrow::decode(bytes).map_err(|e| bad(e.to_string()))?,
            )),
            Some(table_arrow::CONTENT_TYPE) => Payload::Table(Arc::new(
                table_arrow::decode(bytes).map_err(|e| bad(e.to_string()))?,
            )),
            Some(MSEED_CONTENT_TYPE) | None => Payload::Record(Bytes::copy_from_slice(bytes)),
            Some(other) => return Err(bad(format!("unknown content-type {other}"))),
        };
        Ok(Message {
            key,
            payload,
            position: Some(position),
        })
    }
}

impl Subscriber for KafkaSubscriber {
    fn recv(&mut self, timeout: Duration) -> Recv {
        match self.consumer.poll(timeout) {
            None => Recv::Idle,
            Some(Ok(m)) => match self.convert(&m) {
                Ok(msg) => Recv::Message(msg),
                Err((e, p)) => Recv::Bad(e, Some(p)),
            },
            Some(Err(e)) => Recv::Bad(kerr(e), None),
        }
    }

    fn commit(&mut self, done: &[Position]) -> Result<(), BusError> {
        if done.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for p in done {
            tpl.add_partition_offset(&p.topic, p.partition, Offset::Offset(p.offset + 1))
                .map_err(kerr)?;
        }
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(kerr)
    }

    fn backlog(&self) -> Option<u64> {
        Some(self.lag.load(Ordering::Relaxed).max(0) as u64)
    }

    fn assigned(&self) -> Option<usize> {
        Some(self.assigned.load(Ordering::Relaxed))
    }

    fn take_revoked(&mut self) -> bool {
        self.revoked.swap(false, Ordering::Relaxed)
    }
}
