#!/usr/bin/env bash
# Station quality, seisreduce against ObsPy's MSEEDMetadata on the same file and windows in
# the same run: MSEEDMetadata timed on the realistic Steim2 file (benches/bench_file.sh) with
# hour windows, then the criterion bench `quality` on the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
FILE=$(benches/bench_file.sh)
.venv/bin/python benches/quality_obspy.py "$FILE" 3
SEISREDUCE_BENCH_FILE="$FILE" cargo bench --bench quality -- --warm-up-time 2 --measurement-time 5 quality 2>&1 \
  | grep -E "^quality|thrpt"
