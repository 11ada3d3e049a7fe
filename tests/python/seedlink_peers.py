"""Third-party SeedLink clients against seisreduce's server.

Usage: seedlink_peers.py HOST:PORT OUT_DIR START END

- ObsPy's client (v3): `basic_client.Client.get_waveforms` for one channel in [START, END),
  its raw records captured as they arrive; `get_info` at station and channel level.
- EarthScope's seedlink-client, v3 and v4: a time window for several streams, every packet's
  payload (and station id and sequence) kept; `info()` at STREAMS level.

Writes OUT_DIR/{obspy_v3,slc_v3,slc_v4}.mseed (the records in the order received) and prints
one JSON summary line.
"""

import json
import sys
from pathlib import Path

from obspy import UTCDateTime
from obspy.clients.seedlink.basic_client import Client
from obspy.clients.seedlink.slpacket import SLPacket
from seedlink_client import SeedLink
from seedlink_client.protocol import Protocol

server, out, start, end = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
host, port = server.rsplit(":", 1)
summary = {}

# ObsPy: capture each data packet's record before ObsPy decodes it.
captured = []
orig = Client._fast_packet_handler


def capture(self, count, slpack):
    rec = getattr(slpack, "msrecord", None)
    if rec is not None and slpack.get_type() not in (SLPacket.TYPE_SLINF, SLPacket.TYPE_SLINFT):
        captured.append(bytes(rec))
    return orig(self, count, slpack)


Client._fast_packet_handler = capture
c = Client(host, int(port), timeout=20)
st = c.get_waveforms("XX", "S000", "00", "HHZ", UTCDateTime(start), UTCDateTime(end))
(out / "obspy_v3.mseed").write_bytes(b"".join(captured))
summary["obspy"] = {
    "traces": [f"{tr.id} {tr.stats.starttime} {tr.stats.npts}" for tr in st],
    "records": len(captured),
    "stations": sorted(f"{n}.{s}" for n, s in c.get_info(station="*", level="station")),
    "channels": len(c.get_info(network="XX", station="*", level="channel")),
}

# seedlink-client, both protocol versions.
for proto, station, selector in [("3", "XX_S001", "00HH?"), ("4", "XX_*", "*_H_H_Z")]:
    with SeedLink(host, int(port), protocol=Protocol(proto), timeout=20, idle_timeout=30) as sl:
        info = sl.info("STREAMS")
        sl.add_stream(station, selector)
        sl.set_timewindow(UTCDateTime(start).datetime, UTCDateTime(end).datetime)
        pkts = []
        for p in sl.collect(reconnect=False):
            pkts.append(p)
        (out / f"slc_v{proto}.mseed").write_bytes(b"".join(p.payload for p in pkts))
        summary[f"slc_v{proto}"] = {
            "protocol": sl.protocol.value,
            "packets": len(pkts),
            "stations": sorted({p.station_id for p in pkts}),
            "seq_increasing": all(
                a.seqnum < b.seqnum for a, b in zip(pkts, pkts[1:]) if a.station_id == b.station_id
            ),
            "info": info if isinstance(info, str) else json.dumps(info)[:2000],
        }

print(json.dumps(summary))
