"""The `remove_response` stage's Zarr product against ObsPy (tests/remove_response.rs).

Arguments: STORE MSEED XML WINDOW_S PAD_S. The stage cuts the stream into windows of
WINDOW_S, deconvolves each with PAD_S of its neighbours on both sides and keeps the centre:
ObsPy's Trace.remove_response (VEL, water level 60) is run on the same padded windows and
its centres are compared. Also reports the difference from remove_response on the whole
trace at once (not expected to be equal: that one depends on the whole trace's mean and
taper). Prints a JSON summary.
"""
import json
import sys
import warnings

import numpy as np
import xarray as xr
from obspy import read, read_inventory

warnings.simplefilter("ignore")

store, mseed, xml, window_s, pad_s = sys.argv[1:6]
inv = read_inventory(xml)
tr = read(mseed).merge()[0]
rate = tr.stats.sampling_rate
w, p = int(round(float(window_s) * rate)), int(round(float(pad_s) * rate))
x = tr.data.astype(np.float64)
n = len(x)
want = np.empty(n)
nxt = 0
while nxt < n:
    keep_to = nxt + w if nxt + w + p <= n else n
    a, b = max(nxt - p, 0), min(keep_to + p, n)
    t = tr.copy()
    t.data = x[a:b].copy()
    t.stats.starttime = tr.stats.starttime + a / rate
    t.remove_response(inventory=inv, output="VEL", water_level=60)
    want[nxt:keep_to] = t.data[nxt - a : keep_to - a]
    nxt = keep_to
ds = xr.open_zarr(store)
name = [v for v in ds.data_vars][0]
got = ds[name].values[0].astype(np.float64)
whole = tr.copy()
whole.data = x.copy()
whole.remove_response(inventory=inv, output="VEL", water_level=60)
peak = np.max(np.abs(want))
m = min(len(got), n)
print(
    json.dumps(
        {
            "samples": int(len(got)),
            "expected": int(n),
            "units": ds[name].attrs.get("units"),
            "windows_vs_obspy": float(np.max(np.abs(got[:m] - want[:m])) / peak),
            # Away from the trace's ends, where the whole-trace taper acts.
            "inner_vs_whole_trace": float(
                np.max(np.abs(got[p : m - p] - whole.data[p : m - p])) / peak
            ),
        }
    )
)
