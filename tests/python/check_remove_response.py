"""ObsPy's Trace.remove_response on the samples seisreduce deconvolved (tests/remove_response.rs).

Argument: a manifest {"mseed", "xml", "npts", "cases": [{"output", "water_level", "pre_filt",
"file"}]}; each file holds seisreduce's result as little-endian float64. Prints per case the
largest difference over the peak of ObsPy's result.
"""
import json
import sys
import warnings

import numpy as np
from obspy import read, read_inventory

warnings.simplefilter("ignore")

m = json.load(open(sys.argv[1]))
inv = read_inventory(m["xml"])
out = {"cases": []}
for case in m["cases"]:
    tr = read(m["mseed"])[0]
    tr.data = tr.data[: m["npts"]]
    pre_filt = tuple(case["pre_filt"]) if case["pre_filt"] else None
    tr.remove_response(
        inventory=inv,
        output=case["output"],
        water_level=case["water_level"],
        pre_filt=pre_filt,
    )
    ours = np.fromfile(case["file"], dtype="<f8")
    theirs = tr.data
    peak = np.abs(theirs).max()
    out["cases"].append(
        {
            "output": case["output"],
            "npts": int(len(ours)),
            "peak": float(peak),
            "max_diff_over_peak": float(np.abs(ours - theirs).max() / peak),
        }
    )
print(json.dumps(out))
