#!/usr/bin/env bash
# Runs a pipeline on a fresh machine: installs what the build links against (the HDF5 C
# library for the DAS readers; OpenSSL headers and zlib for librdkafka), then
# `cargo run --release -- run PIPELINE [ARGS...]`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh
missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
exec cargo run --release -- run "$@"
