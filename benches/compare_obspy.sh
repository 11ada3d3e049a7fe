#!/usr/bin/env bash
# miniSEED decoding, seisreduce against ObsPy on the same file in the same run.
# Writes the realistic Steim2 file (1 h, 24 channels, 100 Hz) with `seisreduce synth`, times
# obspy.read on it, then runs the criterion bench `mseed_decode` on the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh
mkdir -p target/bench-data
FILE=target/bench-data/synthetic_24ch_1h_steim2.mseed
cargo build --release --quiet
./target/release/seisreduce synth --out "$FILE" --channels 24 --seconds 3600 --rate 100 --encoding STEIM2 --record-length 512
.venv/bin/python benches/obspy_read.py "$FILE" 15
SEISREDUCE_BENCH_FILE="$FILE" cargo bench --bench mseed_decode -- --warm-up-time 2 --measurement-time 5 mseed_decode 2>&1 \
  | grep -E "^mseed_decode|thrpt"
.venv/bin/python benches/obspy_read.py "$FILE" 15
