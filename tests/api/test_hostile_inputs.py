"""Each hostile or careless input the trust review found answering 500 (or accepted), by its reproduction:
now a precise 4xx problem document, and nothing written."""

from __future__ import annotations

import json

import pytest

DEEP = "[" * 5000 + "]" * 5000
TABLES = ("incidents", "incident_events", "grid_previews", "patrol_tracks", "categories", "api_tokens")


def _counts(world) -> dict[str, int]:
    return {t: world.sql(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}  # noqa: S608 (our names)


def _raw(world, method: str, path: str, token: str | None, data: str | bytes, mime: str = "application/json"):
    headers = {"Content-Type": mime}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return world.client.open(path, method=method, data=data, headers=headers)


def _refused(r, status: int | tuple[int, ...], words: str = "") -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.get_data(as_text=True)[:300])
    if r.mimetype == "application/json":  # Open311 answers its spec's error list
        assert words in r.get_data(as_text=True)
        return
    assert r.mimetype == "application/problem+json"
    assert words in r.get_json()["detail"], r.get_json()


@pytest.fixture
def case(world):
    """A district with one reported incident, a citizen and a worker, and the row counts before."""
    place = world.places[0]
    citizen = world.user("张三", "citizen", phone="13812345678")
    inc = world.report(citizen, place).get_json()
    return world, place, citizen, inc["id"]


def test_control_characters_never_reach_sql(case):
    world, place, citizen, inc = case
    before = _counts(world)
    body = {"lon": place.lon, "lat": place.lat, "category": "A01"}
    for bad in (
        {**body, "description": "垃圾\x00堆放"},
        {**body, "reporter": {"name": "张\x00三"}},
        {**body, "category": "A\x0001"},
        {**body, "description\x00": "x"},
    ):
        _refused(world.post("/api/v1/incidents", citizen, bad), 400, "control character")
    _refused(world.step(world.district, inc, "accept", note="好\x00"), 400, "control character")
    _refused(world.post("/api/v1/categories", world.district, {"categories": [{"code": "X\x00"}]}), 400)
    for path in (
        "/api/v1/incidents?category=A%0001",
        "/api/v1/grids/G%00/history",
        "/open311/v2/requests.json?service_code=A%0001",
        "/api/v1/locate?lon=1%00&lat=2",
    ):
        _refused(world.get(path, world.district), 400, "control character")
    form = {
        "api_key": citizen,
        "service_code": "A01",
        "lat": place.lat,
        "long": place.lon,
        "description": "a\x00",
    }
    _refused(world.client.post("/open311/v2/requests.json", data=form), 400, "control character")
    assert _counts(world) == before


def test_deep_or_non_finite_json_is_refused_on_every_write(case):
    world, place, citizen, inc = case
    before = _counts(world)
    for path in (
        "/api/v1/incidents",
        f"/api/v1/incidents/{inc}/accept",
        "/api/v1/grids/draw",
        "/api/v1/patrols/plan",
        "/api/v1/categories",
    ):
        r = _raw(world, "POST", path, world.district, '{"a": ' + DEEP + "}")
        _refused(r, (400, 413), "nested" if r.status_code == 400 else "limit")
    nan = f'{{"lon": {place.lon}, "lat": NaN, "category": "A01"}}'
    _refused(_raw(world, "POST", "/api/v1/incidents", citizen, nan), 400, "finite")
    speed = _raw(
        world,
        "POST",
        "/api/v1/patrols/plan",
        world.district,
        f'{{"grid": "{place.grid_id}", "speed_kmh": NaN}}',
    )
    _refused(speed, 400, "finite")
    assert _counts(world) == before


def test_values_of_the_wrong_type_are_refused_before_any_lookup(case):
    world, place, citizen, inc = case
    other = world.report(citizen, world.places[1]).get_json()["id"]
    before = _counts(world)
    _refused(world.post("/api/v1/grids/draw", citizen, {"community": 123}), 403)  # the role first
    for body in ({"community": 123}, {"community": {"id": place.community_id}}, {"street": ["x"]}):
        _refused(world.post("/api/v1/grids/draw", world.district, body), 400, "string")
    _refused(world.step(world.district, other, "merge", into=True), 400, "into")
    for lon in (True, "116.4", None, [1]):
        r = world.post("/api/v1/incidents", citizen, {"lon": lon, "lat": place.lat, "category": "A01"})
        _refused(r, 400, "lon")
    _refused(
        world.post("/api/v1/patrols/plan", world.district, {"grid": place.grid_id, "patrollers": "2"}), 400
    )
    assert world.get(f"/api/v1/incidents/{other}", world.district).get_json()["status"] == "reported"
    assert _counts(world) == before


def test_far_points_and_huge_ids_are_refused_not_projected(case):
    world, place, citizen, inc = case
    before = _counts(world)
    for query in ("lon=33&lat=0", "lon=0&lat=5e-324", "lon=-179.9&lat=89.9", f"lon={place.lon}&lat=-60"):
        far = world.get(f"/api/v1/locate?{query}")  # answered, never projected
        assert far.status_code == 200 and far.get_json()["status"] == "outside_service_area", far.get_json()
        assert far.get_json()["grid"] is None
    away = {"lon": 33, "lat": 0, "category": "A01"}
    _refused(world.post("/api/v1/incidents", citizen, away), 422, "outside the service area")
    plan = {"grid": place.grid_id, "start": [33, 0]}
    _refused(world.post("/api/v1/patrols/plan", world.district, plan), (400, 422), "start")
    for path in (
        "/api/v1/incidents/99999999999999999999999",
        "/open311/v2/requests/99999999999999999999999.json",
    ):
        _refused(world.get(path, world.district), (400, 404))
    assert _counts(world) == before


def test_malformed_patrol_logs_are_refused(case):
    world, place, citizen, inc = case
    worker = world.user("网格员", "grid_worker", person=place.worker_id)
    before = _counts(world)
    for data in (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "LineString"}}]}',
        '{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[1, "a"], [2]]}}',
        '{"type": "FeatureCollection", "features": 5}',
        "[1, 2, 3]",
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null}]}',
        json.dumps(
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[33, 0], [33.1, 0.1]]}}
        ),
    ):
        r = _raw(world, "POST", "/api/v1/patrols/tracks?format=geojson", worker, data)
        _refused(r, (400, 422))
    assert _counts(world) == before


def test_a_citizen_whose_phone_was_typed_with_spaces_can_report(world):
    citizen = world.user("李四", "citizen", phone="138 0013 8000")
    r = world.report(citizen, world.places[0])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["reporter"]["phone"] == "138****8000"
    assert world.get("/api/v1/incidents", citizen).status_code == 200
    with pytest.raises(Exception, match="not a phone number"):
        world.user("王五", "citizen", phone="call me maybe")
