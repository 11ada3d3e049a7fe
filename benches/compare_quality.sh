#!/usr/bin/env bash
# Station quality, seisreduce against ObsPy's MSEEDMetadata on the same file and windows in
# the same run: the realistic Steim2 file (1 h, 24 channels, 100 Hz, 512-byte records) from
# `seisreduce synth`, MSEEDMetadata timed on it, then the criterion bench `quality`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh
mkdir -p target/bench-data
FILE=target/bench-data/synthetic_24ch_1h_steim2.mseed
cargo build --release --quiet
./target/release/seisreduce synth --out "$FILE" --channels 24 --seconds 3600 --rate 100 --encoding STEIM2 --record-length 512
.venv/bin/python benches/quality_obspy.py "$FILE" 3
SEISREDUCE_BENCH_FILE="$FILE" cargo bench --bench quality -- --warm-up-time 2 --measurement-time 5 quality 2>&1 \
  | grep -E "^quality|thrpt"
