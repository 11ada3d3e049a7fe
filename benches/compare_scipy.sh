#!/usr/bin/env bash
# Operators, seisreduce against SciPy on the same signal in the same run (one core each):
# SciPy's resample_poly / sosfilt / sosfiltfilt / detrend (benches/scipy_ops.py) before and after
# the criterion bench `ops` (benches/ops.rs), so that a change of machine load shows.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-python.sh
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
.venv/bin/python benches/scipy_ops.py
cargo bench --bench ops -- --warm-up-time 1 --measurement-time 4 "${1:-}" 2>&1 \
  | grep -E "^(decimate|das|filter)|thrpt|÷|kernel" | grep -vE "thrpt: +\[[+-]"
.venv/bin/python benches/scipy_ops.py
