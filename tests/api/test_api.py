"""The HTTP API through Flask's test client, on the demo district in a real PostGIS."""

from __future__ import annotations

import re

import pytest
import shapely

from geo.coords import from_wgs84

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def inside_point(demo_layers):
    """A point inside a building, and so inside its grid."""
    b = demo_layers["buildings"].iloc[5]
    p = b.geometry.representative_point()
    return p.x, p.y, b


def test_health_reports_postgis(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json["database"] == "reachable" and re.match(r"3\.\d", r.json["postgis"])


def test_a_resident_at_home_is_placed_in_every_level(client, inside_point, demo_layers):
    lon, lat, building = inside_point
    r = client.get(f"/api/v1/locate?lon={lon}&lat={lat}")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["status"] == "ok"
    assert body["building"]["id"] == building["id"]
    assert body["grid"]["id"] == building["grid_id"]
    assert body["community"]["id"] == building["community_id"]
    assert body["street"] == {"id": "211103001", "name": "振兴街道"}
    worker = body["grid_worker"]
    assert worker["role"] == "grid_worker" and re.fullmatch(r"1\d\d\*{4}\d{4}", worker["phone"])
    if body["segment"]:
        assert body["segment"]["distance_m"] <= 50
        assert body["street_chiefs"] and all("****" in c["phone"] for c in body["street_chiefs"])
        assert {c["kind"] for c in body["street_chiefs"]} <= {"party", "merchant"}


def test_a_point_on_a_main_road_finds_its_segment_and_chiefs(client, demo_layers):
    street = demo_layers["streets"].geometry.iloc[0]
    # a segment inside the street, not one running along its edge
    seg = next(
        s
        for _, s in demo_layers["road_segments"].iterrows()
        if street.boundary.distance(s.geometry.interpolate(0.5, normalized=True)) > 1e-4
    )
    p = seg.geometry.interpolate(0.5, normalized=True)
    body = client.get(f"/api/v1/locate?lon={p.x}&lat={p.y}").json
    assert body["segment"]["id"] == seg["id"] and body["segment"]["distance_m"] < 0.01
    people = demo_layers["people"]
    expected = set(people.loc[people["segment_id"] == seg["id"], "id"])
    assert {c["id"] for c in body["street_chiefs"]} == expected


def test_phone_coordinates_in_gcj02_and_bd09_land_on_the_same_building(client, inside_point):
    lon, lat, building = inside_point
    for crs in ("gcj02", "bd09"):
        x, y = from_wgs84(lon, lat, crs)
        body = client.get(f"/api/v1/locate?lon={float(x)}&lat={float(y)}&crs={crs}").json
        assert body["building"]["id"] == building["id"], crs
        assert abs(body["wgs84"]["lon"] - lon) < 1e-6


def test_outside_the_service_area_is_explicit(client):
    body = client.get("/api/v1/locate?lon=121.5&lat=41.0").json
    assert body["status"] == "outside_service_area"
    assert body["grid"] is None and body["street"] is None and body["grid_worker"] is None


@pytest.mark.parametrize(
    "query,detail",
    [
        ("lat=41.12", "lon: 缺少 missing"),
        ("lon=abc&lat=41.12", "lon: not a number (got 'abc')"),
        ("lon=nan&lat=41.12", "lon: not a finite number"),
        ("lon=122.07&lat=95.2", "lat: Input should be less than or equal to 90"),
        ("lon=122.07&lat=41.12&crs=mars", "crs: Input should be 'wgs84'"),
    ],
)
def test_bad_locate_queries_get_problem_details(client, query, detail):
    r = client.get(f"/api/v1/locate?{query}")
    assert r.status_code == 400 and r.content_type == PROBLEM
    assert detail in r.json["detail"] and r.json["status"] == 400 and r.json["title"]


def test_layers_are_geojson_with_bbox_and_paging(client, demo_layers):
    r = client.get("/api/v1/grids?limit=10")
    fc = r.json
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 10 and fc["numberReturned"] == 10
    assert len(fc["bbox"]) == 4 and [link["rel"] for link in fc["links"]] == ["next"]
    assert fc["total"] == fc["numberMatched"] == len(demo_layers["grids"])
    ids = [f["id"] for f in fc["features"]]
    assert ids == sorted(ids)
    nxt = client.get(fc["links"][0]["href"]).json
    assert not set(ids) & {f["id"] for f in nxt["features"]} and len(nxt["features"]) == 10
    assert [link["rel"] for link in nxt["links"]] == ["prev", "next"]
    assert [f["id"] for f in client.get(nxt["links"][0]["href"]).json["features"]] == ids
    everything = client.get("/api/v1/grids?limit=5000").json
    assert len(everything["features"]) == len(demo_layers["grids"]) and everything["links"] == []
    ring = everything["features"][0]["geometry"]["coordinates"][0][0]
    assert shapely.LinearRing(ring).is_ccw  # RFC 7946 winding


def test_bbox_filters_features(client, inside_point):
    lon, lat, building = inside_point
    d = 0.0002
    fc = client.get(f"/api/v1/buildings?bbox={lon - d},{lat - d},{lon + d},{lat + d}").json
    assert building["id"] in {f["id"] for f in fc["features"]}
    assert len(fc["features"]) < 10


def test_one_feature_by_id_and_unknowns(client, demo_layers):
    sid = demo_layers["road_segments"]["id"].iloc[0]
    f = client.get(f"/api/v1/road_segments/{sid}").json
    assert f["type"] == "Feature" and f["id"] == sid and f["geometry"]["type"] == "LineString"
    r = client.get("/api/v1/grids/NOPE")
    assert r.status_code == 404 and r.content_type == PROBLEM and "NOPE" in r.json["detail"]
    r = client.get("/api/v1/people")
    assert r.status_code == 404 and r.content_type == PROBLEM
    for bad in ("limit=0", "limit=999999", "offset=-1", "bbox=1,2,3", "limit=x"):
        r = client.get(f"/api/v1/streets?{bad}")
        assert r.status_code == 400 and r.content_type == PROBLEM, bad


def test_sql_injection_in_an_id_is_just_an_unknown_id(client):
    r = client.get("/api/v1/grids/1';DROP TABLE grids;--")
    assert r.status_code == 404
    assert client.get("/api/v1/grids?limit=1").status_code == 200


def test_the_grid_map_page_names_every_grid_and_its_source(client, demo_layers):
    r = client.get("/maps/grids")
    assert r.status_code == 200 and r.content_type.startswith("text/html")
    page = r.get_data(as_text=True)
    assert "网格户数 Grid households" in page and "数据来源 Source" in page and "数据时间 Data time" in page
    for gid in demo_layers["grids"]["id"]:
        assert gid in page
    phones = demo_layers["people"]["phone"]
    assert not any(p in page for p in phones)  # only masked numbers reach the page
    assert "****" in page
