#!/usr/bin/env bash
# seisreduce's Zarr sink against zarr-python 3 writing the same 1000 x 65536 float32 array (the
# same bytes, chunks, shards and codec), in one run on this machine. Prints both, per codec.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-python.sh
cargo bench --bench zarr 2>&1 | grep -E "MB/s|compression|input for|time:|codec alone" 
input=$(ls target/tmp/zarr-bench-input.f32)
for codec in zstd blosc pcodec; do
  .venv/bin/python benches/zarr_python_write.py "$input" 1000 "$codec" 3
done
