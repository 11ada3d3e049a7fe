#!/usr/bin/env bash
# PPSD, seisreduce against ObsPy's PPSD on the same file in the same run: three hours of six
# realistic 100 Hz channels (Steim2, from `seisreduce synth`), hour segments with 50 % overlap
# and the same STS-2 response; ObsPy timed first, then the criterion bench `ppsd`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-python.sh >&2
mkdir -p target/bench-data
FILE=target/bench-data/synthetic_6ch_3h_steim2.mseed
cargo build --release --quiet
./target/release/seisreduce synth --out "$FILE" --channels 6 --seconds 10800 --rate 100 \
  --encoding STEIM2 --record-length 512 >&2
.venv/bin/python benches/ppsd_obspy.py "$FILE" 3
SEISREDUCE_BENCH_FILE="$FILE" cargo bench --bench ppsd -- --warm-up-time 2 --measurement-time 10 ppsd 2>&1 \
  | grep -E "^ppsd|thrpt"
