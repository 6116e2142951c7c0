"""Incident maps on a year of demo incidents: the heat map and the grid choropleths, in real Chromium."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from core.scores import scores
from core.tokens import add_user
from geo.coords import wgs84_to_gcj02
from geo.heat import HeatCells, time_keys
from maps.basemaps import base_map
from maps.heat import HeatOptions, incident_heat_map
from tests.browser import chromium, live_server, visit
from tests.conftest import HISTORY_END

PERIOD = "from=2026-08-01&to=2026-11-01"


@pytest.fixture(scope="module")
def history_engine(history_url):
    engine = create_engine(history_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def tokens(history_engine):
    with history_engine.begin() as c:
        street = c.execute(text("SELECT id FROM streets LIMIT 1")).scalar_one()
        return {
            role: add_user(c, role, role, scope_id=scope)[1]
            for role, scope in (("district_admin", None), ("street_admin", street), ("citizen", None))
        }


@pytest.fixture(scope="module")
def app(history_engine):
    from api.http.app import create_app

    return create_app({"ENGINE": history_engine, "CLOCK": lambda: HISTORY_END})


@pytest.fixture(scope="module")
def base(app):
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():  # tests using it are marked browser by conftest
    with chromium() as b:
        yield b


def _count(engine, where: str = "true") -> int:
    with engine.connect() as c:
        return c.execute(
            text(
                f"SELECT count(*) FROM incidents WHERE reported_at >= '2026-08-01T00:00+08:00' "  # noqa: S608
                f"AND reported_at < '2026-11-01T00:00+08:00' AND {where}"
            )
        ).scalar_one()


def test_heat_map_draws_offline_with_heat_time_and_clusters(browser, base, tokens, history_engine):
    page, seen = visit(browser, base, f"/maps/heat?{PERIOD}", "heat.png", tokens["street_admin"])
    assert seen.outside == [] and seen.errors == []
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("事件热力 Incident heat" in t for t in labels) and any("by day" in t for t in labels)
    assert any("most recent reports" in t for t in labels)
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert page.locator(".marker-cluster").count() > 3
    assert page.locator(".leaflet-bar-timecontrol").count() == 1
    total = _count(history_engine)
    assert f"{total:,} 件事件 incidents" in page.locator(".wangge-panel").inner_text()
    # The page states its data time in Beijing time with the offset (the test clock is 1 November, 00:00).
    assert "数据时间 Data time: 2026-11-01 00:00 +08:00" in page.locator(".wangge-panel").inner_text()
    page.close()


def test_heat_map_filters_and_step(browser, base, tokens, history_engine, client_for):
    client = client_for(tokens["district_admin"])
    tiers = client.get(f"/maps/heat?{PERIOD}&tier=B,C&markers=0").get_data(as_text=True)
    expected = _count(history_engine, "tier IN ('B', 'C')")
    assert f"{expected:,} 件事件 incidents" in tiers
    assert "most recent reports" not in tiers
    weekly = client.get(f"/maps/heat?{PERIOD}&step=week").get_data(as_text=True)
    index = re.search(r"TimeDimensionCustom\((\[.*?\])", weekly).group(1)
    days = pd.to_datetime(re.findall(r"'(\d{4}-\d{2}-\d{2})'", index))
    assert len(days) >= 13 and set(days.day_of_week) == {0}  # weeks start on Monday
    for query, words in (
        ("tier=E", "tier 'E'"),
        ("step=hour", "step 'hour'"),
        ("from=soon", "ISO 8601"),
        ("category=Z99", "category 'Z99'"),
        ("markers=99999", "markers"),
        ("from=2026-11-01&to=2026-10-01", "must be after"),
    ):
        r = client.get(f"/maps/heat?{query}")
        assert r.status_code == 400 and words in r.json["detail"], (query, r.json)


@pytest.fixture
def client_for(app):
    def make(token: str | None):
        c = app.test_client()
        if token:
            c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return c

    return make


def test_incident_maps_need_an_admin_token(client_for, tokens):
    assert client_for(None).get("/maps/heat").status_code == 401
    assert client_for(tokens["citizen"]).get("/maps/heat").status_code == 403
    assert client_for(None).get("/maps/grids?measure=score").status_code == 401
    assert client_for(None).get("/maps/grids").status_code == 200  # household grids stay public
    r = client_for(tokens["district_admin"]).get("/maps/grids?measure=crime")
    assert r.status_code == 400 and "measure 'crime'" in r.json["detail"]


def test_grid_choropleths_by_incidents_and_score(browser, base, tokens, history_engine):
    with history_engine.connect() as c:
        gid, n, hh = c.execute(
            text("""
            SELECT g.id, (SELECT count(*) FROM incidents i WHERE i.grid_id = g.id AND i.reported_at >= '2026-08-01'
                          AND i.reported_at < '2026-11-01'),
                   (SELECT sum(households) FROM buildings b WHERE b.grid_id = g.id)
            FROM grids g ORDER BY g.id LIMIT 1""")
        ).one()
        ranking = {
            r["id"]: r["score"]
            for r in scores(
                c,
                "grid",
                since=pd.Timestamp("2026-08-01", tz="UTC"),
                until=pd.Timestamp("2026-11-01", tz="UTC"),
                now=HISTORY_END,
            )
        }
    for measure, expected in (("incidents", round(n * 1000 / hh, 3)), ("score", round(ranking[gid], 3))):
        page, seen = visit(
            browser,
            base,
            f"/maps/grids?measure={measure}&{PERIOD}",
            f"grids-{measure}.png",
            tokens["district_admin"],
        )
        assert seen.outside == [] and seen.errors == []
        fills = set(
            page.eval_on_selector_all(
                "path.leaflet-interactive", "els => els.map(e => e.getAttribute('fill'))"
            )
        )
        assert len(fills - {None, "none"}) >= 4  # classes, not one flat colour
        data = page.content()
        assert f'"id": "{gid}"' in data.replace('"id":"', '"id": "')
        assert re.search(rf'"id": "{gid}"[^}}]*"value": {expected}', data), (measure, expected)
        page.close()


def test_heat_on_a_gcj02_base_map_is_shifted(demo_layers):
    one = pd.DataFrame(
        {
            "id": [1],
            "lon": [122.068],
            "lat": [41.119],
            "tier": ["A"],
            "reported_at": [pd.Timestamp("2026-10-01", tz="UTC")],
            "category": ["x"],
            "status": ["reported"],
            "grid": ["g"],
            "assignee": ["a"],
        }
    )
    heat = HeatCells.of_points(one["lon"], one["lat"], [1.0], time_keys(one["reported_at"], "day"))
    pages = {
        name: incident_heat_map(
            heat,
            one,
            demo_layers,
            base_map(name),
            options=HeatOptions(markers=0),
            source="t",
            data_time=HISTORY_END,
        )
        .get_root()
        .render()
        for name in ("none", "amap")
    }
    glon, glat = wgs84_to_gcj02(122.068, 41.119)
    assert "[41.119, 122.068, 1.0]" in pages["none"]
    assert f"[{round(float(glat), 6)}, {round(float(glon), 6)}, 1.0]" in pages["amap"]


def test_exported_heat_map_opens_offline_from_disk(browser, cli, history_url, tmp_path):
    out = tmp_path / "heat.html"
    r = cli(
        history_url,
        "map",
        "heat",
        "--out",
        str(out),
        "--from",
        "2026-08-01",
        "--to",
        "2026-11-01",
        "--step",
        "week",
    )
    assert r.exit_code == 0, r.output
    assert (
        tmp_path / "heat_files" / "bootstrap@3.4.1" / "dist" / "fonts"
    ).is_dir()  # the time slider's icons
    page, seen = visit(browser, out.parent.as_uri(), "/" + out.name, "heat-file.png")
    assert seen.errors == [] and seen.outside == []
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    page.close()
