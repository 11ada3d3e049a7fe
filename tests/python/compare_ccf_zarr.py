"""Compares two correlation stores pair by pair (pairs may be in another order), as xarray
opens them; prints JSON: per product the pairs in each, the times, and the largest
difference relative to the product's peak."""

import json
import sys

import numpy as np
import xarray as xr
import zarr

a_path, b_path = sys.argv[1], sys.argv[2]
out = {}
for name in zarr.open_group(a_path, mode="r").attrs["products"]:
    a = xr.open_zarr(a_path, group=name)
    b = xr.open_zarr(b_path, group=name)
    key = lambda ds: {f"{s}|{r}": i for i, (s, r) in enumerate(zip(ds["source"].values, ds["receiver"].values))}
    ka, kb = key(a), key(b)
    diff = 0.0
    peak = float(np.nanmax(np.abs(a["ccf"].values)))
    for k, i in ka.items():
        if k not in kb:
            continue
        x = a["ccf"].isel(pair=i).values
        y = b["ccf"].isel(pair=kb[k]).values
        diff = max(diff, float(np.nanmax(np.abs(x - y))))
    out[name] = {
        "pairs_a": sorted(ka),
        "pairs_b": sorted(kb),
        "times_a": [str(t) for t in a["time"].values],
        "times_b": [str(t) for t in b["time"].values],
        "windows_equal": bool(
            all((a["windows"].isel(pair=i).values == b["windows"].isel(pair=kb[k]).values).all() for k, i in ka.items() if k in kb)
        ),
        "max_rel_diff": diff / peak,
    }
print(json.dumps(out))
