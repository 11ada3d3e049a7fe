#!/usr/bin/env bash
# StationXML parse at network scale, seisreduce against ObsPy's read_inventory on the same
# bytes in the same run: the criterion bench `stationxml` writes the document (600 stations x
# 9 channel epochs with full responses, ~33 MB; SEISREDUCE_STATIONS to change) and times the
# parse, then ObsPy reads the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-python.sh >&2
cargo bench --bench stationxml -- --warm-up-time 2 --measurement-time 10 2>&1 \
  | grep -E "^stationxml|thrpt"
.venv/bin/python benches/stationxml_obspy.py target/bench-data/stationxml_network.xml 2
