"""Publishes DAS blocks with xdas's own ASN ZeroMQ publisher (xdas.io.asn.ZMQPublisher), as
an OptoDAS interrogator streams them, for the das_stream source to subscribe to.

usage: xdas_publish.py ADDRESS SPEC_JSON

SPEC: {"t0_ns", "rate_hz", "channels", "dx", "rows" (per message), "freq_hz",
"amplitudes" [per channel], "dtype" (float32 or int16), "parts" [[start_s, seconds], ...],
"garbage" (messages of nonsense sent in the first part), "pause_s" (between parts),
"noise" (true: one random block reused, for load tests; amplitudes then unused),
"pace" (1.0: real time; 0: as fast as the socket takes them)}. Channel c carries
A_c * sin(2 pi f (t - t0)). Each part is published by a new publisher bound to the same
address (the interrogator restarted), after waiting for the subscriber. Prints a JSON line
of what was sent.
"""

import json
import sys
import time

import numpy as np
import warnings

import xdas as xd
from xdas.io.asn import ZMQPublisher

# xdas asks for declared sampling intervals in a future release; the tie points here are exact.
warnings.filterwarnings("ignore", category=FutureWarning)

address, spec = sys.argv[1], json.loads(sys.argv[2])
t0 = spec["t0_ns"]
rate = spec["rate_hz"]
nx = spec["channels"]
rows = spec["rows"]
amps = np.asarray(spec["amplitudes"], dtype=np.float64)[None, :]
dt_ns = 1e9 / rate
dtype = np.dtype(spec.get("dtype", "float32"))


# "noise": one block of random samples, reused with each message's own time (a load test:
# making the samples must not be what limits the publisher).
noise = None
if spec.get("noise"):
    noise = np.random.default_rng(1).integers(-2000, 2000, (rows, nx)).astype(dtype)


def block(first_row):
    idx = first_row + np.arange(rows)
    t = np.round(idx * dt_ns).astype(np.int64)
    if noise is not None:
        data = noise
    else:
        values = amps * np.sin(2 * np.pi * spec["freq_hz"] * t[:, None] / 1e9)
        data = values.astype(dtype) if dtype.kind == "f" else np.round(values).astype(dtype)
    times = (t0 + t).astype("datetime64[ns]")
    coords = {
        "time": {"tie_indices": [0, rows - 1], "tie_values": [times[0], times[-1]]},
        "distance": {"tie_indices": [0, nx - 1], "tie_values": [0.0, (nx - 1) * spec["dx"]]},
    }
    return xd.DataArray(data, coords, dims=("time", "distance"))


sent = {"messages": 0, "rows": 0, "garbage": 0, "parts": [], "late_s": 0.0}
started = None
for k, (start_s, seconds) in enumerate(spec["parts"]):
    pub = ZMQPublisher(address)
    first = int(round(start_s * rate))
    n = int(round(seconds * rate)) // rows
    # A replay: nothing may go out before the subscriber is there (xdas's own wait).
    pub.wait_for_subscribers(1, timeout=60)
    if started is None:
        started = time.time()  # paced from the first message, not from the wait
    for m in range(n):
        pub.submit(block(first + m * rows))
        sent["messages"] += 1
        sent["rows"] += rows
        if k == 0 and m == 1:
            for g in range(spec.get("garbage", 0)):
                junk = bytes((g * 37 + i) % 256 for i in range(100 + g))
                pub._socket.send(junk if g % 2 == 0 else b'{"nChannels": "many"}')
                sent["garbage"] += 1
        if spec.get("pace", 1.0) > 0:
            due = started + (sent["rows"] / rate) / spec["pace"]
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            else:
                sent["late_s"] = max(sent["late_s"], -pause)
    sent["wall_s"] = time.time() - started  # to the last message of the last part
    sent["parts"].append([t0 + int(round(first * dt_ns)), t0 + int(round((first + n * rows) * dt_ns))])
    time.sleep(0.5)  # let the last messages leave before the socket closes
    pub.close()
    if k + 1 < len(spec["parts"]):
        time.sleep(spec.get("pause_s", 1.0))
print(json.dumps(sent))
