"""Opens a correlation store the way a seismologist would (xarray, consolidated metadata)
and prints what the test checks, as JSON: per product the dims, the lag axis, times,
pairs, and the lag of each pair's peak in the first linear stack."""

import json
import sys

import numpy as np
import xarray as xr
import zarr

path = sys.argv[1]
root = zarr.open_group(path, mode="r")
products = root.attrs["products"]
out = {"products": products}
for name in products:
    ds = xr.open_zarr(path, group=name)
    ccf = ds["ccf"]
    lag = ds["lag"].values
    k = (len(lag) - 1) // 2
    peaks = {}
    for p in range(ds.sizes["pair"]):
        row = ccf.isel(pair=p, time=0).values
        key = f'{ds["source"].values[p]}|{ds["receiver"].values[p]}'
        peaks[key] = float(lag[int(np.nanargmax(row))])
    out[name] = {
        "dims": list(ccf.dims),
        "dtype": str(ccf.dtype),
        "time_dtype": str(ds["time"].dtype),
        "times": [str(t) for t in ds["time"].values],
        "lag0": float(lag[k]),
        "lag_first": float(lag[0]),
        "lag_step": float(lag[1] - lag[0]),
        "lags_exact": bool(np.array_equal(lag, np.arange(-k, k + 1) / ds.attrs["lag_rate_hz"])),
        "pairs": ds.sizes["pair"],
        "coords": sorted(ds.coords),
        "windows": ds["windows"].values.tolist(),
        "peaks": peaks,
        "cc_len_s": ds.attrs["xcorr"]["cc_len_s"],
        "convention": ds.attrs["lag_convention"],
    }
print(json.dumps(out))
