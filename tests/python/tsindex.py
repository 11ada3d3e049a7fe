"""Writes the SQLite time-series index that portable-fdsnws-dataselect serves from, in
mseedindex's `tsindex` schema (and its summary table), from rows the test computed.

usage: tsindex.py ROWS.json DB.sqlite
Each row: network, station, location, channel, quality, starttime, endtime (ISO, no Z),
samplerate, filename, bytes. One row per file: byteoffset 0, the whole file one section.
"""
import json
import sqlite3
import sys

rows = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
db.execute(
    """CREATE TABLE tsindex (
        network TEXT, station TEXT, location TEXT, channel TEXT,
        quality TEXT, version INTEGER, starttime TEXT, endtime TEXT, samplerate REAL,
        filename TEXT, byteoffset INTEGER, bytes INTEGER, hash TEXT, timeindex TEXT,
        timespans TEXT, timerates TEXT, format TEXT, filemodtime TEXT, updated TEXT,
        scanned TEXT)"""
)
for r in rows:
    db.execute(
        "INSERT INTO tsindex (network, station, location, channel, quality, version,"
        " starttime, endtime, samplerate, filename, byteoffset, bytes, hash, timeindex,"
        " timespans, timerates, format, filemodtime, updated, scanned)"
        " VALUES (?,?,?,?,?,1,?,?,?,?,0,?,NULL,NULL,NULL,NULL,NULL,"
        " datetime('now'), datetime('now'), datetime('now'))",
        (
            r["network"], r["station"], r["location"], r["channel"], r["quality"],
            r["starttime"], r["endtime"], r["samplerate"], r["filename"], r["bytes"],
        ),
    )
db.execute(
    "CREATE TABLE tsindex_summary AS SELECT network, station, location, channel,"
    " min(starttime) AS earliest, max(endtime) AS latest, datetime('now') AS updt"
    " FROM tsindex GROUP BY 1,2,3,4"
)
db.commit()
print(f"{len(rows)} index rows")
