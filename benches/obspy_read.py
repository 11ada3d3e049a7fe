"""Times ObsPy's obspy.read on a miniSEED file, the reference for the `mseed_decode` bench.

Usage: obspy_read.py FILE [REPEATS]
Prints the best and median samples per second over REPEATS reads (default 10).
"""
import statistics
import sys
import time

import obspy


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    obspy.read(path)  # warm the page cache and imports
    times = []
    samples = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        st = obspy.read(path, format="MSEED")
        times.append(time.perf_counter() - t0)
        samples = sum(tr.stats.npts for tr in st)
    best, median = min(times), statistics.median(times)
    print(f"obspy.read {path}: {samples} samples, best {best * 1e3:.2f} ms "
          f"({samples / best / 1e6:.1f} Msamples/s), median {median * 1e3:.2f} ms "
          f"({samples / median / 1e6:.1f} Msamples/s)")


if __name__ == "__main__":
    main()
