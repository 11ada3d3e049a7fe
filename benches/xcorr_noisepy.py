"""NoisePy on the `xcorr/network` workload of benches/xcorr.rs, timed in the same run by
benches/compare_xcorr.sh: 24 channels, 4 h at 100 Hz, all 276 pairs, cc_len 1800 s, step
450 s, maxlag 200 s, its default whitening, linear stacks (substack = False); compute_fft for
every channel and cross_correlation for every pair, one core."""

import time

import numpy as np
import obspy

from noisepy.seis import correlate as npc
from noisepy.seis.io.datatypes import Channel, ChannelData, ChannelType, ConfigParameters, Station

rate, hours, n_ch = 100.0, 4, 24
n = int(hours * 3600 * rate)
rng = np.random.default_rng(1)
common = rng.standard_normal(n + 1000).astype(np.float32)
params = ConfigParameters(sampling_rate=rate, inc_hours=hours, substack=False, freq_norm="rma")
datas, chans = [], []
for c in range(n_ch):
    d = common[1000 - (c * 37) % 1000 :][:n] + 0.5 * rng.standard_normal(n).astype(np.float32)
    tr = obspy.Trace(d.astype(np.float64), header=dict(network="XX", station=f"S{c:04d}", location="00",
                                                       channel="HHZ", sampling_rate=rate,
                                                       starttime=obspy.UTCDateTime(2024, 3, 1)))
    datas.append(ChannelData(obspy.Stream([tr])))
    chans.append(Channel(ChannelType("HHZ"), Station("XX", f"S{c:04d}", 0.0, c / 100.0, 0.0, "00")))
t0 = time.perf_counter()
ffts = {i: npc.compute_fft(params, datas[i]) for i in range(n_ch)}
nfft = max(f.length for f in ffts.values())
t1 = time.perf_counter()
windows = 0
for s in range(n_ch):
    for r in range(s + 1, n_ch):
        res = npc.cross_correlation(params, s, r, chans, ffts, nfft)
        windows += int(res[2]["ngood"]) if np.ndim(res[2]["ngood"]) == 0 else int(np.sum(res[2]["ngood"]))
t2 = time.perf_counter()
print(f"noisepy network_24ch_4h_100Hz: {t2 - t0:.2f} s end to end (spectra {t1 - t0:.2f} s, "
      f"pairs {t2 - t1:.2f} s), {windows} pair-windows, {windows / (t2 - t0):.0f} pair-windows/s")
