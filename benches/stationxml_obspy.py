"""ObsPy's read_inventory on the network-scale StationXML that `cargo bench --bench
stationxml` writes (target/bench-data/stationxml_network.xml): best of N reads, as MB/s and
channel epochs/s, for benches/compare_stationxml.sh."""
import os
import sys
import time

from obspy import read_inventory

path = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
size = os.path.getsize(path)
best = None
for _ in range(repeats):
    t0 = time.perf_counter()
    inv = read_inventory(path, format="STATIONXML")
    dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)
epochs = sum(len(sta.channels) for net in inv for sta in net)
print(
    f"obspy read_inventory: {epochs} channel epochs, {size / 1e6:.1f} MB in {best:.2f} s: "
    f"{size / best / 1e6:.2f} MB/s, {epochs / best:.0f} channel epochs/s"
)
