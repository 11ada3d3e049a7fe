//! The in-process bus: one bounded channel per consuming stage.
//!
//! Every upstream publisher holds a sender to each of its consumers' channels, so a stage with
//! several inputs reads one merged queue and a stage with several consumers sends each a copy
//! (payloads are reference-counted, copies are cheap). A channel closes when all its
//! publishers are gone, which is how the end of the input travels down the pipeline.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use super::{Bus, BusError, Message, Payload, Publisher, Recv, Subscriber};

pub struct MemoryBus {
    senders: HashMap<String, Vec<(String, Sender<Message>)>>,
    receivers: Mutex<HashMap<String, Receiver<Message>>>,
}

impl MemoryBus {
    /// `edges`: (upstream, downstream) pairs; `capacity`: messages per channel.
    pub fn new(edges: &[(String, String)], capacity: usize) -> Self {
        let mut receivers = HashMap::new();
        let mut chan: HashMap<String, Sender<Message>> = HashMap::new();
        for (_, down) in edges {
            chan.entry(down.clone()).or_insert_with(|| {
                let (tx, rx) = bounded(capacity.max(1));
                receivers.insert(down.clone(), rx);
                tx
            });
        }
        let mut senders: HashMap<String, Vec<(String, Sender<Message>)>> = HashMap::new();
        for (up, down) in edges {
            senders
                .entry(up.clone())
                .or_default()
                .push((down.clone(), chan[down].clone()));
        }
        // `chan` drops here: only publishers hold senders, so channels close with them.
        MemoryBus {
            senders,
            receivers: Mutex::new(receivers),
        }
    }
}

impl Bus for MemoryBus {
    fn publisher(&self, stage: &str) -> Result<Option<Box<dyn Publisher>>, BusError> {
        Ok(self
            .senders
            .get(stage)
            .map(|s| Box::new(MemoryPublisher { outputs: s.clone() }) as Box<dyn Publisher>))
    }

    fn subscriber(&self, stage: &str, _: &[String]) -> Result<Box<dyn Subscriber>, BusError> {
        let rx = self
            .receivers
            .lock()
            .map_err(|_| BusError::Disconnected(stage.into()))?
            .remove(stage)
            .ok_or_else(|| BusError::Disconnected(format!("{stage} (no input channel)")))?;
        Ok(Box::new(MemorySubscriber { rx }))
    }
}

struct MemoryPublisher {
    outputs: Vec<(String, Sender<Message>)>,
}

impl Publisher for MemoryPublisher {
    fn send(&mut self, key: &str, payload: &Payload) -> Result<(), BusError> {
        let key: std::sync::Arc<str> = key.into();
        for (name, tx) in &self.outputs {
            tx.send(Message {
                key: key.clone(),
                payload: payload.clone(),
                position: None,
            })
            .map_err(|_| BusError::Disconnected(name.clone()))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BusError> {
        Ok(())
    }
}

struct MemorySubscriber {
    rx: Receiver<Message>,
}

impl Subscriber for MemorySubscriber {
    fn recv(&mut self, timeout: Duration) -> Recv {
        match self.rx.recv_timeout(timeout) {
            Ok(m) => Recv::Message(m),
            Err(RecvTimeoutError::Timeout) => Recv::Idle,
            Err(RecvTimeoutError::Disconnected) => Recv::Closed,
        }
    }

    fn commit(&mut self, _: &[super::Position]) -> Result<(), BusError> {
        Ok(())
    }

    fn backlog(&self) -> Option<u64> {
        Some(self.rx.len() as u64)
    }

    fn more_waiting(&self) -> bool {
        !self.rx.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A full queue blocks the publisher (backpressure), fan-out reaches every consumer, and
    /// the end of the publishers closes the queues.
    #[test]
    fn bounded_fan_out_and_close() {
        let edges = [
            ("src".to_string(), "a".to_string()),
            ("src".to_string(), "b".to_string()),
        ];
        let bus = MemoryBus::new(&edges, 2);
        let mut tx = bus.publisher("src").unwrap().unwrap();
        let mut a = bus.subscriber("a", &[]).unwrap();
        let mut b = bus.subscriber("b", &[]).unwrap();
        drop(bus);
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        let producer = std::thread::spawn(move || {
            for i in 0..5u8 {
                tx.send("k", &Payload::Record(Bytes::from(vec![i])))
                    .unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            sent.load(Ordering::SeqCst),
            2,
            "the third send waits for room"
        );
        assert_eq!(a.backlog(), Some(2));
        let mut got = (Vec::new(), Vec::new());
        loop {
            match (
                a.recv(Duration::from_secs(5)),
                b.recv(Duration::from_secs(5)),
            ) {
                (Recv::Message(x), Recv::Message(y)) => {
                    got.0.push(x);
                    got.1.push(y);
                }
                (Recv::Closed, Recv::Closed) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        producer.join().unwrap();
        assert_eq!(got.0.len(), 5);
        assert_eq!(got.1.len(), 5);
    }
}
