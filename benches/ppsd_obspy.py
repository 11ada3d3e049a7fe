"""Times ObsPy's PPSD, the reference for the `ppsd` bench: every trace of FILE through
`PPSD(stats, paz).add(trace)` (hour segments, 50 % overlap, the STS-2 poles and zeros the
Rust bench uses), the file read once beforehand.

Usage: ppsd_obspy.py FILE [REPEATS]
Prints the best and median samples per second over REPEATS runs (default 3).
"""
import statistics
import sys
import time

import obspy
from obspy.signal import PPSD

PAZ = {
    "poles": [-0.037004 + 0.037016j, -0.037004 - 0.037016j, -251.33 + 0j,
              -131.04 - 467.29j, -131.04 + 467.29j],
    "zeros": [0j, 0j],
    "gain": 60077000.0,
    "sensitivity": 2516582400.0,
}


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    st = obspy.read(path)
    st.merge()
    samples = sum(tr.stats.npts for tr in st)
    times, segments = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        segments = 0
        for tr in st:
            ppsd = PPSD(tr.stats, metadata=PAZ)
            ppsd.add(tr)
            segments += len(ppsd.times_processed)
        times.append(time.perf_counter() - start)
    best, median = min(times), statistics.median(times)
    print(f"ObsPy PPSD {path}: {len(st)} channels, {samples} samples, {segments} segments: "
          f"best {samples / best / 1e6:.2f} M samples/s ({best:.2f} s), "
          f"median {samples / median / 1e6:.2f} M samples/s")


if __name__ == "__main__":
    main()
