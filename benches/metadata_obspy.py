"""ObsPy's side of benches/compare_metadata.sh: read_inventory on the network-scale
StationXML that `cargo bench --bench metadata` writes (target/bench-data/
stationxml_network.xml), and Trace.remove_response on an hour of IU.ANMO.00.BHZ at 40 Hz
(144,000 samples, defaults: VEL, water level 60, 5 % taper); best of N runs each."""
import os
import sys
import time

import numpy as np
from obspy import Trace, UTCDateTime, read_inventory

path = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def best(f, n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = f()
        times.append(time.perf_counter() - t0)
    return min(times), r


size = os.path.getsize(path)
dt, inv = best(lambda: read_inventory(path, format="STATIONXML"), repeats)
epochs = sum(len(sta.channels) for net in inv for sta in net)
print(
    f"obspy read_inventory: {epochs} channel epochs, {size / 1e6:.1f} MB in {dt:.2f} s: "
    f"{size / dt / 1e6:.2f} MB/s, {epochs / dt:.0f} channel epochs/s"
)

anmo = read_inventory(
    os.path.join(os.path.dirname(__file__), "..", "test-data/stationxml/IU_ANMO_BH.xml")
)
rng = np.random.default_rng(1)
data = (rng.random(144_000) - 0.5) * 1e4


def remove():
    tr = Trace(data=data.copy())
    tr.stats.network, tr.stats.station = "IU", "ANMO"
    tr.stats.location, tr.stats.channel = "00", "BHZ"
    tr.stats.sampling_rate = 40.0
    tr.stats.starttime = UTCDateTime(2014, 1, 1)
    tr.remove_response(inventory=anmo, output="VEL")
    return tr


dt, _ = best(remove, 5)
print(f"obspy remove_response: 144000 samples in {dt * 1e3:.1f} ms: {144000 / dt / 1e6:.2f} M samples/s")
