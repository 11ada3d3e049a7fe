"""Checks a DAS Zarr store written by seisreduce from rolling interrogator files.

usage: check_das_zarr.py STORE SPEC_JSON

SPEC: {"t0_ns", "rate_hz" (output rate), "freq_hz", "amplitudes" [per channel],
"distances" [m], "segments" [[start_ns, end_ns], ...] (where data must be), "margin_s",
"gauge_length_m", "format"}. The channels carry A_c * sin(2 pi f (t - t0)); after anti-alias
decimation the stored values must still be that sine (the passband is flat) at the stored
times, inside every segment (away from its edges by margin_s), and NaN between segments.
Prints a JSON summary.
"""

import json
import sys

import numpy as np
import xarray as xr
import zarr

store, spec = sys.argv[1], json.loads(sys.argv[2])
ds = xr.open_zarr(store)
name = [v for v in ds.data_vars][0]
da = ds[name]
assert da.dims == ("channel", "time"), da.dims
assert ds["time"].dtype == np.dtype("datetime64[ns]")
# The fibre view: distance as the dimension coordinate.
fibre = da.swap_dims(channel="distance")
assert fibre.dims == ("distance", "time"), fibre.dims
dist = fibre["distance"].values
assert np.allclose(dist, spec["distances"], rtol=0, atol=1e-9), (dist[:4], spec["distances"][:4])
assert ds.attrs["das"].get("gauge_length_m") == spec["gauge_length_m"], ds.attrs["das"]
assert ds.attrs["das"]["format"] == spec["format"], ds.attrs["das"]
times = ds["time"].values.astype("int64")
step = np.diff(times)
assert np.all(np.abs(step - 1e9 / spec["rate_hz"]) <= 1), "time axis not evenly spaced"
values = fibre.values
amps = np.array(spec["amplitudes"])
t0, f = spec["t0_ns"], spec["freq_hz"]
margin = int(spec["margin_s"] * 1e9)
checked = 0
worst = 0.0
inside_any = np.zeros(times.shape, bool)
for a, b in spec["segments"]:
    inside_any |= (times >= a) & (times < b)
    core = (times >= a + margin) & (times < b - margin)
    assert core.sum() > 0, (a, b)
    v = values[:, core]
    assert not np.isnan(v).any(), f"NaN inside segment {a}..{b}"
    want = amps[:, None] * np.sin(2 * np.pi * f * (times[core] - t0) / 1e9)[None, :]
    err = np.max(np.abs(v - want) / amps[:, None])
    worst = max(worst, float(err))
    checked += v.size
# Between segments nothing may be stored.
between = (times >= spec["segments"][0][0]) & ~inside_any & (times < spec["segments"][-1][1])
assert np.isnan(values[:, between]).all(), "values stored inside a gap"
assert worst < spec.get("tolerance", 0.01), f"decimated sine off by {worst} of its amplitude"
print(json.dumps({"checked": int(checked), "worst_relative_error": worst,
                  "gap_samples": int(between.sum()), "channels": int(values.shape[0])}))
