"""h5py reading the same DAS files as `cargo bench --bench das_read`, into the same result:
float32 (channel, time) arrays (what a pipeline gets), timed with the same windows.
Prints MB/s of stored bytes per file (median of N runs).

usage: das_read_h5py.py SHARED_DAS_DIR SCRATCH_DIR [RUNS]
"""

import sys
import time
from pathlib import Path

import h5py
import numpy as np

shared, scratch = Path(sys.argv[1]), Path(sys.argv[2])
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10


def plain(dataset_path):
    def read(f, window):
        ds = f[dataset_path]
        n = ds.shape[0]
        for t in range(0, n, window):
            np.ascontiguousarray(ds[t:t + window].astype(np.float32).T)
    return read


def febus(f, window):
    ds = f["fa1-20050027/Source1/Zone1/SR_Valencia"]
    # rows 62..186 of each block are the continuous record (DASCore's rule)
    np.ascontiguousarray(ds[:, 62:187, :].reshape(-1, ds.shape[2]).astype(np.float32).T)


files = [
    ("iDAS005_hdf5_example.626.h5", shared, plain("Acquisition/Raw[0]/RawData"), None),
    ("prodml_2.0.h5", shared, plain("Acquisition/Raw[0]/RawData"), None),
    ("terra15_v5_test_file.hdf5", shared, plain("data_product/data"), None),
    ("decimated_optodas.hdf5", shared, plain("data"), None),
    ("valencia_febus_example.h5", shared, febus, None),
    ("prodml_2000ch_f32.h5", scratch, plain("Acquisition/Raw[0]/RawData"), 1000),
    ("prodml_2000ch_i16.h5", scratch, plain("Acquisition/Raw[0]/RawData"), 1000),
]
for name, folder, read, window in files:
    path = folder / name
    with h5py.File(path, "r") as f:
        ds = f[[k for k in ["Acquisition/Raw[0]/RawData", "data_product/data", "data",
                            "fa1-20050027/Source1/Zone1/SR_Valencia"] if k in f][0]]
        nbytes = ds.size * ds.dtype.itemsize
        if "febus" in name:
            nbytes = nbytes // 2  # half of each block is the overlap, not read
        w = window or ds.shape[0]
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            read(f, w)
            times.append(time.perf_counter() - t0)
    med = sorted(times)[len(times) // 2]
    print(f"h5py {name}: {nbytes / med / 1e6:.1f} MB/s ({med * 1e3:.2f} ms)")
