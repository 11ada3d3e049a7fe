"""Compares seisreduce's operator outputs with SciPy / NumPy (called by tests/ops_scipy.rs).

Reads the manifest the Rust test wrote, recomputes every case with the reference functions and
prints the largest disagreement of each; exits 1 if any exceeds its tolerance.
"""
import json
import os
import sys

import numpy as np
from scipy import signal
from scipy.integrate import cumulative_trapezoid

manifest = sys.argv[1]
root = os.path.dirname(manifest)
spec = json.load(open(manifest))


def load(name):
    return np.fromfile(os.path.join(root, name), dtype="<f4").astype(np.float64)


def sos_for(c):
    b = c["band"]
    return signal.butter(c["order"], b["corners"], btype=b["btype"], fs=c["fs"], output="sos")


failures = []
worst = {}


def check(name, err, tol):
    worst[name] = max(worst.get(name, 0.0), err)
    if not err <= tol:
        failures.append(f"{name}: error {err:.3g} > {tol:g}")


def rel(ours, ref):
    if ours.shape != ref.shape:
        return float("inf")
    return float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), 1e-300))


for d in spec["designs"]:
    ours = np.array(d["sos"], dtype=np.float64)
    ref = sos_for(d)
    err = float(np.max(np.abs(ours - ref))) if ours.shape == ref.shape else float("inf")
    check("butter sos (abs)", err, 1e-10)
    if err > 1e-10:
        failures.append(f"  order {d['order']} {d['band']}: shape {ours.shape} vs {ref.shape}")

for c in spec["cases"]:
    x = load(c["input"])
    y = load(c["output"])
    k = c["kind"]
    if k == "sosfilt":
        check("sosfilt (rel)", rel(y, signal.sosfilt(sos_for(c), x)), 1e-6)
    elif k == "sosfiltfilt":
        check("sosfiltfilt (rel)", rel(y, signal.sosfiltfilt(sos_for(c), x)), 1e-6)
    elif k == "upfirdn":
        h = load(c["taps"])
        m = c["factor"]
        full = signal.upfirdn(h, x, 1, m)
        shift = (len(h) - 1) // 2 // m
        ref = full[shift:shift + len(y)]
        check(f"upfirdn (rel)", rel(y, ref), 1e-5)
        if len(y) != -(-len(x) // m):
            failures.append(f"decimate by {m}: {len(y)} samples from {len(x)}")
    elif k == "detrend":
        w = c["window"]
        ref = np.concatenate([signal.detrend(x[i:i + w], type=c["type"]) for i in range(0, len(x), w)])
        check(f"detrend {c['type']} (rel to input)", float(np.max(np.abs(y - ref)) / np.max(np.abs(x))), 1e-6)
    elif k == "integrate":
        check("cumulative_trapezoid (rel)", rel(y, cumulative_trapezoid(x, dx=1 / c["fs"], initial=0)), 1e-6)
    elif k == "differentiate":
        check("gradient (rel)", rel(y, np.gradient(x, 1 / c["fs"])), 1e-6)
    else:
        failures.append(f"unknown case {k}")

for name, err in worst.items():
    print(f"{name:40s} max error {err:.3g}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
