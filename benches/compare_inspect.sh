#!/usr/bin/env bash
# miniSEED decoding as a user meets it: `seisreduce inspect` on a folder of ten hour-long
# 24-channel Steim2 files (100 Hz, 512-byte records), the whole process from start to exit,
# against ObsPy reading the same files in a warm Python (imports done, page cache warm), in one
# run on this machine. Prints samples per second for each and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-python.sh
cargo build --release --quiet
dir=target/bench-data/inspect-10x24ch-1h
mkdir -p "$dir"
for i in $(seq 0 9); do
  f="$dir/synthetic_$i.mseed"
  # Ten files of different lengths, so that no two are byte-identical.
  [ -f "$f" ] || ./target/release/seisreduce synth --out "$f" --channels 24 --seconds $((3600 + i)) \
    --rate 100 --encoding STEIM2 --record-length 512 >/dev/null
done
.venv/bin/python benches/inspect_compare.py ./target/release/seisreduce "$dir" 7
