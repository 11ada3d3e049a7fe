#!/usr/bin/env bash
# miniSEED decoding, seisreduce against ObsPy on the same file in the same run: obspy.read
# timed on the realistic Steim2 file (benches/bench_file.sh), then the criterion bench
# `mseed_decode` on the same file, then obspy.read again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
FILE=$(benches/bench_file.sh)
.venv/bin/python benches/obspy_read.py "$FILE" 15
SEISREDUCE_BENCH_FILE="$FILE" cargo bench --bench mseed_decode -- --warm-up-time 2 --measurement-time 5 mseed_decode 2>&1 \
  | grep -E "^mseed_decode|thrpt"
.venv/bin/python benches/obspy_read.py "$FILE" 15
