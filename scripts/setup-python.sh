#!/usr/bin/env bash
# Creates .venv/ with the reference readers the tests compare against (ObsPy, pymseed, NumPy,
# SciPy, DASCore, xdas, NoisePy), and .venv-fdsnws with a real FDSN dataselect server.
# Idempotent: does nothing when they are already importable. Uses pip's cache when present.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# EarthScope's FDSN dataselect server wants pymseed < 1 and the readers want pymseed 1: the
# server gets a venv of its own (.venv-fdsnws), used only to serve an archive in the tests.
if ! .venv-fdsnws/bin/python -c "import portable_fdsnws_dataselect" 2>/dev/null; then
  echo "setting up .venv-fdsnws with portable-fdsnws-dataselect..." >&2
  "$PY" -m venv .venv-fdsnws
  .venv-fdsnws/bin/python -m pip install --quiet -r scripts/requirements-fdsnws.txt
fi
if [ -x .venv/bin/python ] && .venv/bin/python -c "import obspy, pymseed, seedlink_client, numpy, scipy, zarr, xarray, dask, pcodec, pandas, pyarrow, h5py, yaml, dascore, segyio, nptdms, xdas, zmq, pystac, jsonschema, xstac, intake, intake_xarray, jinja2; from noisepy.seis import correlate" 2>/dev/null; then
  exit 0
fi
echo "setting up .venv with the reference readers (obspy, pymseed)..." >&2
"$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r scripts/requirements-test.txt
# NoisePy pins old NumPy/SciPy/zarr and Python < 3.11 in its metadata, but its correlation
# code runs on today's: installed without its pins (the imports it needs are in the file above).
.venv/bin/python -m pip install --quiet --no-deps --ignore-requires-python -r scripts/requirements-noisepy.txt
.venv/bin/python -c "import obspy, pymseed; print('obspy', obspy.__version__, 'pymseed', pymseed.__version__)" >&2
