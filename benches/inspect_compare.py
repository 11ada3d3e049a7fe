"""`seisreduce inspect DIR` (whole process) against ObsPy reading the same files in-process.

Usage: inspect_compare.py SEISREDUCE DIR [REPEATS]; run by benches/compare_inspect.sh.
Both best of REPEATS; ObsPy's imports and the page cache are warm before timing, as for a user
in a notebook; seisreduce is timed from process start to exit, output discarded.
"""
import glob
import subprocess
import sys
import time

import obspy


def main():
    binary, folder = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    files = sorted(glob.glob(f"{folder}/*.mseed"))
    samples = sum(tr.stats.npts for f in files for tr in obspy.read(f))
    obspy_times, ours = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for f in files:
            obspy.read(f, format="MSEED")
        obspy_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([binary, "inspect", folder], check=True, stdout=subprocess.DEVNULL)
        ours.append(time.perf_counter() - t0)
    o, s = min(obspy_times), min(ours)
    print(f"{len(files)} files, {samples / 1e6:.1f} M samples")
    print(f"seisreduce inspect (whole process): {s * 1e3:.0f} ms = {samples / s / 1e6:.0f} M samples/s")
    print(f"obspy.read, each file, warm Python: {o * 1e3:.0f} ms = {samples / o / 1e6:.0f} M samples/s")
    print(f"ratio: {o / s:.1f}x")


if __name__ == "__main__":
    main()
