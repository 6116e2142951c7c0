"""Patrol logs through the API and the CLI, coverage checked against PostGIS, the twice-a-week rule, and the
coverage map in real Chromium."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from core.coverage import street_coverage
from core.patrols import area_inputs, plan
from core.tokens import add_user
from core.tracks import store_track
from geo.coords import from_wgs84
from geo.network import build_network
from geo.patrol import route_line
from geo.tracks import clean
from tests.browser import chromium, live_server, visit
from tests.conftest import TRACKS_END

MONDAY = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # Monday 2 March 2026, midnight in Panjin
PERIOD = "from=2026-03-01T16:00Z&to=2026-03-08T16:00Z"  # that week, in UTC


def walk_points(
    line: shapely.LineString, t0: datetime, kmh: float = 4.0, every_s: float = 5.0, offset_deg: float = 0.0
) -> pd.DataFrame:
    """Fixes along a WGS-84 line at walking pace (metres from a local projection)."""
    metric = gpd.GeoSeries([line], crs=4326).to_crs(32651).iloc[0]
    step = kmh / 3.6 * every_s
    at = np.arange(0, metric.length + step / 2, step)
    pts = gpd.GeoSeries(shapely.line_interpolate_point(metric, at), crs=32651).to_crs(4326)
    return pd.DataFrame(
        {
            "t": t0.timestamp() + every_s * np.arange(len(at)),
            "lon": pts.x + offset_deg,
            "lat": pts.y + offset_deg,
        }
    )


def gpx_bytes(points: pd.DataFrame, crs: str = "wgs84") -> bytes:
    lon, lat = from_wgs84(points.lon.to_numpy(), points.lat.to_numpy(), crs)
    stamps = pd.to_datetime(points.t, unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = "".join(
        f'<trkpt lat="{y:.7f}" lon="{x:.7f}"><time>{s}</time></trkpt>'
        for x, y, s in zip(lon, lat, stamps, strict=True)
    )
    return (
        f'<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{body}</trkseg></trk></gpx>"
    ).encode()


@pytest.fixture
def setting(workflow_url):
    """A private district: one grid worker's planned route, tokens, and an app."""
    from api.http.app import create_app

    engine = create_engine(workflow_url)
    with engine.begin() as c:
        grid, worker = c.execute(
            text(
                "SELECT g.id, p.id FROM grids g JOIN people p ON p.grid_id = g.id AND p.role = 'grid_worker' "
                "ORDER BY g.id LIMIT 1"
            )
        ).one()
        street = c.execute(text("SELECT id FROM streets")).scalar_one()
        roads, area, _ = area_inputs(c, grid=grid)
        tokens = {
            "worker": add_user(c, "w", "grid_worker", scope_id=grid, person_id=worker)[1],
            "admin": add_user(c, "a", "street_admin", scope_id=street)[1],
            "citizen": add_user(c, "c", "citizen")[1],
        }
    network, [route] = plan(roads, area)
    app = create_app({"TESTING": True, "ENGINE": engine, "CLOCK": lambda: MONDAY + timedelta(days=7)})
    yield {
        "engine": engine,
        "client": app.test_client(),
        "grid": grid,
        "worker": worker,
        "street": street,
        "route": route_line(network, route),
        "tokens": tokens,
    }
    engine.dispose()


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _count(engine) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM patrol_tracks")).scalar_one()


def test_a_worker_uploads_a_gcj02_walk_and_sees_their_grid_walked(setting):
    client, tokens = setting["client"], setting["tokens"]
    walk = walk_points(setting["route"], MONDAY + timedelta(hours=1))
    r = client.post(
        "/api/v1/patrols/tracks?crs=gcj02",
        data=gpx_bytes(walk, "gcj02"),
        headers={**_auth(tokens["worker"]), "Content-Type": "application/gpx+xml"},
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["person_id"] == setting["worker"] and body["cleaning"]["kept"] == len(walk)
    assert body["cleaning"]["length_m"] == pytest.approx(
        gpd.GeoSeries([setting["route"]], crs=4326).to_crs(32651).length.iloc[0], rel=0.03
    )
    r = client.get(f"/api/v1/patrols/coverage?{PERIOD}", headers=_auth(tokens["worker"]))
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    # A worker sees their own grid and nothing of anyone else's.
    assert [g["id"] for g in report["grids"]] == [setting["grid"]] and report["segments"] == []
    [grid] = report["grids"]
    assert grid["walked_share"] == grid["worker_share"] and grid["worker_share"] > 0.97
    [me] = report["workers"]
    assert me["tracks"] == 1 and me["weeks"] == [
        {"week": "2026-03-02", "joint_days": 0, "complete": True, "ok": False}
    ]
    # The admin sees the whole street, including roads nobody walked.
    full = client.get(f"/api/v1/patrols/coverage?{PERIOD}", headers=_auth(tokens["admin"]))
    assert len(full.get_json()["grids"]) > 1 and full.get_json()["unwalked"]["features"]


@pytest.mark.parametrize(
    ("query", "data", "who", "status", "detail"),
    [
        ("?format=gpx", b"<gpx><trk>", "worker", 422, "malformed GPX"),
        (
            "?format=csv",
            b"time,lon,lat\n2026-03-02 09:00:00,116.39,39.90\n2026-03-02 09:00:05,116.3901,39.90\n",
            "worker",
            422,
            "never comes within the service area",
        ),
        ("?format=kml", b"x", "worker", 400, "format: Input should be 'gpx'"),
        ("?format=gpx&person={other}", b"<gpx/>", "worker", 403, "only their own"),
        ("?format=gpx&person=NOBODY", b"<gpx/>", "admin", 404, "no person"),
        ("?format=gpx", b"", "citizen", 400, "say whose patrol log"),
        ("?format=gpx&crs=utm", b"<gpx/>", "worker", 400, "crs: Input should be"),
    ],
)
def test_bad_uploads_get_a_clear_problem_and_store_nothing(setting, query, data, who, status, detail):
    other = "211103001P0002" if setting["worker"] != "211103001P0002" else "211103001P0003"
    r = setting["client"].post(
        "/api/v1/patrols/tracks" + query.format(other=other), data=data, headers=_auth(setting["tokens"][who])
    )
    assert (
        r.status_code == status
        and r.mimetype == "application/problem+json"
        and detail in r.get_json()["detail"]
    )
    assert _count(setting["engine"]) == 0


def test_patrol_logs_are_never_changed_or_deleted(setting):
    walk = walk_points(setting["route"], MONDAY)
    with setting["engine"].begin() as c:
        store_track(c, setting["worker"], clean(walk), "gpx", "wgs84", uploaded_by="test")
    for sql in ("DELETE FROM patrol_tracks", "UPDATE patrol_tracks SET person_id = person_id"):
        with pytest.raises(DBAPIError, match="never changed or deleted"), setting["engine"].begin() as c:
            c.execute(text(sql))
    assert _count(setting["engine"]) == 1


def test_the_twice_a_week_rule_counts_days_walked_together(setting):
    """An official walks with the worker on Tuesday and Thursday; on Friday a different route at the same time."""
    engine = setting["engine"]
    # Three laps of the grid's closed route: about 20 minutes, more than the 10 a joint walk needs.
    lap = list(setting["route"].coords)
    route = shapely.LineString(lap + lap[1:] + lap[1:])
    with engine.begin() as c:
        official = c.execute(
            text("SELECT id FROM people WHERE role = 'official' ORDER BY id LIMIT 1")
        ).scalar_one()
        for day, together in ((1, True), (3, True), (4, False)):
            t0 = MONDAY + timedelta(days=day, hours=2)
            store_track(c, setting["worker"], clean(walk_points(route, t0)), "gpx", "wgs84", uploaded_by="t")
            # Beside the worker (about 10 m off), or a block away (about 190 m off).
            theirs = walk_points(route, t0, offset_deg=0.0001 if together else 0.0015)
            store_track(c, official, clean(theirs), "gpx", "wgs84", uploaded_by="t")
        report = street_coverage(c, setting["street"], MONDAY, MONDAY + timedelta(days=7))
    [me] = [w for w in report["workers"] if w["id"] == setting["worker"]]
    assert me["weeks"] == [{"week": "2026-03-02", "joint_days": 2, "complete": True, "ok": True}]
    others = [w for w in report["workers"] if w["id"] != setting["worker"]]
    assert others and all(w["weeks"][0]["joint_days"] == 0 and not w["weeks"][0]["ok"] for w in others)


def test_the_cli_stores_logs_and_reports(setting, cli, workflow_url, tmp_path):
    walk = walk_points(setting["route"], MONDAY + timedelta(hours=3))
    path = tmp_path / "walk.gpx"
    path.write_bytes(gpx_bytes(walk))
    result = cli(
        workflow_url,
        "patrol",
        "coverage",
        str(path),
        "--person",
        setting["worker"],
        "--from",
        "2026-03-01T16:00+00:00",
        "--to",
        "2026-03-08T16:00+00:00",
    )
    assert result.exit_code == 0, result.output
    assert f"{len(walk)} of {len(walk)} points kept" in result.output and setting["grid"] in result.output
    result = cli(
        workflow_url, "patrol coverage --from 2026-03-01T16:00+00:00 --to 2026-03-08T16:00+00:00 --json"
    )
    report = json.loads(result.output)
    [grid] = [g for g in report["grids"] if g["id"] == setting["grid"]]
    assert grid["worker_share"] > 0.97 and report["tracks"] == 1
    bad = tmp_path / "bad.gpx"
    bad.write_text("<gpx")
    result = cli(workflow_url, "patrol", "coverage", str(bad), "--person", setting["worker"])
    assert result.exit_code != 0 and "malformed GPX" in result.output and _count(setting["engine"]) == 1


# -- the demo week -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tracks_engine(tracks_url):
    engine = create_engine(tracks_url)
    yield engine
    engine.dispose()


def test_segment_coverage_agrees_with_postgis_buffers(tracks_engine):
    """Our sampled shares against PostGIS's own: the segment length inside the union of 20 m track buffers."""
    start, end = TRACKS_END - timedelta(days=1), TRACKS_END
    with tracks_engine.connect() as c:
        street = c.execute(text("SELECT id FROM streets")).scalar_one()
        report = street_coverage(c, street, start, end)
        # Within 20 + 10 m of a junction (three or more roads meet) is left out: crossing is not walking.
        network = build_network(gpd.read_postgis(text("SELECT name, geom FROM roads"), c, geom_col="geom"))
        assert network.epsg == 32651
        junctions = shapely.MultiPoint(
            [network.graph.nodes[n]["xy"] for n in network.graph if network.graph.degree(n) >= 3]
        )
        oracle = dict(
            c.execute(
                text("""
            WITH walked AS (
                SELECT ST_Union(ST_Buffer(ST_Transform(geom, 32651), 20, 'quad_segs=16')) AS area
                FROM patrol_tracks WHERE started_at < :e AND ended_at >= :s),
            counted AS (
                SELECT s.id, ST_Difference(ST_Transform(s.geom, 32651),
                                           ST_Buffer(ST_GeomFromText(:j, 32651), 30, 'quad_segs=16')) AS line
                FROM road_segments s)
            SELECT c.id, ST_Length(ST_Intersection(c.line, w.area)) / ST_Length(c.line)
            FROM counted c, walked w"""),
                {"s": start, "e": end, "j": junctions.wkt},
            ).all()
        )
    assert report["tracks"] > 100
    shares = {s["id"]: s["walked_share"] for s in report["segments"]}
    assert shares.keys() == oracle.keys()
    for sid, share in shares.items():
        assert share == pytest.approx(oracle[sid], abs=0.02), sid
    # Two back roads nobody walked this week, and chiefs away: not everything is walked in one day.
    assert min(shares.values()) < 0.2 and max(shares.values()) == 1


def test_the_demo_week_reports_workers_chiefs_and_the_rule(tracks_engine):
    with tracks_engine.connect() as c:
        street = c.execute(text("SELECT id FROM streets")).scalar_one()
        report = street_coverage(c, street, TRACKS_END - timedelta(days=7), TRACKS_END)
        chiefs = c.execute(text("SELECT count(*) FROM people WHERE role = 'street_chief'")).scalar_one()
    assert len(report["workers"]) == 64 and len(report["chiefs"]) == chiefs
    weeks = [w["weeks"] for w in report["workers"]]
    assert all(len(w) == 1 and w[0]["complete"] for w in weeks)
    # The generator has officials walk with four in five workers twice, and with the rest once.
    ok = sum(w[0]["ok"] for w in weeks)
    assert 40 <= ok < 64 and all(w[0]["joint_days"] in (1, 2) for w in weeks)
    assert any(c["tracks"] == 0 and c["own_share"] == 0 for c in report["chiefs"])
    assert all(0 <= g["buildings_passed"] <= g["buildings"] for g in report["grids"])


@pytest.mark.browser
def test_the_coverage_map_in_chromium(tracks_engine):
    from api.http.app import create_app

    with tracks_engine.begin() as c:
        street = c.execute(text("SELECT id FROM streets")).scalar_one()
        admin = add_user(c, "cov", "street_admin", scope_id=street)[1]
        worker = add_user(c, "cw", "grid_worker", scope_id="21110300100101", person_id="211103001P0001")[1]
    app = create_app({"ENGINE": tracks_engine, "CLOCK": lambda: TRACKS_END})
    client = app.test_client()
    assert client.get("/maps/coverage", headers=_auth(worker)).status_code == 403
    bad = client.get("/maps/coverage?from=2026-11-01&to=2026-10-01", headers=_auth(admin))
    assert bad.status_code == 400 and "before" in bad.get_json()["detail"]
    with live_server(app) as base, chromium() as browser:
        page, seen = visit(browser, base, "/maps/coverage", "coverage.png", token=admin)
        assert seen.errors == [] and seen.outside == []
        control = page.inner_text(".leaflet-control-layers")
        for layer in ("巡查轨迹", "责任路段", "无人巡查道路", "未经过楼栋", "计划路线", "网格"):
            assert layer in control
        # Segments are drawn, one path each, plus tracks and grids.
        assert page.locator("path.leaflet-interactive").count() > 300
        assert "巡查覆盖 Patrol coverage" in page.inner_text(".wangge-panel")
        page.close()
