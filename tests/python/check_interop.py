"""Reads the miniSEED files seisreduce wrote with the reference readers and checks that they
see what seisreduce meant: ObsPy (libmseed 2) for miniSEED 2, pymseed (libmseed 3) for both.

Usage: check_interop.py MANIFEST.json
The manifest lists, per file: format version, id, start (ns), rate, npts, encoding and the
SHA-256 of the samples (int32 LE for integers, float64 LE for floats, raw bytes for text).
Prints one line per check and exits non-zero on any disagreement.
"""
import hashlib
import json
import os
import sys

import numpy as np
import obspy
from pymseed import MS3Record

LIBMSEED_ENCODINGS = {
    0: "ASCII", 1: "INT16", 3: "INT32", 4: "FLOAT32", 5: "FLOAT64", 10: "STEIM1", 11: "STEIM2",
    12: "GEOSCOPE24", 13: "GEOSCOPE16_3", 14: "GEOSCOPE16_4", 16: "CDSN", 30: "SRO", 32: "DWWSSN",
}


def canonical_sha(samples, kind):
    if kind == "text":
        data = bytes(samples)
    elif kind == "int":
        data = np.asarray(samples, dtype="<i4").tobytes()
    else:
        data = np.asarray(samples, dtype="<f8").tobytes()
    return hashlib.sha256(data).hexdigest()




def check_pymseed(path, want):
    samples, start, rate, encodings, n = [], None, None, set(), 0
    for rec in MS3Record.from_file(path, unpack_data=True):
        if start is None:
            start, rate = rec.starttime, rec.samprate
        n += rec.numsamples
        encodings.add(LIBMSEED_ENCODINGS.get(rec.encoding, rec.encoding))
        if want["kind"] == "text":
            samples.extend(bytes(rec.datasamples))
        else:
            samples.extend(rec.datasamples)
        assert rec.formatversion == want["format_version"], (rec.formatversion, want)
    problems = []
    if start != want["start_ns"]:
        problems.append(f"start {start} != {want['start_ns']}")
    if abs(rate - want["rate"]) > 1e-6 * want["rate"]:
        problems.append(f"rate {rate} != {want['rate']}")
    if n != want["npts"]:
        problems.append(f"npts {n} != {want['npts']}")
    if encodings != {want["encoding"]}:
        problems.append(f"encodings {encodings}")
    if canonical_sha(samples, want["kind"]) != want["sha256"]:
        problems.append("samples differ")
    return problems


def check_obspy(path, want):
    st = obspy.read(path, format="MSEED")
    problems = []
    if len(st) != 1:
        return [f"{len(st)} traces"]
    tr = st[0]
    if tr.id != want["id"]:
        problems.append(f"id {tr.id} != {want['id']}")
    if tr.stats.starttime.ns // 1000 != want["start_ns"] // 1000:
        problems.append(f"start {tr.stats.starttime.ns} != {want['start_ns']}")
    if abs(tr.stats.sampling_rate - want["rate"]) > 1e-6 * want["rate"]:
        problems.append(f"rate {tr.stats.sampling_rate}")
    if tr.stats.npts != want["npts"]:
        problems.append(f"npts {tr.stats.npts}")
    if tr.stats.mseed.encoding != want["encoding"]:
        problems.append(f"encoding {tr.stats.mseed.encoding}")
    data = tr.data.tobytes() if want["kind"] == "text" else tr.data
    if canonical_sha(data, want["kind"]) != want["sha256"]:
        problems.append("samples differ")
    return problems


def main():
    manifest_path = sys.argv[1]
    base = os.path.dirname(manifest_path)
    manifest = json.load(open(manifest_path))
    failures = 0
    checks = 0
    for entry in manifest:
        path = os.path.join(base, entry["file"])
        readers = [("pymseed", check_pymseed)]
        if entry["format_version"] == 2:
            readers.append(("obspy", check_obspy))
        for name, check in readers:
            checks += 1
            try:
                problems = check(path, entry)
            except Exception as e:  # a reader refusing our file is a failure, not a crash
                problems = [f"{type(e).__name__}: {e}"]
            if problems:
                failures += 1
                print(f"FAIL {name} {entry['file']}: {'; '.join(problems)}")
    print(f"{checks - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
