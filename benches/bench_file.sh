#!/usr/bin/env bash
# The realistic Steim2 file the decode and quality comparisons time both tools on (1 h,
# 24 channels, 100 Hz, 512-byte records, from `seisreduce synth`), with the reference
# readers installed: prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-python.sh >&2
mkdir -p target/bench-data
FILE=target/bench-data/synthetic_24ch_1h_steim2.mseed
cargo build --release --quiet
./target/release/seisreduce synth --out "$FILE" --channels 24 --seconds 3600 --rate 100 \
  --encoding STEIM2 --record-length 512 >&2
echo "$FILE"
