"""RSAM from seisreduce against NumPy: each window's value recomputed from the raw samples.

    check_rsam.py RAW_DIR RSAM_DIR WINDOW_S MIN_COVERAGE
    check_rsam.py served PORT RSAM_DIR
        Fetches every stream from the SeedLink server on 127.0.0.1:PORT with ObsPy's client
        and checks the values equal those archived in RSAM_DIR; prints each stream's last
        value (what its Prometheus gauge must show).
    check_rsam.py table TABLE_DIR RSAM_DIR
        Reads the `rsam` Parquet table with pandas: every row's value equals the archived
        stream's value of the same channel and window (null where it is NaN).

Reads both SDS archives with ObsPy; for each RSAM sample (a window starting at its time),
takes the raw samples whose times fall in the window and computes
`np.mean(np.abs(x - x.mean()))` in float64 (NaN below MIN_COVERAGE of the window's samples),
then compares with the stored float32 value. Prints a JSON summary.
"""

import json
import sys
from pathlib import Path

import numpy as np
import obspy


def read(folder):
    st = obspy.Stream()
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and not p.name.startswith(("_", ".")) and p.suffix != ".json":
            st += obspy.read(str(p))
    st.merge(method=0)
    return {tr.id: tr for tr in st}


def main():
    raw, rsam = read(sys.argv[1]), read(sys.argv[2])
    window, coverage = float(sys.argv[3]), float(sys.argv[4])
    bad, checked, nan = [], 0, 0
    for sid, tr in sorted(rsam.items()):
        r = raw[sid]
        rate = r.stats.sampling_rate
        x = np.ma.filled(r.data.astype(np.float64), np.nan)
        t_raw = r.stats.starttime.ns
        for k, got in enumerate(tr.data):
            t0 = tr.stats.starttime.ns + round(k * window * 1e9)
            i0 = max(0, int(np.ceil((t0 - t_raw) * rate / 1e9 - 1e-9)))
            i1 = max(0, int(np.ceil((t0 + window * 1e9 - t_raw) * rate / 1e9 - 1e-9)))
            w = x[i0:i1]
            w = w[~np.isnan(w)]
            want = np.mean(np.abs(w - w.mean())) if len(w) >= max(1, coverage * window * rate) \
                else np.nan
            checked += 1
            if np.isnan(want) or np.isnan(got):
                nan += int(np.isnan(want))
                if np.isnan(want) != np.isnan(got):
                    bad.append(f"{sid} window {k}: seisreduce {got}, NumPy {want}")
            elif abs(float(got) - want) > 2e-7 * abs(want):
                bad.append(f"{sid} window {k}: seisreduce {got}, NumPy {want}")
    print(json.dumps({"streams": len(rsam), "windows": checked, "nan_windows": nan,
                      "mismatches": len(bad), "first": bad[:20]}))
    return 1 if bad else 0


def served(port, folder):
    from obspy.clients.seedlink.basic_client import Client
    want = read(folder)
    client = Client("127.0.0.1", int(port), timeout=20)
    bad = []
    t0 = min(tr.stats.starttime for tr in want.values())
    t1 = max(tr.stats.endtime for tr in want.values()) + 1
    nets = {sid.split(".")[0] for sid in want}
    st = obspy.Stream()
    for n in nets:
        st += client.get_waveforms(n, "*", "*", "*", t0, t1)
    st.merge(method=0)
    served_ids = {tr.id: tr for tr in st}
    for sid, tr in sorted(want.items()):
        got = served_ids[sid].data if sid in served_ids else np.array([])
        if len(got) != len(tr.data) or not np.array_equal(got, tr.data, equal_nan=True):
            bad.append(f"{sid}: served {list(got)}, archived {list(tr.data)}")
    last = {sid: float(tr.data[-1]) for sid, tr in sorted(want.items())}
    print(json.dumps({"streams": len(want), "mismatches": len(bad), "first": bad[:5],
                      "last": last}))
    return 1 if bad else 0


def table(folder, archive):
    import pandas as pd
    want = read(archive)
    rows = pd.read_parquet(folder)
    bad = []
    for r in rows.itertuples():
        sid = f"{r.network}.{r.station}.{r.location}.{r.channel}"
        tr = want[sid]
        k = round((r.window_start.value - tr.stats.starttime.ns) / (tr.stats.delta * 1e9))
        stored = float(tr.data[k])
        if (r.window_end - r.window_start).total_seconds() != tr.stats.delta:
            bad.append(f"{sid} {r.window_start}: window {r.window_end - r.window_start}")
        if pd.isna(r.rsam) != np.isnan(stored) or (
            not pd.isna(r.rsam) and np.float32(r.rsam) != np.float32(stored)
        ):
            bad.append(f"{sid} {r.window_start}: table {r.rsam}, stream {stored}")
    print(json.dumps({"rows": len(rows), "mismatches": len(bad), "first": bad[:10],
                      "null_values": int(rows.rsam.isna().sum()),
                      "coverages": sorted(set(float(c) for c in rows.coverage))}))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "served":
        sys.exit(served(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "table":
        sys.exit(table(sys.argv[2], sys.argv[3]))
    sys.exit(main())
