"""Writes DAS files of the layouts read, with the tools their communities use, and prints
what DASCore (the reference reader) makes of each, as JSON with the keys of
test-data/das-more/TRUTH.json. Files: DASDAE and SEG-Y written by DASCore itself, a
two-patch DASDAE file, Neubrex DAS and RFS and H5Simple (with a distance array) written with h5py in
the layouts DASCore reads, and TDMS written by npTDMS in several segments (checked
against npTDMS's own read: DASCore's TDMS reader takes Silixa's single-segment files
only).

usage: write_das_layouts.py OUT_DIR
"""

import json
import os
import sys
import warnings

import h5py
import numpy as np

warnings.filterwarnings("ignore")
import dascore as dc  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def describe(path, patches=None):
    """DASCore's view of a file, as TRUTH.json has it."""
    fmt = list(dc.get_format(path))
    patches = patches if patches is not None else list(dc.spool(path))
    rows = []
    for p in patches:
        other = [d for d in p.dims if d != "time"][0]
        x = p.get_coord(other)
        t = p.get_coord("time")
        data = np.asarray(p.data)
        rows.append({
            "dims": list(p.dims),
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "time_min": str(np.datetime64(t.min(), "ns")),
            "time_max": str(np.datetime64(t.max(), "ns")),
            "time_step_ns": int(np.timedelta64(t.step, "ns").astype(np.int64)),
            "distance_min": float(x.min()),
            "distance_max": float(x.max()),
            "distance_step": float(x.step) if x.step is not None else float(np.mean(np.diff(x.values))),
            "sum": float(data.astype(np.float64).sum()),
            "abs_sum": float(np.abs(data.astype(np.float64)).sum()),
            "first_row": [float(v) for v in data[0, :5]],
            "data_type": str(p.attrs.data_type or ""),
            "data_units": str(p.attrs.data_units),
        })
    return {"format": fmt, "patches": rows}


truth = {}

# DASDAE, by DASCore: the example patch (distance, time), and a file of two patches.
patch = dc.get_example_patch()
path = os.path.join(out, "example.dasdae.h5")
patch.io.write(path, "dasdae")
truth[os.path.basename(path)] = describe(path)
two = [patch, patch.update_attrs(time_min=patch.attrs.time_max + patch.attrs.time_step)]
path = os.path.join(out, "two_patches.dasdae.h5")
dc.write(dc.spool(two), path, "dasdae")
truth[os.path.basename(path)] = describe(path)

# SEG-Y, by DASCore (segyio): one trace per channel, time at whole seconds, µs steps.
seg = dc.get_example_patch().update_attrs(time_min=np.datetime64("2024-02-29T13:14:15"))
path = os.path.join(out, "example.sgy")
seg.io.write(path, "segy")
truth[os.path.basename(path)] = describe(path)

# Neubrex DAS, in the attributes DASCore's reader uses.
path = os.path.join(out, "neubrex_das.h5")
data = rng.normal(0, 3, (400, 24)).astype(np.float32)
with h5py.File(path, "w") as h:
    a = h.create_dataset("Acoustic", data=data)
    attrs = {
        "NEUBRESCOPE.DAS.Model": "NBX-S4100",
        "NEUBRESCOPE.DAS.SerialNum": "S4100-0007",
        "StartPosition": 12.5,
        "StopPosition": 12.5 + 24 * 0.5,
        "SpatialSamplingInterval": 0.5,
        "StartStopPositionUnit": "m",
        "GPSTimeStamp(UTC)": "2023-10-05T01:02:03.250000+00:00",
        "CPUTimeStamp(UTC)": "2023-10-05T01:02:03.254000+00:00",
        "TimeSamplingInterval(seconds)": 0.0005,
        "TimeDecimationFilter": 1,
        "DistanceDecimationFilter": 1,
        "DataPhysicalUnit": "radian",
        "GaugeLength": 4.0,
        "GaugeLengthUnits": "m",
        "IndexOfRefraction": 1.46,
    }
    for k, v in attrs.items():
        a.attrs[k] = v
truth[os.path.basename(path)] = describe(path)

# Neubrex RFS (DSS), in the layout DASCore's reader uses: slow rows with jittered stamps.
path = os.path.join(out, "neubrex_dss.h5")
rows, depths = 40, 30
stamps = 1.6e15 + np.arange(rows) * 60e6 + rng.integers(-3000, 3000, rows)  # µs, ±3 ms jitter
with h5py.File(path, "w") as h:
    d = h.create_dataset("data", data=rng.normal(0, 50, (rows, depths)))
    d.attrs["DataUnitLabel"] = "micro-strain"
    d.attrs["StartDateTime"] = "2020-09-13T12:26:40"
    d.attrs["EndDateTime"] = "2020-09-13T13:05:40"
    d.attrs["WellID"] = "16B(78)-32"
    h.create_dataset("depth", data=1000.0 + np.arange(depths) * 0.25)
    h.create_dataset("stamps", data=np.arange(rows, dtype=np.float64))
    h.create_dataset("stamps_unix", data=stamps)
truth[os.path.basename(path)] = describe(path)

# H5Simple with a distance array, dims stated.
path = os.path.join(out, "simple_with_distance.h5")
with h5py.File(path, "w") as h:
    h.create_dataset("data", data=rng.normal(0, 1, (30, 300)).astype(np.float32))
    h.create_dataset("time", data=1.7e9 + np.arange(300) * 0.002)
    h.create_dataset("distance", data=100.0 + np.arange(30) * 2.0)
    h.attrs["dims"] = "distance,time"
truth[os.path.basename(path)] = describe(path)

# TDMS by npTDMS (which keeps time stamps to the microsecond): Silixa's root properties,
# 40 channels of int16 in three segments of different lengths, the metadata repeated.
from nptdms import ChannelObject, GroupObject, RootObject, TdmsWriter  # noqa: E402

path = os.path.join(out, "segments.tdms")
nch, rows = 40, [100, 60, 75]
block = rng.integers(-3000, 3000, (sum(rows), nch)).astype(np.int16)
root = RootObject(properties={
    "SamplingFrequency[Hz]": 2000.0,
    "SpatialResolution[m]": 1.0,
    "Fibre Length Multiplier": 1.0209523838714072,
    "StartPosition[m]": 20.0,
    "Start Distance (m)": -5.0,
    "Stop Distance (m)": 60.0,
    "MeasureLength[m]": nch,
    "GaugeLength": 10.0,
    "GPSTimeStamp": np.datetime64("2022-01-02T03:04:05.123456", "ns"),
})
t0 = 0
with TdmsWriter(path) as w:
    for k, n in enumerate(rows):
        part = block[t0:t0 + n]
        objs = [root, GroupObject("Measurement")] + [
            ChannelObject("Measurement", str(c), part[:, c]) for c in range(nch)
        ]
        w.write_segment(objs)
        t0 += n
from nptdms import TdmsFile  # noqa: E402

f = TdmsFile.read(path)
chans = f["Measurement"].channels()
nd = np.stack([c[:] for c in chans], axis=1)
assert (nd == block).all(), "npTDMS reads back what it wrote"
with open(path, "rb") as fh:
    version = str(int.from_bytes(fh.read(12)[8:12], "little"))
truth[os.path.basename(path)] = {
    "format": ["TDMS", version],
    "patches": [{
        "dims": ["time", "distance"],
        "shape": list(nd.shape),
        "dtype": str(nd.dtype),
        "time_min": "2022-01-02T03:04:05.123456",
        "time_max": str(np.datetime64("2022-01-02T03:04:05.123456", "ns") + np.timedelta64(500_000, "ns") * (nd.shape[0] - 1)),
        "time_step_ns": 500000,
        "distance_min": 20.0,
        "distance_max": 20.0 + (nch - 1) * 1.0209523838714072,
        "distance_step": 1.0209523838714072,
        "sum": float(nd.astype(np.float64).sum()),
        "abs_sum": float(np.abs(nd.astype(np.float64)).sum()),
        "first_row": [float(v) for v in nd[0, :5]],
        "data_type": "strain_rate",
        "data_units": "",
    }],
}
print(json.dumps(truth))
