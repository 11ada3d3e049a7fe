"""Times ObsPy's MSEEDMetadata (obspy.signal.quality_control), the reference for the `quality`
bench: the file split into one file per stream (MSEEDMetadata takes one stream), then every
stream's metrics with header flags on each UTC hour the data touch.

Usage: quality_obspy.py FILE [REPEATS]
Prints the best and median samples per second over REPEATS runs (default 3).
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

import obspy
from obspy.signal.quality_control import MSEEDMetadata


def split(path, out):
    """One file per stream, records as they are."""
    files = {}
    for tr in obspy.read(path, headonly=True):
        files.setdefault(tr.id, out / f"{tr.id}.mseed")
    st = obspy.read(path)
    for sid, f in files.items():
        st.select(id=sid).write(str(f), format="MSEED", encoding="STEIM2", reclen=512)
    return files, st


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        files, st = split(path, Path(tmp))
        samples = sum(tr.stats.npts for tr in st)
        t0 = min(tr.stats.starttime for tr in st)
        t1 = max(tr.stats.endtime for tr in st)
        hours = []
        h = obspy.UTCDateTime(int(t0.timestamp // 3600 * 3600))
        while h <= t1:
            hours.append(h)
            h += 3600
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for f in files.values():
                for h in hours:
                    MSEEDMetadata([str(f)], starttime=h, endtime=h + 3600, add_flags=True)
            times.append(time.perf_counter() - start)
    best, median = min(times), statistics.median(times)
    print(f"MSEEDMetadata {path}: {len(files)} streams x {len(hours)} hour windows, {samples} "
          f"samples, best {best:.2f} s ({samples / best / 1e6:.2f} Msamples/s), median "
          f"{median:.2f} s ({samples / median / 1e6:.2f} Msamples/s)")


if __name__ == "__main__":
    main()
