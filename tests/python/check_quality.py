"""Station quality rows against ObsPy's MSEEDMetadata (obspy.signal.quality_control), the
reference implementation of the MUSTANG-style metrics seisreduce's `quality` stage reports.

    check_quality.py prepare OUT_DIR
        Writes the inputs: recordings from ../shared/test-data and ObsPy's own quality test
        files, each given its own station code (they are all BW.BGLD otherwise), and damaged
        copies of a day of CH.BALST: records dropped (gaps), repeated (overlaps), header flag
        bits and time corrections set.

    check_quality.py rows TABLE_DIR
        Prints each stream's availability, window by window (the live test reads it).

    check_quality.py compare IN_DIR TABLE_DIR
        Reads the `quality` Parquet dataset with pandas, runs MSEEDMetadata on each input over
        each row's window, and checks every metric both report: counts exactly, times and
        sample statistics to 1e-6 s / 1e-9 relative. Prints a JSON summary.
"""

import io
import json
import math
import os
import shutil
import struct
import sys
from pathlib import Path

import obspy
import pandas as pd
from obspy.io.mseed.util import get_record_information
from obspy.signal.quality_control import MSEEDMetadata

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("SEISREDUCE_TEST_DATA", HERE.parents[2] / "shared/test-data"))
OBSPY_DATA = Path(obspy.__file__).parent / "io/mseed/tests/data"


def records(path):
    """The raw miniSEED 2 records of a file, in order."""
    data = path.read_bytes()
    out, offset = [], 0
    while offset < len(data):
        n = get_record_information(str(path), offset)["record_length"]
        out.append(bytearray(data[offset:offset + n]))
        offset += n
    return out


def big_endian(rec):
    year = struct.unpack(">H", rec[20:22])[0]
    return 1900 <= year <= 2100


def rename(rec, station):
    rec[8:13] = station.ljust(5).encode()


def write(path, recs):
    path.write_bytes(b"".join(bytes(r) for r in recs))


def prepare(out):
    out.mkdir(parents=True, exist_ok=True)
    mseed = SHARED / "mseed"
    for name in ["CH.BALST..LHE.D.2025.314", "IU_ULN_00_LH1_2015-07-18T02.mseed",
                 "BW.BGLD.__.EHE.D.2008.001.first_10_records"]:
        shutil.copy(mseed / name, out / name)
    # ObsPy's quality-control test files: flags, timing quality, gaps, a time correction.
    for name, station in [("qualityflags.mseed", "QFLAG"), ("timingquality.mseed", "TQUAL"),
                          ("gaps.mseed", "GAPS"),
                          ("one_record_already_applied_time_correction.mseed", "TCORR")]:
        recs = records(OBSPY_DATA / name)
        for r in recs:
            rename(r, station)
        write(out / f"{station}.mseed", recs)

    day = records(mseed / "CH.BALST..LHE.D.2025.314")
    # Gaps and overlaps: records dropped, one repeated a record later, one at once. (A
    # repeat coming after its window was closed is late, a streaming tool's answer a batch
    # tool does not have: the repeat stays within the hour for the hour-window comparison.)
    recs = [bytearray(r) for r in day]
    for r in recs:
        rename(r, "BALS1")
    hour = [int(obspy.read(io.BytesIO(bytes(r)), headonly=True)[0].stats.starttime.timestamp
                // 3600) for r in recs]
    i = next(i for i in range(150, len(recs) - 2) if hour[i] == hour[i + 1] == hour[i + 2])
    damaged = (recs[:100] + recs[103:i + 2] + [recs[i]] + recs[i + 2:300] + [recs[299]]
               + recs[300:])
    write(out / "BALS1.mseed", damaged)
    # Header flags (fixed header bytes 36, 37, 38) and stated time corrections (40-43).
    recs = [bytearray(r) for r in day]
    for i, r in enumerate(recs):
        rename(r, "BALS2")
        order = ">" if big_endian(r) else "<"
        if i < 10:
            r[36] |= 0x01 | 0x04  # calibration signal, event begins
        if i % 3 == 0:
            r[37] |= 0x20  # clock locked
        if 50 <= i < 60:
            r[38] |= 0x02 | 0x10  # digitizer clipping, missing/padded data
        if 70 <= i < 80:
            r[36] |= 0x02  # time correction applied
            r[40:44] = struct.pack(order + "i", 25)
        if i == 120:
            r[38] |= 0x80  # suspect time tag
    write(out / "BALS2.mseed", recs)
    print(json.dumps({"inputs": sorted(p.name for p in out.iterdir())}))


FLAG_GROUPS = ["activity_flags", "io_and_clock_flags", "data_quality_flags"]
COUNTS = ["num_records", "num_samples", "num_gaps", "num_overlaps"]
SECONDS = ["sum_gaps", "max_gap", "sum_overlaps", "max_overlap", "start_gap", "end_gap"]
# seisreduce column <- ObsPy key. Our `sample_rms` is demeaned (MUSTANG's); ObsPy's is not
# (our `sample_rms_raw`), its standard deviation is ours.
SAMPLES = {"sample_min": "sample_min", "sample_max": "sample_max", "sample_mean": "sample_mean",
           "sample_median": "sample_median", "sample_lower_quartile": "sample_lower_quartile",
           "sample_upper_quartile": "sample_upper_quartile", "sample_rms_raw": "sample_rms",
           "sample_rms": "sample_stdev"}


def value(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    return float(v)


def close(a, b, rel, abs_):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def compare(inputs, tables):
    df = pd.read_parquet(tables / "quality")
    files = {}
    for p in sorted(inputs.iterdir()):
        ids = {tr.id for tr in obspy.read(str(p), headonly=True)}
        assert len(ids) == 1, f"{p}: one stream per input, found {ids}"
        files[ids.pop()] = p
    bad, checked, rows = [], 0, 0
    df["seed_id"] = df["network"] + "." + df["station"] + "." + df["location"] + "." + df["channel"]
    streams = sorted(set(df["seed_id"]))
    missing = sorted(set(files) - set(streams))
    if missing:
        bad.append(f"no quality rows for {missing}")
    for _, row in df.sort_values(["seed_id", "window_start"]).iterrows():
        sid = row["seed_id"]
        if sid not in files:
            bad.append(f"row for unknown stream {sid}")
            continue
        t0 = obspy.UTCDateTime(row["window_start"].value / 1e9)
        t1 = obspy.UTCDateTime(row["window_end"].value / 1e9)
        m = MSEEDMetadata([str(files[sid])], starttime=t0, endtime=t1, add_flags=True).meta
        rows += 1
        where = f"{sid} {t0.isoformat()}"

        def check(col, want, rel=0.0, abs_=0.0):
            nonlocal checked
            got = value(row[col])
            want = value(want)
            checked += 1
            if not close(got, want, rel, abs_):
                bad.append(f"{where} {col}: seisreduce {got}, ObsPy {want}")

        for c in COUNTS:
            check(c, m[c])
        check("percent_availability", m["percent_availability"], 1e-9, 1e-9)
        for c in SECONDS:
            check(c, m[c], 0.0, 1e-6)
        for ours, theirs in SAMPLES.items():
            # ObsPy's stdev is sqrt(mean(x^2) - mean^2): cancellation costs it digits.
            rel = 1e-6 if theirs == "sample_stdev" else 1e-9
            check(ours, m.get(theirs), rel, 1e-9)
        counts = m["miniseed_header_counts"]
        check("timing_correction_count", counts["timing_correction"])
        for g in FLAG_GROUPS:
            for name, n in counts[g].items():
                check(f"flag_{name}", n)
        pct = m["miniseed_header_percentages"]
        for k in ["mean", "min", "max", "median", "lower_quartile", "upper_quartile"]:
            check(f"timing_quality_{k}", pct[f"timing_quality_{k}"], 1e-9, 1e-9)
    print(json.dumps({"rows": rows, "streams": len(streams), "values_checked": checked,
                      "mismatches": len(bad), "first": bad[:40]}, indent=1))
    return 1 if bad else 0


def rows(tables):
    """Each stream's percent_availability, window by window, as JSON."""
    df = pd.read_parquet(tables / "quality").sort_values("window_start")
    out = {}
    for _, r in df.iterrows():
        sid = f"{r['network']}.{r['station']}.{r['location']}.{r['channel']}"
        out.setdefault(sid, []).append(float(r["percent_availability"]))
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(Path(sys.argv[2]))
    elif sys.argv[1] == "rows":
        rows(Path(sys.argv[2]))
    else:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
