"""Prints the start time (integer ns since 1970) of the first trace of each miniSEED file, as
ObsPy reads it (warnings allowed: ObsPy warns about odd headers but reads them)."""
import sys
import warnings

from obspy import read

warnings.simplefilter("ignore")
for path in sys.argv[1:]:
    print(read(path)[0].stats.starttime.ns)
