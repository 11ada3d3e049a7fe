"""Compare seisreduce's reading of StationXML with ObsPy's.

Argument: a manifest JSON written by tests/stationxml.rs:
  {"files": {PATH: {"stations": <seisreduce stations --json>,
                    "responses": [{"channel", "time", "output", "nfft", "t_samp",
                                   "frequency", "real", "imag"} | {..., "error"}]}}}

For every channel epoch ObsPy's read_inventory finds: coordinates, orientation, sample rate,
sensitivity (value, frequency, units) equal; every evaluated response equal to
Response.get_evalresp_response on the same grid (relative to each value, with a floor of 1e-9
of the curve's peak where the response goes to zero). Prints one JSON summary.
"""
import json
import sys
import warnings

import numpy as np
from obspy import UTCDateTime, read_inventory

warnings.simplefilter("ignore")


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return float(a) == float(b)


def main():
    manifest = json.load(open(sys.argv[1]))
    out = {
        "files": 0,
        "epochs_obspy": 0,
        "epochs_matched": 0,
        "field_mismatches": [],
        "responses_compared": 0,
        "max_rel_response": 0.0,
        "worst": None,
        "refused_by_both": 0,
        "refusal_mismatches": [],
    }
    for path, ours in manifest["files"].items():
        out["files"] += 1
        inv = read_inventory(path)
        mine = {(c["id"], c["start"][:19]): c for c in ours["stations"]["channels"]}
        for net in inv:
            for sta in net:
                for cha in sta:
                    out["epochs_obspy"] += 1
                    key = (
                        f"{net.code}.{sta.code}.{cha.location_code}.{cha.code}",
                        str(cha.start_date)[:19],
                    )
                    c = mine.get(key)
                    if c is None:
                        out["field_mismatches"].append(f"{key}: not in ours")
                        continue
                    out["epochs_matched"] += 1
                    fields = [
                        ("latitude", cha.latitude),
                        ("longitude", cha.longitude),
                        ("elevation", cha.elevation),
                        ("depth", cha.depth),
                        ("azimuth", cha.azimuth),
                        ("dip", cha.dip),
                        ("sample_rate", cha.sample_rate),
                    ]
                    # Ends past 2262 (2599, 3000) are open ends in ours.
                    end = (
                        str(cha.end_date)[:19]
                        if cha.end_date and cha.end_date.year < 2262
                        else None
                    )
                    if (c["end"][:19] if c["end"] else None) != end:
                        out["field_mismatches"].append(f"{key} end {c['end']} vs {end}")
                    for name, theirs in fields:
                        if not same(c[name], theirs):
                            out["field_mismatches"].append(f"{key} {name} {c[name]} vs {theirs}")
                    s = cha.response.instrument_sensitivity if cha.response else None
                    r = c["response"]
                    ms = r["sensitivity"] if r else None
                    if (s is None) != (ms is None):
                        out["field_mismatches"].append(f"{key} sensitivity presence")
                    elif s is not None:
                        for name, a, b in [
                            ("value", ms["value"], s.value),
                            ("frequency", ms["frequency"], s.frequency),
                        ]:
                            if not same(a, b):
                                out["field_mismatches"].append(f"{key} sensitivity {name} {a} vs {b}")
                        for name, a, b in [
                            ("input_units", (ms["input_units"] or {}).get("name"), s.input_units),
                            ("output_units", (ms["output_units"] or {}).get("name"), s.output_units),
                        ]:
                            if a != b:
                                out["field_mismatches"].append(f"{key} {name} {a} vs {b}")
                    if r and len(r["stages"]) != len(cha.response.response_stages):
                        out["field_mismatches"].append(f"{key} stage count")
        # Responses on the grids we evaluated.
        for q in ours["responses"]:
            t = UTCDateTime(q["time"])
            n, s_, l, c_ = q["channel"].split(".")
            sel = inv.select(network=n, station=s_, location=l, channel=c_, time=t)
            # The epoch that starts at t (ObsPy's select also keeps one ending at t).
            cha = [c for c in sel[0][0] if c.start_date == t][0]
            label = f"{q['channel']} {q['time']} {q['output']}"
            try:
                theirs, freqs = cha.response.get_evalresp_response(
                    t_samp=q["t_samp"], nfft=q["nfft"], output=q["output"]
                )
            except Exception as e:  # noqa: BLE001 (ObsPy refuses: we must refuse too)
                if "error" in q:
                    out["refused_by_both"] += 1
                else:
                    out["refusal_mismatches"].append(f"{label}: ObsPy refused ({e}), we did not")
                continue
            if "error" in q:
                out["refusal_mismatches"].append(f"{label}: we refused ({q['error']}), ObsPy did not")
                continue
            f = np.array(q["frequency"])
            assert np.array_equal(f, freqs), label
            ours_v = np.array(q["real"]) + 1j * np.array(q["imag"])
            floor = 1e-9 * np.abs(theirs).max()
            rel = np.abs(ours_v - theirs) / np.maximum(np.abs(theirs), floor)
            out["responses_compared"] += 1
            if rel.max() > out["max_rel_response"]:
                out["max_rel_response"] = float(rel.max())
                i = int(rel.argmax())
                out["worst"] = f"{label} at {f[i]} Hz: {ours_v[i]} vs {theirs[i]}"
    print(json.dumps(out))


main()
