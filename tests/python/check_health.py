"""Recomputes the `channel_health` windows with NumPy from the stored samples.

Usage: check_health.py RAW_ZARR BAND_ZARR RMS_ZARR ENERGY_ZARR DEAD_ZARR WINDOW_S
Every (channel, window) of the RMS store against the demeaned RMS of the raw samples whose
times fall in the window, of the energy store against the mean square of the band-passed
samples, and the dead flags (none of these channels is dead). Prints a JSON summary.
"""
import json
import sys

import numpy as np
import xarray as xr


def first_var(path):
    ds = xr.open_zarr(path)
    name = [v for v in ds.data_vars][0]
    return ds[name].load()


def main():
    raw, band, rms, energy, dead = (first_var(p) for p in sys.argv[1:6])
    window = np.timedelta64(int(sys.argv[6]), "s")
    out = {"windows": 0, "channels": int(rms.sizes["channel"]), "max_rel_rms": 0.0,
           "max_rel_energy": 0.0, "nan_windows": 0, "dead": 0,
           "same_channels": bool((rms["channel"].values == raw["channel"].values).all())}
    rt = raw["time"].values
    bt = band["time"].values
    for k, t0 in enumerate(rms["time"].values):
        sel = (rt >= t0) & (rt < t0 + window)
        x = raw.values[:, sel].astype(np.float64)
        y = band.values[:, (bt >= t0) & (bt < t0 + window)].astype(np.float64)
        got = rms.values[:, k]
        if np.isnan(got).all():
            out["nan_windows"] += 1
            continue
        out["windows"] += 1
        want = np.sqrt(((x - x.mean(axis=1, keepdims=True)) ** 2).mean(axis=1))
        out["max_rel_rms"] = max(out["max_rel_rms"], float(np.max(np.abs(got - want) / want)))
        e = energy.sel(time=t0).values
        want_e = (y ** 2).mean(axis=1)
        out["max_rel_energy"] = max(out["max_rel_energy"],
                                    float(np.max(np.abs(e - want_e) / want_e)))
        out["dead"] += int(np.nansum(dead.sel(time=t0).values))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
