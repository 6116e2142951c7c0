"""Map pages in real headless Chromium: drawn, offline, error-free, with their layers."""

from __future__ import annotations

import pytest

from tests.browser import chromium, live_server, visit


@pytest.fixture(scope="module")
def browser():  # tests using it are marked browser by conftest
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def base(district_engine):
    from api.http.app import create_app

    with live_server(create_app({"ENGINE": district_engine})) as url:
        yield url


def test_grid_map_draws_offline_with_every_grid(browser, base, demo_layers):
    page, seen = visit(browser, base, "/maps/grids", "grids.png")
    assert seen.outside == [] and seen.errors == []
    assert any("/static/vendor/leaflet@" in r for r in seen.requests)
    shapes = page.locator("path.leaflet-interactive").count()
    assert shapes >= len(demo_layers["grids"])
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("网格 Grids" in t for t in labels) and any("社区" in t for t in labels)
    assert "数据来源 Source" in page.content()
    page.close()


def test_public_board_shows_chiefs_in_their_armband_colours(browser, base, demo_layers):
    page, seen = visit(browser, base, "/maps/board", "board.png")
    assert seen.outside == [] and seen.errors == []
    assert not any("bootstrap" in r or "fontawesome" in r for r in seen.requests)  # lean pages
    html = page.content()
    assert "街长公示栏 Street-chief public board" in html
    strokes = page.eval_on_selector_all(
        "path.leaflet-interactive", "els => els.map(e => e.getAttribute('stroke'))"
    )
    assert strokes.count("#2e7d32") + strokes.count("#1565c0") >= len(demo_layers["road_segments"])
    assert strokes.count("#c62828") == len(demo_layers["grids"])  # one red marker per grid worker
    page.locator("path.leaflet-interactive[stroke='#2e7d32']").first.click(force=True)
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "巡查范围 patrol scope" in popup and "****" in popup
    page.close()


def test_exported_map_file_opens_offline_from_disk(browser, cli, district_url, tmp_path):
    out = tmp_path / "board.html"
    r = cli(district_url, "map", "board", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "board_files" / "leaflet@1.9.3" / "dist" / "leaflet.js").exists()
    page, seen = visit(browser, out.parent.as_uri(), "/" + out.name, "board-file.png")
    assert seen.errors == [] and seen.outside == []
    assert page.locator("path.leaflet-interactive").count() > 42
    page.close()


def test_bad_map_requests_get_problem_details(client):
    r = client.get("/maps/heat-of-nothing")
    assert r.status_code == 404 and r.content_type == "application/problem+json"
    r = client.get("/maps/grids?base=google")
    assert r.status_code == 400 and "base map 'google' is not one of" in r.json["detail"]
    r = client.get("/maps/grids?base=tianditu")
    assert r.status_code == 400 and "WANGGE_TIANDITU_KEY" in r.json["detail"]


def test_on_a_gcj02_base_map_overlays_are_shifted_to_gcj02(client, demo_layers):
    import json
    import re

    from geo.coords import wgs84_to_gcj02

    page = client.get("/maps/board?base=amap").get_data(as_text=True)
    assert "autonavi.com" in page  # the Amap tiles are the one outside address, by choice
    seg = demo_layers["road_segments"].iloc[0]
    lon, lat = seg.geometry.coords[0]
    glon, glat = wgs84_to_gcj02(lon, lat)
    lines = [json.loads(m) for m in re.findall(r"L\.polyline\(\s*(\[\[.*?\]\])", page, flags=re.S)]
    firsts = [tuple(line[0]) for line in lines]
    assert any(abs(a - glat) < 1e-9 and abs(b - glon) < 1e-9 for a, b in firsts)
    assert not any(abs(a - lat) < 1e-7 and abs(b - lon) < 1e-7 for a, b in firsts)
