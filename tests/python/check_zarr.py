"""Checks a seisreduce Zarr store with the reference readers (zarr-python 3, xarray, Dask, ObsPy).

usage: check_zarr.py STORE MSEED [--keepbits N] [--parquet DIR] [--partial]

Every sample of every trace ObsPy reads from MSEED must be in the store: at a `time` equal to
the sample's time to the nanosecond, with the same value (exactly, or within the bitround bound),
and nothing else may be there (all other cells NaN). Gaps ObsPy finds must be listed in the
array's `gaps` attribute (and in the Parquet gap table when given). With --partial (a store
whose writer was killed), the store must open and what it holds must be right, but it may hold
less. Prints a JSON summary.
"""

import argparse
import json
from fractions import Fraction

import numpy as np
import obspy
import pandas as pd
import xarray as xr
import zarr


def fdsn_id(seed_id):
    net, sta, loc, cha = seed_id.split(".")
    if len(cha) == 3:
        cha = "_".join(cha)
    return f"FDSN:{net}_{sta}_{loc}_{cha}"


def sample_times(start_ns, n, rate):
    period = Fraction(10**9) / Fraction(rate)
    if period.denominator == 1:
        return start_ns + np.arange(n, dtype=np.int64) * int(period)
    return np.array([start_ns + round(i * period) for i in range(n)], dtype=np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("mseed")
    ap.add_argument("--keepbits", type=int)
    ap.add_argument("--parquet")
    ap.add_argument("--partial", action="store_true")
    a = ap.parse_args()

    group = zarr.open_group(a.store, mode="r")
    assert group.metadata.consolidated_metadata is not None, "no consolidated metadata"
    ds = xr.open_zarr(a.store)  # consolidated by default
    names = [v for v in ds.data_vars]
    assert len(names) == 1, names
    var = ds[names[0]]
    assert var.dims == ("channel", "time"), var.dims
    assert ds.time.dtype == np.dtype("datetime64[ns]"), ds.time.dtype
    for c in ("channel", "distance", "time_offset"):
        assert c in ds.coords, f"coordinate {c} missing"
    assert ds.attrs["Conventions"].startswith("CF-")
    assert "pipeline_sha256" in ds.attrs and "stages" in ds.attrs
    times = ds.time.values.astype("int64")
    assert np.all(np.diff(times) > 0), "time not increasing"
    values = var.values
    channels = list(ds.channel.values)

    st = obspy.read(a.mseed)
    covered = 0
    for tr in st:
        if a.partial and fdsn_id(tr.id) not in channels:
            continue
        row = channels.index(fdsn_id(tr.id))
        want_t = sample_times(tr.stats.starttime.ns, tr.stats.npts, tr.stats.sampling_rate)
        i0 = int(np.searchsorted(times, want_t[0]))
        got_t = times[i0 : i0 + len(want_t)]
        want = tr.data.astype(np.float32)
        if a.partial:
            want_t, want = want_t[: len(got_t)], want[: len(got_t)]
        assert np.array_equal(got_t, want_t), f"{tr.id}: times differ from ObsPy's"
        got = values[row, i0 : i0 + len(want_t)]
        if a.partial:
            held = ~np.isnan(got)
            got, want = got[held], want[held]
        if a.keepbits is None:
            bad = np.flatnonzero(got != want)
            assert bad.size == 0, (
                f"{tr.id}: {bad.size} values differ, first at sample {bad[0]} of the trace "
                f"(store {got[bad[0]]}, ObsPy {want[bad[0]]}), partial={a.partial}, row {row}")
        else:
            bound = np.abs(want) * 2.0 ** -(a.keepbits) + 1e-30
            assert np.all(np.abs(got - want) <= bound), f"{tr.id}: beyond bitround bound"
        covered += len(want)
    stored = int(np.count_nonzero(~np.isnan(values)))
    if a.partial:
        assert stored == covered, f"{stored} samples stored, {covered} of them match ObsPy's"
        print(json.dumps({"channels": len(channels), "time": len(times), "samples": stored}))
        return
    assert stored == covered, f"{stored} samples stored, {covered} read by ObsPy"

    # ObsPy's gaps (per channel, between consecutive traces) against the gaps attribute.
    obspy_gaps = [g for g in st.get_gaps() if g[6] > 0]
    listed = var.attrs.get("gaps", [])
    assert len(listed) == len(obspy_gaps), (listed, obspy_gaps)
    for g, l in zip(sorted(obspy_gaps, key=lambda g: g[4]), sorted(listed, key=lambda l: l["start_ns"])):
        assert l["channel"] == fdsn_id(".".join(g[:4]))
        # ObsPy gives the last sample before and the first after; the list gives the missing span.
        assert abs(l["start_ns"] - (g[4].ns + round(1e9 / st[0].stats.sampling_rate))) <= 1
        assert l["end_ns"] == g[5].ns
    if a.parquet:
        gaps = pd.read_parquet(f"{a.parquet}/gaps.parquet")
        gaps = gaps[gaps.kind == "gap"].sort_values("start")
        assert len(gaps) == len(obspy_gaps), gaps
        for (_, row), g in zip(gaps.iterrows(), sorted(obspy_gaps, key=lambda g: g[4])):
            assert row.end.value == g[5].ns, (row, g)
        avail = pd.read_parquet(f"{a.parquet}/availability.parquet")
        assert int(avail.samples.sum()) == sum(tr.stats.npts for tr in st), avail

    # Dask chunks on the shards: each block is one stored object.
    shards = var.encoding.get("shards") or var.encoding["chunks"]
    dsk = xr.open_zarr(a.store, chunks=dict(zip(var.dims, shards)))[names[0]]
    for axis, size in enumerate(shards):
        blocks = dsk.chunks[axis]
        assert all(b == size for b in blocks[:-1]), (axis, blocks, shards)
    total = float(np.nansum(dsk.data.compute()))
    assert np.isclose(total, float(np.nansum(values)), rtol=1e-6)

    print(json.dumps({
        "channels": len(channels),
        "time": len(times),
        "samples": covered,
        "gaps": len(listed),
        "shards": list(shards),
        "codecs": str(var.encoding.get("compressors") or var.encoding.get("serializer")),
    }))


if __name__ == "__main__":
    main()
