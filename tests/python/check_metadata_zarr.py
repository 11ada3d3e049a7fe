"""Zarr products with station coordinates (tests/metadata_zarr.rs).

Arguments: STORE (written with the channel's StationXML), BARE (written with metadata that
lacks the channel), XML, PHYSICAL, COUNTS, MSEED. Opens both with xarray; the channel's latitude, longitude and
elevation must equal ObsPy's read_inventory of XML; BARE's are NaN and its samples equal
STORE's. PHYSICAL (through remove_sensitivity) holds m/s equal to ObsPy's
Trace.remove_sensitivity of MSEED with XML; COUNTS (remove_sensitivity without the
channel's metadata) holds STORE's counts. Prints a JSON summary.
"""
import json
import sys
import warnings

import numpy as np
import xarray as xr
from obspy import read, read_inventory

warnings.simplefilter("ignore")

store, bare, xml, physical, counts, mseed = sys.argv[1:7]
ds = xr.open_zarr(store)
db = xr.open_zarr(bare)
inv = read_inventory(xml)
cha = inv[0][0][0]
name = [v for v in ds.data_vars][0]
out = {
    "channels": int(ds.sizes["channel"]),
    "coords": sorted(ds.coords),
    "coordinates_equal_obspy": bool(
        float(ds.latitude[0]) == cha.latitude
        and float(ds.longitude[0]) == cha.longitude
        and float(ds.elevation[0]) == cha.elevation
    ),
    "latitude": float(ds.latitude[0]),
    "units": ds.latitude.attrs.get("units"),
    "bare_nan": bool(
        np.isnan(db.latitude.values).all()
        and np.isnan(db.longitude.values).all()
        and np.isnan(db.elevation.values).all()
    ),
    "bare_samples_equal": bool(np.array_equal(ds[name].values, db[name].values, equal_nan=True)),
}
dp = xr.open_zarr(physical)
dc = xr.open_zarr(counts)
tr = read(mseed).merge()[0]
tr.remove_sensitivity(read_inventory(xml))
pn = [v for v in dp.data_vars][0]
got = dp[pn].values[0].astype(np.float64)
want = tr.data.astype(np.float64)
n = min(len(got), len(want))
out["physical_units"] = dp[pn].attrs.get("units")
out["physical_vs_obspy"] = float(np.max(np.abs(got[:n] - want[:n])) / np.max(np.abs(want)))
out["counts_units"] = dc[pn].attrs.get("units")
out["counts_samples_equal"] = bool(
    np.array_equal(ds[name].values, dc[pn].values, equal_nan=True)
)
print(json.dumps(out))
