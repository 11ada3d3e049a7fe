"""ObsPy's SeedLink client on the latency bench's server: prints one JSON line of latencies.

Usage: seedlink_latency_obspy.py HOST:PORT COUNT

Each record's start time is the instant the server accepted it (the bench writes it so), so
receipt time minus start time is the latency from acceptance to ObsPy's `on_data`.
"""

import json
import sys
import time

from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection
from obspy.clients.seedlink.easyseedlink import EasySeedLinkClient

server, count = sys.argv[1], int(sys.argv[2])
lat = []


class Client(EasySeedLinkClient):
    def on_data(self, trace):
        lat.append(time.time() - trace.stats.starttime.timestamp)
        if len(lat) >= count:
            print(json.dumps({"latencies_s": lat}), flush=True)
            sys.exit(0)


c = Client(server, autoconnect=False)
# easyseedlink's own connection has no timeout, which its connect check cannot handle.
c.conn = SeedLinkConnection(timeout=10)
c.conn.set_sl_address(server)
c.connect()
c.select_stream("LT", "LAT", "HHZ")
print("ready", flush=True)
c.run()
