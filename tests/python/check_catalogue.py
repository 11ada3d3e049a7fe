"""The catalogues of a storage root (tests/catalogue.rs).

Arguments: ROOT XML. Reads ROOT/catalog.json with pystac and validates it and every item it
links against the STAC 1.1 core schemas pystac ships (offline: the extension schemas live on
stac-extensions.github.io, which the tests cannot reach, so each extension is checked through
its reader instead: pystac's DatacubeExtension and the item's xarray open keywords). For each
item: the dataset is opened as the asset says; xstac (the PANGEO tool that writes datacube
items from xarray) describes the same dataset, and the variables (type, dimensions, shape,
units) and the temporal dimension (extent to the second, step) must be equal; an item placed
by station coordinates must sit where ObsPy's read_inventory of XML puts the station; the
Intake catalogue's entry of the same id must open an identical dataset. Prints a JSON summary.
"""
import json
import os
import sys
import warnings

import intake
import numpy as np
import pandas as pd
import pystac
import pystac.validation as validation
import xarray as xr
import xstac
from obspy import read_inventory
from pystac.extensions.datacube import DatacubeExtension

warnings.simplefilter("ignore")

root, xml = sys.argv[1:3]
problems = []
out = {"items": 0, "items_valid": 0, "datacube_equal_xstac": 0, "intake_equal_asset": 0,
       "geometry_equal_obspy": 0}

with open(os.path.join(root, "catalog.json")) as f:
    raw_catalogue = json.load(f)
try:
    validation.validate_dict(raw_catalogue, extensions=[])
    out["catalogue_valid"] = True
except Exception as e:  # noqa: BLE001
    out["catalogue_valid"] = False
    problems.append(f"catalogue: {e}")

inv = read_inventory(xml)
station_places = {
    f"{n.code}.{s.code}.{c.location_code}.{c.code}": (c.longitude, c.latitude)
    for n in inv for s in n for c in s
}

intake_cat = intake.open_catalog(os.path.join(root, "catalog.yaml"))
cat = pystac.Catalog.from_file(os.path.join(root, "catalog.json"))
for item in cat.get_items(recursive=True):
    out["items"] += 1
    with open(item.get_self_href()) as f:
        raw = json.load(f)
    try:
        validation.validate_dict(raw, extensions=[])
        out["items_valid"] += 1
    except Exception as e:  # noqa: BLE001
        problems.append(f"{item.id}: {e}")

    asset = item.assets["zarr"]
    kw = dict(asset.extra_fields["xarray:open_kwargs"])
    ds = xr.open_dataset(asset.get_absolute_href(), **kw)

    # The datacube as pystac reads it, against xstac's description of the same dataset.
    cube = DatacubeExtension.ext(item)
    dims = {k: v.to_dict() for k, v in cube.dimensions.items()}
    variables = {k: v.to_dict() for k, v in cube.variables.items()}
    temporal = [k for k, d in dims.items() if d["type"] == "temporal"]
    template = {
        "type": "Feature", "stac_version": "1.1.0", "id": item.id, "geometry": None,
        "properties": {"datetime": "2000-01-01T00:00:00Z"}, "links": [], "assets": {},
    }
    ref = xstac.xarray_to_stac(ds, template, temporal_dimension=temporal[0] if temporal else None,
                               x_dimension=False, y_dimension=False, validate=False)
    ref = ref.to_dict()["properties"]
    equal = True
    if set(variables) != set(ref["cube:variables"]):
        equal = False
        problems.append(f"{item.id}: variables {sorted(variables)} vs xstac {sorted(ref['cube:variables'])}")
    for name, want in ref["cube:variables"].items():
        got = variables.get(name, {})
        for key in ("type", "dimensions", "shape"):
            if got.get(key) != want.get(key):
                equal = False
                problems.append(f"{item.id}: {name}.{key} {got.get(key)} vs xstac {want.get(key)}")
        if want.get("unit") is not None and got.get("unit") != want.get("unit"):
            equal = False
            problems.append(f"{item.id}: {name}.unit {got.get('unit')} vs xstac {want.get('unit')}")
    for t in temporal:
        got, want = dims[t], ref["cube:dimensions"][t]
        ours = [pd.Timestamp(x).floor("s").strftime("%Y-%m-%dT%H:%M:%SZ") for x in got["extent"]]
        if ours != want["extent"]:
            equal = False
            problems.append(f"{item.id}: {t} extent {got['extent']} vs xstac {want['extent']}")
        # xstac infers a step from three values or more; with two, ours must be their spacing.
        values = ds[t].values
        if want.get("step") is None and len(values) == 2:
            want = dict(want, step=pd.Timedelta(values[1] - values[0]).isoformat())
        if (want.get("step") is None) != (got.get("step") is None) or (
            want.get("step") and pd.Timedelta(got["step"]) != pd.Timedelta(want["step"])
        ):
            equal = False
            problems.append(f"{item.id}: {t} step {got.get('step')} vs xstac {want.get('step')}")
        # The item's time span is the dimension's.
        props = item.properties
        if [props.get("start_datetime"), props.get("end_datetime")] != got["extent"]:
            equal = False
            problems.append(f"{item.id}: start/end {props.get('start_datetime')} {props.get('end_datetime')} vs {got['extent']}")
    for name, d in dims.items():
        if name not in ds.sizes:
            equal = False
            problems.append(f"{item.id}: dimension {name} not in the dataset {dict(ds.sizes)}")
        elif "values" in d and len(d["values"]) != ds.sizes[name]:
            equal = False
            problems.append(f"{item.id}: {name} lists {len(d['values'])} of {ds.sizes[name]}")
    if equal:
        out["datacube_equal_xstac"] += 1

    # Where the item is: the stations' coordinates (in the store, or from the metadata).
    if item.geometry is not None:
        pts = item.geometry["coordinates"]
        pts = [pts] if item.geometry["type"] == "Point" else pts
        if "latitude" in ds:
            want = sorted({(float(lo), float(la)) for lo, la in zip(ds.longitude.values, ds.latitude.values)})
        else:
            want = sorted({station_places[c] for c in [ds.attrs.get("channel", "")] if c in station_places})
        seed = ds.channel.values.tolist() if "channel" in ds.coords else [ds.attrs.get("channel")]
        obspy = sorted({station_places[s] for s in (
            ".".join(c.removeprefix("FDSN:").split("_")[:3]) + "." + "".join(c.split("_")[3:]) if str(c).startswith("FDSN:") else c
            for c in seed) if s in station_places})
        got = sorted((float(a), float(b)) for a, b in pts)
        if got == want == obspy:
            out["geometry_equal_obspy"] += 1
        else:
            problems.append(f"{item.id}: geometry {got} vs store {want} vs ObsPy {obspy}")

    # The Intake entry of the same product opens the same dataset.
    entry = "".join(c if c.isalnum() else "_" for c in item.id)
    try:
        via_intake = getattr(intake_cat, entry).to_dask()
        xr.testing.assert_identical(via_intake.load(), ds.load())
        out["intake_equal_asset"] += 1
    except Exception as e:  # noqa: BLE001
        problems.append(f"{item.id}: intake entry {entry}: {e}")

out["problems"] = problems
print(json.dumps(out))
