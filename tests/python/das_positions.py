"""Prints a Zarr store's channel ids, fibre positions and data dims as JSON (xarray)."""

import json
import sys

import xarray as xr

ds = xr.open_zarr(sys.argv[1])
da = ds[list(ds.data_vars)[0]]
print(json.dumps({
    "channel": [str(c) for c in ds["channel"].values],
    "distance": [float(d) for d in ds["distance"].values],
    "time_dims": list(da.dims),
}))
