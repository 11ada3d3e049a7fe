"""The reference for the Kafka bench: librdkafka driven from Python (confluent-kafka), the
client seismologists' scripts use. Produces N 512-byte messages keyed by 24 stream ids with an
idempotent producer, then consumes them in a fresh group (timed from the first message, as the
Rust bench is). Prints records/s."""
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

broker, n = sys.argv[1], int(sys.argv[2])
topic = "pybench-" + uuid.uuid4().hex[:8]
admin = AdminClient({"bootstrap.servers": broker})
admin.create_topics([NewTopic(topic, 4, 1)])[topic].result()
p = Producer({"bootstrap.servers": broker, "enable.idempotence": True, "linger.ms": 5})
payload = bytes(512)
t0 = time.perf_counter()
for i in range(n):
    while True:
        try:
            p.produce(topic, key=f"XX.S{i % 24:03d}", value=payload)
            break
        except BufferError:
            p.poll(0.01)
    p.poll(0)
p.flush(120)
produce = n / (time.perf_counter() - t0)
c = Consumer({"bootstrap.servers": broker, "group.id": topic, "auto.offset.reset": "earliest"})
c.subscribe([topic])
got, t1 = 0, None
while got < n:
    for m in c.consume(1000, 1.0):
        if m.error():
            continue
        t1 = t1 or time.perf_counter()
        got += 1
consume = got / (time.perf_counter() - t1)
print(f"confluent-kafka: produce {produce:.0f} records/s, consume {consume:.0f} records/s")
