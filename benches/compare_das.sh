#!/usr/bin/env bash
# seisreduce's DAS readers against h5py (and DASCore, npTDMS, segyio) reading the same files into the same float32
# (channel, time) arrays, in one run on this machine; then the sustained ingest of a
# synthetic 10,000-channel x 1 kHz interrogator stream (benches/das_ingest.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh
scripts/setup-python.sh
cargo bench --bench das_read 2>&1 | grep -E "^das_read/|thrpt:"
.venv/bin/python benches/das_read_h5py.py ../shared/test-data/das target/das-bench 10
cargo bench --bench das_ingest
# TDMS and SEG-Y against DASCore, npTDMS and segyio; the live ZeroMQ source against xdas's
# publisher.
cargo bench --bench das_layouts
cargo bench --bench das_live
