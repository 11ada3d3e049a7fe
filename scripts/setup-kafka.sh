#!/usr/bin/env bash
# What the Kafka tests need: the C toolchain pieces librdkafka's bundled build links against
# (OpenSSL headers, pkg-config, zlib), and tansu, a Kafka-protocol broker written in Rust that
# the tests start on loopback ports. Idempotent: does nothing when all are there.
# tansu is built from crates.io when missing (about 10 minutes on 2 cores, once per machine).
set -euo pipefail

missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages)..." >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# `setup-kafka.sh libs` stops here: the test script installs the system libraries first and
# builds the broker in the background while the project builds.
if [ "${1:-}" = "libs" ]; then
  exit 0
fi
TANSU_VERSION=0.6.0
if [ -n "${SEISREDUCE_TANSU:-}" ] && [ -x "$SEISREDUCE_TANSU" ]; then
  exit 0
fi
if command -v tansu >/dev/null || [ -x "$HOME/.cargo/bin/tansu" ]; then
  exit 0
fi
echo "installing tansu $TANSU_VERSION (Kafka-protocol broker for the tests; ~10 minutes)..." >&2
cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
