#!/usr/bin/env bash
# Ambient-noise correlation, seisreduce against NoisePy on the same workload in the same run,
# one core each: NoisePy (benches/xcorr_noisepy.py) before and after the criterion bench
# `xcorr` on one thread (benches/xcorr.rs), so that a change of machine load shows; then the
# DAS virtual-source bench on all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-python.sh
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
.venv/bin/python benches/xcorr_noisepy.py
RAYON_NUM_THREADS=1 cargo bench --bench xcorr -- --warm-up-time 1 --measurement-time 5 network 2>&1 \
  | grep -E "^xcorr/|time:|pair-windows" | grep -vE "change|time: +\[[+-]"
.venv/bin/python benches/xcorr_noisepy.py
cargo bench --bench xcorr -- --warm-up-time 1 --measurement-time 5 das 2>&1 \
  | grep -E "^xcorr/|time:|thrpt:" | grep -vE "time: +\[[+-]|thrpt: +\[[+-]"
