"""NoisePy's own correlation chain on the channels in DIR/data.f32, for tests/xcorr_noisepy.rs
and benches/xcorr_noisepy.py.

DIR/meta.json names the channels, rate, start (epoch s) and hours; the data are float32,
channels × samples. NoisePy's `compute_fft` (cut windows, demean, detrend, taper, whitening)
and `cross_correlation` (its `correlate`) run unmodified, per window (substack with
substack_len = cc_len) and as a linear stack (substack = False). Writes, for every pair
(i < j in channel order), the window correlations and the stack at their *true* lags:
NoisePy labels lag t = (i - Nfft//2 + 1)·dt, but after its `ifftshift` zero lag sits at
Nfft//2 (even Nfft), so every label is one sample early (noisepy-dvv-cloud
tests/test_lag_axis.py); here each kept column gets the lag it really holds.

Output: DIR/np_windows.f32 (pairs × windows × lags), DIR/np_stack.f32 (pairs × lags),
DIR/np_meta.json (true lags in samples, window start times, pairs, seconds taken).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import obspy

from noisepy.seis import correlate as npc
from noisepy.seis.io.datatypes import Channel, ChannelData, ChannelType, ConfigParameters, Station


def main():
    d = Path(sys.argv[1])
    meta = json.loads((d / "meta.json").read_text())
    names = meta["channels"]
    rate = meta["rate"]
    raw = np.fromfile(d / "data.f32", dtype="<f4").reshape(len(names), -1)
    common = dict(
        sampling_rate=rate,
        cc_len=meta["cc_len"],
        step=meta["step"],
        maxlag=meta["maxlag"],
        freqmin=meta["freqmin"],
        freqmax=meta["freqmax"],
        inc_hours=meta["hours"],
        freq_norm="rma",
        time_norm="no",
        cc_method="xcorr",
        smoothspect_N=meta["smoothspect_n"],
    )
    channels, datas = [], []
    for i, name in enumerate(names):
        net, sta, loc, cha = name.split(".")
        tr = obspy.Trace(
            raw[i].astype(np.float64),
            header=dict(
                network=net,
                station=sta,
                location=loc,
                channel=cha,
                sampling_rate=rate,
                starttime=obspy.UTCDateTime(meta["start"]),
            ),
        )
        datas.append(ChannelData(obspy.Stream([tr])))
        channels.append(Channel(ChannelType(cha), Station(net, sta, 0.0, float(i) / 100.0, 0.0, loc)))

    results = {}
    for mode, params in (
        ("windows", ConfigParameters(**common, substack=True, substack_windows=1)),
        ("stack", ConfigParameters(**common, substack=False)),
    ):
        t0 = time.perf_counter()
        ffts = {i: npc.compute_fft(params, datas[i]) for i in range(len(names))}
        nfft = max(f.length for f in ffts.values())
        out = {}
        for s in range(len(names)):
            for r in range(s + 1, len(names)):
                res = npc.cross_correlation(params, s, r, channels, ffts, nfft)
                src, rcv, p, corr = res
                out[(s, r)] = (corr, p)
        results[mode] = (out, nfft, time.perf_counter() - t0)

    # True lags of the kept columns: NoisePy keeps indices i with |(i - Nfft2 + 1)·dt| <= maxlag
    # of the ifftshift-ed correlation, whose index i holds lag m = (i + Nfft//2) % Nfft.
    _, nfft, _ = results["stack"]
    n2 = nfft // 2
    dt = 1.0 / rate
    t = np.arange(-n2 + 1, n2) * dt
    ind = np.where(np.abs(t) <= meta["maxlag"])[0]
    m = (ind + nfft // 2) % nfft
    lags = np.where(m > nfft // 2, m - nfft, m)

    pairs = sorted(results["stack"][0].keys())
    wins = results["windows"][0]
    times = [float(x) for x in wins[pairs[0]][1]["time"]]
    np.stack([wins[p][0] for p in pairs]).astype("<f4").tofile(d / "np_windows.f32")
    np.stack([results["stack"][0][p][0][0] for p in pairs]).astype("<f4").tofile(d / "np_stack.f32")
    n_windows = [int(wins[p][0].shape[0]) for p in pairs]
    (d / "np_meta.json").write_text(
        json.dumps(
            {
                "nfft": int(nfft),
                "lags": [int(x) for x in lags],
                "labelled_zero_index": int(np.argmin(np.abs(t[ind]))),
                "window_times": times,
                "windows_per_pair": n_windows,
                "pairs": [[names[s], names[r]] for s, r in pairs],
                "seconds": {k: v[2] for k, v in results.items()},
                "pair_windows": sum(n_windows),
            }
        )
    )
    print(json.dumps({"pairs": len(pairs), "windows": n_windows[0], "nfft": int(nfft),
                      "seconds": {k: round(v[2], 3) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
