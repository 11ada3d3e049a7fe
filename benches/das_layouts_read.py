"""Makes a TDMS file (Silixa's example, its data repeated) and a SEG-Y file (DASCore's
writer through segyio, float32), then times the Python readers people use on them, each
into a float32 (channel, time) array (what a pipeline gets): DASCore (`dc.spool(path)[0]`),
npTDMS (`TdmsFile.read`, channels stacked) and segyio (`segyio.tools.collect`). Prints one
JSON line: the files and the median seconds of RUNS reads per reader.

usage: das_layouts_read.py OUT_DIR CHANNELS SECONDS RUNS SILIXA_TDMS
"""

import json
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import dascore as dc  # noqa: E402
import segyio  # noqa: E402
from nptdms import TdmsFile  # noqa: E402

out, nch, seconds, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
rate = 1000
rng = np.random.default_rng(3)
data = rng.integers(-2000, 2000, (seconds * rate, nch)).astype(np.int16)

# TDMS: DASCore reads Silixa's files only, so the file is Silixa's own example with its
# whole data chunks repeated (its lead-in's segment length updated): the same metadata and
# layout, `seconds` long.
silixa = sys.argv[5]
with open(silixa, "rb") as fh:
    raw = fh.read()
raw_off = int.from_bytes(raw[20:28], "little")
start = 28 + raw_off
sizes = {1: 1, 2: 2, 3: 4, 4: 8, 5: 1, 6: 2, 7: 4, 8: 8, 9: 4, 10: 8, 0x21: 1, 0x44: 16}


def chunk_values(meta):
    """Values per channel per chunk, from the segment's objects (TDMS metadata)."""
    at, n = 4, int.from_bytes(meta[:4], "little")
    per = None
    for _ in range(n):
        ln = int.from_bytes(meta[at:at + 4], "little"); at += 4 + ln
        idx = int.from_bytes(meta[at:at + 4], "little"); at += 4
        if idx not in (0, 0xFFFFFFFF):
            code = int.from_bytes(meta[at:at + 4], "little")
            per = int.from_bytes(meta[at + 8:at + 16], "little")
            at += 16 + (8 if code == 0x20 else 0)
        props = int.from_bytes(meta[at:at + 4], "little"); at += 4
        for _ in range(props):
            ln = int.from_bytes(meta[at:at + 4], "little"); at += 4 + ln
            code = int.from_bytes(meta[at:at + 4], "little"); at += 4
            if code == 0x20:
                at += 4 + int.from_bytes(meta[at:at + 4], "little")
            else:
                at += sizes[code]
    return n - 2, per


channels, per = chunk_values(raw[28:start])
chunk = channels * per * 2
whole = raw[start:start + chunk * ((len(raw) - start) // chunk)]
copies = max(1, round(seconds * rate / (len(whole) // (channels * 2))))
tdms = os.path.join(out, f"bench_silixa_x{copies}.tdms")
body = whole * copies
with open(tdms, "wb") as fh:
    fh.write(raw[:12] + (raw_off + len(body)).to_bytes(8, "little") + raw[20:start] + body)
tdms_channels, tdms_rows = channels, len(body) // (channels * 2)

segy = os.path.join(out, f"bench_{nch}ch.sgy")
patch = dc.Patch(
    data=data.T.astype(np.float32),
    coords={"channel": np.arange(nch),
            "time": np.datetime64("2024-01-01T00:00:00") + np.arange(seconds * rate) * np.timedelta64(1, "ms")},
    dims=("channel", "time"),
)
patch.io.write(segy, "segy")


def median_time(fn, shape):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        a = fn()
        times.append(time.perf_counter() - t)
        assert a.shape == shape, a.shape
    return float(np.median(times))


def dascore_tdms():
    p = dc.spool(tdms)[0]
    return np.ascontiguousarray(p.transpose("distance", "time").data.astype(np.float32))


def nptdms():
    f = TdmsFile.read(tdms)
    return np.stack([c[:].astype(np.float32) for c in f["Measurement"].channels()])


def dascore_segy():
    p = dc.spool(segy)[0]
    return np.ascontiguousarray(p.transpose("channel", "time").data.astype(np.float32))


def segyio_collect():
    with segyio.open(segy, ignore_geometry=True) as f:
        return np.ascontiguousarray(segyio.tools.collect(f.trace[:]))


print(json.dumps({
    "tdms": tdms, "segy": segy,
    "tdms_bytes": os.path.getsize(tdms), "segy_bytes": os.path.getsize(segy),
    "tdms_shape": [tdms_channels, tdms_rows], "segy_shape": [nch, seconds * rate],
    "dascore_tdms_s": median_time(dascore_tdms, (tdms_channels, tdms_rows)),
    "nptdms_s": median_time(nptdms, (tdms_channels, tdms_rows)),
    "dascore_segy_s": median_time(dascore_segy, (nch, seconds * rate)),
    "segyio_s": median_time(segyio_collect, (nch, seconds * rate)),
}))
