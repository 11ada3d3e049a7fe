#!/usr/bin/env bash
# Installs s3s-fs, an S3-protocol server over a directory (crates.io), that the Zarr sink's
# object-storage test writes to on loopback. Idempotent: nothing to do when it is installed.
set -euo pipefail
if [ -x "$HOME/.cargo/bin/s3s-fs" ]; then
  exit 0
fi
echo "installing s3s-fs (S3 test server; ~2 minutes)..." >&2
# 0.14 is the newest release that builds with the stable toolchain here (0.15+ need Rust 1.96).
cargo install s3s-fs@0.14.0 --locked --features binary --quiet
