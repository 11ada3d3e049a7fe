#!/usr/bin/env bash
# Station metadata against ObsPy in the same run: StationXML parse at network scale (the
# criterion bench `metadata` writes the document: 600 stations x 9 channel epochs with full
# responses, ~33 MB; SEISREDUCE_STATIONS to change) against read_inventory on the same bytes,
# and remove_response on an hour at 40 Hz against Trace.remove_response.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-hdf5.sh >&2
scripts/setup-python.sh >&2
cargo bench --bench metadata -- --warm-up-time 2 --measurement-time 10 2>&1 \
  | grep -E "^stationxml|^remove_response|thrpt|channel epochs"
.venv/bin/python benches/metadata_obspy.py target/bench-data/stationxml_network.xml 2
