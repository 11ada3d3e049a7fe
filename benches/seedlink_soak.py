"""SeedLink soak: a RESIF-sized network served by our server and followed by our client.

Usage: seedlink_soak.py [--seconds 600] [--stations 700] [--bin target/release/seisreduce]
                        [--ring-mb 64] [--json]

Process A: `synthetic` (STATIONS x 3 channels x 100 Hz, real time, 1 s blocks) -> `seedlink`
sink (STEIM2 records filled to 512 bytes). Process B: `seedlink` source (v4, `XX_*`) ->
`decode` -> `null`. Every 10 s: RSS and CPU of both processes (from /proc), packets and
sequence gaps, the worst data latency over B's stations (from its /metrics). At the end: RSS
first/last/max, CPU per core, packets per second, gaps; `--json` prints it as one line.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=600)
ap.add_argument("--stations", type=int, default=700)
ap.add_argument("--bin", default="target/release/seisreduce")
ap.add_argument("--ring-mb", type=float, default=64, help="the server's ring bound (it fills, then stays flat)")
ap.add_argument("--json", action="store_true")
a = ap.parse_args()

tick = os.sysconf("SC_CLK_TCK")
page = os.sysconf("SC_PAGE_SIZE")


def free_port():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def usage(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * page
    return rss, (int(rest[11]) + int(rest[12])) / tick


def metrics(port):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return ""


def total(text, name):
    return sum(float(m) for m in re.findall(rf"^{name}{{[^}}]*}} (\S+)$", text, re.M))


def worst(text, name):
    v = [float(m) for m in re.findall(rf"^{name}{{[^}}]*}} (\S+)$", text, re.M)]
    return max(v) if v else None


d = tempfile.mkdtemp(prefix="seedlink-soak-")
sl_port, ma, mb = free_port(), free_port(), free_port()
with open(f"{d}/serve.toml", "w") as f:
    f.write(f"""[pipeline]
name = "soak-serve"
[sources.net]
type = "synthetic"
channels = {a.stations * 3}
rate = 100
realtime = true
chunk_s = 1
[sinks.sl]
type = "seedlink"
inputs = ["net"]
listen = "127.0.0.1:{sl_port}"
encoding = "STEIM2"
ring_mb = {a.ring_mb}
ring_hours = 1
state_dir = "{d}/ring"
""")
with open(f"{d}/follow.toml", "w") as f:
    f.write(f"""[pipeline]
name = "soak-follow"
[sources.sl]
type = "seedlink"
server = "127.0.0.1:{sl_port}"
streams = ["XX_*"]
protocol = "4"
state = "{d}/state.json"
[operators.decode]
type = "decode"
inputs = ["sl"]
[sinks.out]
type = "null"
inputs = ["decode"]
""")


def start(name, port):
    env = dict(os.environ, SEISREDUCE_METRICS_LISTEN=f"127.0.0.1:{port}", SEISREDUCE_LOG_LEVEL="warn",
               SEISREDUCE_STORAGE_ROOT=d)
    return subprocess.Popen([a.bin, "run", f"{d}/{name}.toml"], env=env,
                            stdout=open(f"{d}/{name}.log", "w"), stderr=subprocess.STDOUT)


A = start("serve", ma)
time.sleep(1.5)
B = start("follow", mb)
t0 = time.time()
rows = []
try:
    while time.time() - t0 < a.seconds:
        time.sleep(min(10, max(0.5, a.seconds - (time.time() - t0))))
        ra, ca = usage(A.pid)
        rb, cb = usage(B.pid)
        m = metrics(mb)
        rows.append({
            "t": round(time.time() - t0, 1),
            "rss_server_mib": round(ra / 2**20, 1), "cpu_server_s": ca,
            "rss_client_mib": round(rb / 2**20, 1), "cpu_client_s": cb,
            "packets": total(m, "seisreduce_seedlink_packets_total"),
            "gaps": total(m, "seisreduce_seedlink_sequence_gap_packets_total"),
            "worst_latency_s": worst(m, "seisreduce_seedlink_data_latency_seconds"),
        })
        if not a.json:
            r = rows[-1]
            print(f"{r['t']:6.0f} s  server {r['rss_server_mib']:7.1f} MiB  client {r['rss_client_mib']:7.1f} MiB  "
                  f"packets {r['packets']:9.0f}  gaps {r['gaps']:.0f}  worst latency {r['worst_latency_s']} s",
                  flush=True)
finally:
    for p in (B, A):
        p.terminate()
    for p in (B, A):
        p.wait(timeout=60)

span = rows[-1]["t"] - rows[0]["t"] if len(rows) > 1 else 1
summary = {
    "stations": a.stations, "channels": a.stations * 3, "seconds": rows[-1]["t"],
    "packets": rows[-1]["packets"], "packets_per_s": (rows[-1]["packets"] - rows[0]["packets"]) / span,
    "sequence_gaps": rows[-1]["gaps"],
    "worst_latency_s": max((r["worst_latency_s"] or 0) for r in rows),
    "latency_last_s": rows[-1]["worst_latency_s"],
    "rss_server_mib": [rows[0]["rss_server_mib"], rows[-1]["rss_server_mib"], max(r["rss_server_mib"] for r in rows)],
    "rss_client_mib": [rows[0]["rss_client_mib"], rows[-1]["rss_client_mib"], max(r["rss_client_mib"] for r in rows)],
    "cpu_server_core": (rows[-1]["cpu_server_s"] - rows[0]["cpu_server_s"]) / span,
    "cpu_client_core": (rows[-1]["cpu_client_s"] - rows[0]["cpu_client_s"]) / span,
    "rows": rows,
    "dir": d,
}
if a.json:
    print(json.dumps(summary))
else:
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))
sys.exit(0)
