#!/usr/bin/env bash
# Kafka on loopback, seisreduce's bus against librdkafka from Python (confluent-kafka), in one
# run, each against a fresh tansu broker with in-memory storage.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-kafka.sh
scripts/setup-python.sh
.venv/bin/python -c "import confluent_kafka" 2>/dev/null || .venv/bin/python -m pip install --quiet confluent-kafka
TANSU=${SEISREDUCE_TANSU:-$(command -v tansu || echo "$HOME/.cargo/bin/tansu")}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$dir" && exec "$TANSU" broker --listener-url "tcp://127.0.0.1:$port" \
  --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine memory://tansu/ >/dev/null 2>&1) &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1
echo "== reference (same machine, same run)"
.venv/bin/python benches/kafka_python.py "127.0.0.1:$port" 8796
echo "== seisreduce"
cargo bench --bench bus -- kafka_loopback_memory 2>&1 | grep -E 'kafka_loopback_memory: produce' | tail -3
