"""Compares seisreduce's `ppsd` rows with ObsPy's PPSD on the same data.

Usage:
  check_ppsd.py compare MSEED_DIR_OR_FILE TABLES_DIR PAZ_JSON|STATIONXML ZARR
      every channel read with ObsPy from the first segment time seisreduce used (its segments
      start on the step grid; ObsPy's at the trace start), PPSD(stats, paz).add(trace), and
      its segments (times, smoothed values) and the noise-model shares compared with the
      `ppsd` table read with pandas, and each UTC day's histogram with the one ObsPy stacks
      for that day (`calculate_histogram(starttime, endtime)`), read with xarray from ZARR.
      Prints a JSON summary.
  check_ppsd.py models
      ObsPy's NLNM and NHNM tables as JSON: {"periods": [...], "nlnm": [...], "nhnm": [...]}.
"""
import json
import sys
from pathlib import Path

import numpy as np


def models():
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm
    p, lo = get_nlnm()
    p2, hi = get_nhnm()
    assert np.array_equal(p, p2)
    print(json.dumps({"periods": p.tolist(), "nlnm": lo.tolist(), "nhnm": hi.tolist()}))


def share_outside(centers, values):
    """Percent of bins (centres in 0.1-1e5 s, finite) above NHNM and below NLNM, with ObsPy's
    model tables interpolated in log period."""
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm
    p, lo = get_nlnm()
    _, hi = get_nhnm()
    order = np.argsort(p)
    lp = np.log10(p[order])
    c = np.asarray(centers)
    v = np.asarray(values, dtype=np.float64)
    keep = (c >= 0.1) & (c <= 1e5) & np.isfinite(v)
    lc = np.log10(c[keep])
    hi_c = np.interp(lc, lp, hi[order])
    lo_c = np.interp(lc, lp, lo[order])
    n = keep.sum()
    return 100.0 * (v[keep] > hi_c).sum() / n, 100.0 * (v[keep] < lo_c).sum() / n, n


def compare(mseed, tables, paz_json, zarr):
    import obspy
    import pandas as pd
    import xarray as xr
    from obspy.signal import PPSD

    if paz_json.endswith(".xml"):
        # Station metadata: ObsPy evaluates each channel's full response.
        paz = obspy.read_inventory(paz_json)
    else:
        paz = json.loads(Path(paz_json).read_text())
        paz = {
            "poles": [complex(*p) for p in paz["poles"]],
            "zeros": [complex(*z) for z in paz["zeros"]],
            "gain": paz["normalization"],
            "sensitivity": paz["sensitivity"],
        }
    path = Path(mseed)
    files = (sorted(p for p in path.rglob("*") if p.is_file() and ".seisreduce" not in p.parts)
             if path.is_dir() else [path])
    st = obspy.Stream()
    for f in files:
        st += obspy.read(str(f))
    st.merge(fill_value=0)
    df = pd.read_parquet(Path(tables) / "ppsd")
    out = {"channels": 0, "segments": 0, "obspy_segments": 0, "max_db_diff": 0.0,
           "nan_mismatches": 0, "time_mismatches": 0, "share_diff_bins": 0.0,
           "histogram_mismatches": 0, "histogram_days": 0, "probability_max_diff": 0.0}
    for tr in st:
        rows = df[df["stream"] == tr.id].sort_values("window_start")
        if rows.empty:
            continue
        out["channels"] += 1
        first = obspy.UTCDateTime(rows["window_start"].iloc[0].value / 1e9)
        tr = tr.copy().trim(starttime=first)
        ppsd = PPSD(tr.stats, metadata=paz)
        ppsd.add(tr)
        ours = np.vstack(rows["psd_db"].to_numpy())
        theirs = np.asarray(ppsd.psd_values)
        out["segments"] += len(rows)
        out["obspy_segments"] += len(theirs)
        if len(rows) != len(theirs):
            continue
        centers = np.asarray(rows["period_s"].iloc[0])
        assert np.allclose(centers, ppsd.period_bin_centers, rtol=1e-12), "period bins differ"
        # ObsPy labels a segment with its first sample; ours with the grid time before it.
        delta = tr.stats.delta
        for t_ours, t_obspy in zip(rows["window_start"], ppsd.times_processed):
            d = t_obspy.timestamp - t_ours.value / 1e9
            if not (0 <= d < delta):
                out["time_mismatches"] += 1
        nan_o, nan_t = np.isnan(ours), np.isnan(theirs)
        out["nan_mismatches"] += int((nan_o != nan_t).sum())
        both = ~nan_o & ~nan_t
        out["max_db_diff"] = max(out["max_db_diff"], float(np.abs(ours[both] - theirs[both]).max()))
        # each day's histogram, as ObsPy stacks it, against the Zarr store
        ds = xr.open_zarr(zarr, group=tr.id, consolidated=True)
        for i, day in enumerate(ds["day"].values):
            t0 = obspy.UTCDateTime(str(day))
            ppsd.calculate_histogram(starttime=t0, endtime=t0 + 86400 - 1e-6)
            hist = ppsd.current_histogram
            counts = ds["counts"].isel(day=i).values
            out["histogram_days"] += 1
            out["histogram_mismatches"] += int((counts != hist).sum())
            n = int(ds["segments"].isel(day=i))
            assert n == ppsd.current_histogram_count, (n, ppsd.current_histogram_count)
            prob = ds["probability"].isel(day=i).values
            diff = float(np.abs(prob - hist / n).max())
            out["probability_max_diff"] = max(out["probability_max_diff"], diff)
            assert np.allclose(ds["db"].values, ppsd.db_bin_centers)
            assert np.allclose(ds["period"].values, ppsd.period_bin_centers, rtol=1e-12)
        # the noise-model shares against ObsPy's model tables
        for (_, r), v in zip(rows.iterrows(), theirs):
            above, below, n = share_outside(centers, v)
            step = 100.0 / n
            diff = max(abs(above - r["pct_above_nhnm"]), abs(below - r["pct_below_nlnm"]))
            out["share_diff_bins"] = max(out["share_diff_bins"], diff / step)
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "models":
        models()
    else:
        compare(*sys.argv[2:6])
