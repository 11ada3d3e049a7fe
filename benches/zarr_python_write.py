"""zarr-python 3 writing the array benches/zarr.rs writes, from the same bytes, with the same
chunks (16 x 4096), shards (256 x 32768) and codec, block by block as a stream arrives.

usage: zarr_python_write.py INPUT.f32 CHANNELS [zstd|blosc|pcodec] [runs]
"""

import shutil
import sys
import tempfile
import time

import numpy as np
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

BLOCK = 4096


def compressors(codec):
    if codec == "zstd":
        return dict(compressors=[ZstdCodec(level=3)])
    if codec == "blosc":
        return dict(compressors=[BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")])
    from numcodecs.zarr3 import PCodec

    return dict(serializer=PCodec(level=8), compressors=None)


def write(data, path, codec):
    n, t = data.shape
    a = zarr.create_array(path, shape=(n, 0), dtype="float32", chunks=(16, 4096),
                          shards=(256, 32768), fill_value=np.nan, dimension_names=("channel", "time"),
                          **compressors(codec))
    # Streaming: each block grows the array and is written into it.
    for b in range(t // BLOCK):
        a.resize((n, (b + 1) * BLOCK))
        a[:, b * BLOCK:(b + 1) * BLOCK] = data[:, b * BLOCK:(b + 1) * BLOCK]


def main():
    path, channels = sys.argv[1], int(sys.argv[2])
    codec = sys.argv[3] if len(sys.argv) > 3 else "zstd"
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    data = np.fromfile(path, dtype="<f4").reshape(channels, -1)
    best = None
    for _ in range(runs):
        d = tempfile.mkdtemp()
        t0 = time.perf_counter()
        write(data, d + "/a.zarr", codec)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        shutil.rmtree(d)
    print(f"zarr-python {zarr.__version__} {codec}: {data.nbytes / best / 1e6:.0f} MB/s "
          f"({data.shape[0]} x {data.shape[1]} float32, best of {runs})")


if __name__ == "__main__":
    main()
