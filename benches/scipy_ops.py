"""Times SciPy on the signal benches/ops.rs uses, for benches/compare_scipy.sh.

Prints one line per operation: name, samples/s (best of several runs, one core).
"""
import sys
import time

import numpy as np
from scipy import signal

N = 1 << 20
i = np.arange(N)
x = (np.sin(i * 0.001) * 1000.0 + ((i * 7919) % 1000) - 500.0).astype(np.float32)
sos = signal.butter(4, [0.1, 10.0], btype="bandpass", fs=100.0, output="sos")
win = 360000
# A 1,000-channel block as benches/ops.rs builds it: channel c = x[7c : 7c + 2048].
block = np.stack([x[7 * c:7 * c + 2048] for c in range(1000)])  # one hour at 100 Hz, as the Rust bench's windows


def best(fn, repeat=7, n=N):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n / min(times)


cases = {
    "resample_poly_4": lambda: signal.resample_poly(x, 1, 4),
    "resample_poly_10": lambda: signal.resample_poly(x, 1, 10),
    "decimate_fir_10": lambda: signal.decimate(x, 10, ftype="fir", zero_phase=True),
    "sosfilt": lambda: signal.sosfilt(sos, x),
    "sosfiltfilt_1h": lambda: [signal.sosfiltfilt(sos, x[j:j + win]) for j in range(0, N, win)],
    "detrend_linear_1h": lambda: [signal.detrend(x[j:j + win]) for j in range(0, N, win)],
    "sosfilt_1000ch": lambda: signal.sosfilt(sos, block, axis=-1),
}
for name in sys.argv[1:] or cases:
    n = block.size if name.endswith("_1000ch") else N
    print(f"scipy {name} {best(cases[name], n=n) / 1e6:.1f} M samples/s", flush=True)
