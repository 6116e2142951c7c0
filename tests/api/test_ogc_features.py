"""OGC API – Features read by GDAL's own OAPIF driver (through pyogrio), as QGIS would: every collection
lists, reads back with the right count and geometries, pages, filters by bbox; incidents only for staff."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import shapely

from tests.browser import live_server

LAYERS = ("streets", "communities", "grids", "buildings", "road_segments")


# GDAL runs in its own process: a read from the same process as the threaded test server holds the
# interpreter while it waits for the answer, which that server then cannot give.
_GDAL = (
    "import pickle, sys, pyogrio; name, args, kw = pickle.loads(sys.stdin.buffer.read()); "
    "sys.stdout.buffer.write(pickle.dumps(getattr(pyogrio, name)(*args, **kw)))"
)


def gdal(call: str, *args, token: str | None = None, **kw):
    """``pyogrio.<call>(*args, **kw)`` in a fresh process, sending ``token`` as a bearer token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GDAL_HTTP_")}
    if token:  # GDAL's own bearer option, as a QGIS or ogr2ogr user would set it
        env.update(GDAL_HTTP_AUTH="BEARER", GDAL_HTTP_BEARER=token)
    done = subprocess.run(
        [sys.executable, "-c", _GDAL],
        input=pickle.dumps((call, args, kw)),
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    )
    return pickle.loads(done.stdout)  # noqa: S301 (our own child's answer)


def test_gdal_reads_every_collection(world):
    with live_server(world.app) as base:
        source = f"OAPIF:{base}/ogc"
        names = {name for name, _ in gdal("list_layers", source)}
        assert names == set(LAYERS)  # incidents are not listed to the public
        for layer in LAYERS:
            read = gdal("read_dataframe", source, layer=layer)
            stored = world.sql(
                f"SELECT id, ST_AsBinary(geom) FROM {layer}"  # noqa: S608 (test constants)
                + (" WHERE valid_to IS NULL" if layer == "grids" else "")
            )
            assert len(read) == len(stored) > 0, layer
            by_id = {r[0]: shapely.from_wkb(bytes(r[1])) for r in stored}
            for fid, geom in zip(read["id"], read.geometry, strict=True):
                assert geom.normalize().equals_exact(by_id[fid].normalize(), 1e-7), (layer, fid)
        box = world.places[0]
        west = f"{box.lon - 0.002},{box.lat - 0.002},{box.lon + 0.002},{box.lat + 0.002}"
        near = gdal("read_dataframe", source, layer="buildings", bbox=tuple(map(float, west.split(","))))
        assert 0 < len(near) < len(world.sql("SELECT id FROM buildings"))


def test_incidents_are_a_collection_for_staff(world):
    citizen = world.user("张三", "citizen", phone="13812345678")
    for place in world.places[:3]:
        assert world.report(citizen, place).status_code == 201
    with live_server(world.app) as base:
        source = f"OAPIF:{base}/ogc"
        assert "incidents" in {name for name, _ in gdal("list_layers", source, token=world.district)}
        read = gdal("read_dataframe", source, layer="incidents", token=world.district)
        assert len(read) == 3 and set(read.geometry.geom_type) == {"Point"}
        assert set(read["grid_id"]) == {p.grid_id for p in world.places[:3]}
    page = world.get("/ogc/collections/incidents/items?limit=2", world.district).get_json()
    assert page["numberMatched"] == 3 and page["numberReturned"] == 2
    assert [link["rel"] for link in page["links"]] == ["self", "next"]
    dated = world.get("/ogc/collections/incidents/items?datetime=2027-01-01T00:00:00Z/..", world.district)
    assert dated.get_json()["numberMatched"] == 0
    assert world.get("/ogc/collections/incidents/items").status_code == 401
    assert world.get("/ogc/collections/incidents/items", citizen).status_code == 403
    landing = world.get("/ogc").get_json()
    assert {link["rel"] for link in landing["links"]} >= {"conformance", "data", "service-desc"}
    assert world.get("/ogc/conformance").get_json()["conformsTo"][0].endswith("/conf/core")
